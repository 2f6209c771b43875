// FROST 2-of-2 (one DKG, then whole signatures: both parties' rounds, share verification,
// aggregation and the final verification) through the project's Party state machines.
// The key share objects are reused across runs, as a long-lived key is: the warm-up runs build
// the per-key tables (signing-key.ts), so the medians are steady-state signatures. A key object's
// first signature skips the tables (~+1–2 ms) and its second builds them (one-off, ~5–15 ms).
import { randomBytes } from 'node:crypto';
import { FrostDkgParty, FrostSignParty, deriveFrostKeyShare, taprootFrostKeyShare, type FrostKeyShare, type FrostScheme } from '../shared/mpc/frost/index.js';
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

/** The BIP44-shaped path every "with a path" row signs under (issue 12). */
export const BENCH_PATH = [44, 60, 0, 0, 0];

export function measureFrost(scheme: FrostScheme): { dkg: Measurement; sign: Measurement; signPath: Measurement } {
  const dkgM = measure(`FROST ${scheme} DKG 2-of-2`, () => void dkg(scheme), { warmup: 2, iterations: 10, budgetMs: 4000 });
  const master = dkg(scheme);
  // A Taproot key-path spend signs with the tweaked share (the common bip340 case).
  const forSpend = (s: FrostKeyShare) => (scheme === 'bip340' ? taprootFrostKeyShare(s) : s);
  const message = randomBytes(32);
  const signM = measure(`FROST ${scheme} sign 2-of-2`, () => sign(master.map(forSpend), message), { warmup: 3, iterations: 40, budgetMs: 5000 });
  // With a path: each party derives the child share from the path on every request (cached per
  // key and path after the first, derive.ts), then signs; the derivation is inside the timing.
  const signPath = measure(
    `FROST ${scheme} sign 2-of-2, path ${BENCH_PATH.join('/')}`,
    () => sign(master.map((s) => forSpend(deriveFrostKeyShare(s, BENCH_PATH).keyShare)), message),
    { warmup: 3, iterations: 40, budgetMs: 5000 },
  );
  return { dkg: dkgM, sign: signM, signPath };
}
