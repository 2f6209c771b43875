// FROST 2-of-2 (one DKG, then whole signatures: both parties' rounds, share verification,
// aggregation and the final verification) through the project's Party state machines.
// The key share objects are reused across runs, as a long-lived key is: the warm-up runs build
// the per-key tables (signing-key.ts), so the medians are steady-state signatures. A key object's
// first signature skips the tables (~+1–2 ms) and its second builds them (one-off, ~5–15 ms).
import { randomBytes } from 'node:crypto';
import { FrostDkgParty, FrostSignParty, taprootFrostKeyShare, type FrostKeyShare, type FrostScheme } from '../shared/mpc/frost/index.js';
import { drive } from './drive.js';
import { measure, type Measurement } from './harness.js';

function dkg(scheme: FrostScheme): FrostKeyShare[] {
  const sessionId = randomBytes(32);
  const parties = [1, 2].map((self) => new FrostDkgParty({ scheme, sessionId, self, parties: [1, 2], threshold: 2 }));
  drive(parties);
  return parties.map((p) => p.result());
}

function sign(shares: FrostKeyShare[], message: Uint8Array): Map<number, number> {
  const sessionId = randomBytes(32);
  return drive(shares.map((keyShare) => new FrostSignParty({ keyShare, sessionId, signers: [1, 2], message })));
}

export function measureFrost(scheme: FrostScheme): { dkg: Measurement; sign: Measurement } {
  const dkgM = measure(`FROST ${scheme} DKG 2-of-2`, () => void dkg(scheme), { warmup: 2, iterations: 15, budgetMs: 6000 });
  let shares = dkg(scheme);
  // A Taproot key-path spend signs with the tweaked share (the common bip340 case).
  if (scheme === 'bip340') shares = shares.map((s) => taprootFrostKeyShare(s));
  const message = randomBytes(32);
  const signM = measure(`FROST ${scheme} sign 2-of-2`, () => sign(shares, message), { warmup: 3, iterations: 40, budgetMs: 8000 });
  return { dkg: dkgM, sign: signM };
}
