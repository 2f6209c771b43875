// What signing needs from a key share that does not change from one signature to the next,
// computed once per FrostKeyShare object and cached beside it: the group key and every verifying
// share as validated points (already parsed by FrostKeyShare.fromParts), in the form the
// ciphersuite signs under, the encoded group key for the binding factors, the independent
// verifier of whole signatures, and the Lagrange coefficients of each signing set.
//
// The peers' verifying shares get a noble wNAF table (TABLE_WINDOW: a few ms to build, then the
// §5.4 multiplication by c·λ_j costs ~0.2–0.6 ms instead of ~0.8–1 ms). Shares are checked only
// when an aggregate fails (sign-party.ts), so the table is built on the second such check with
// the same key object; the honest path never pays for it.
//
// TR (frost-rs secp256k1-TR / BIP340): keys are x-only, so a group key with odd Y signs as its
// even-Y twin: the group key and every verifying share are negated here, and the signing share is
// negated at signing time (negateSecret).
import { CosignerError } from '../../errors.js';
import type { FrostKeyShare } from './key-share.js';
import { deriveInterpolatingValue } from './signing.js';
import type { FrostSuite, GroupPoint, SignatureVerifier } from './suite.js';

export interface SigningKey {
  readonly suite: FrostSuite;
  /** The group key as signed under (TR: even Y). */
  readonly groupKey: GroupPoint;
  /** SerializeElement(groupKey), the prefix of every binding-factor input (RFC 9591 §4.4). */
  readonly groupKeyBytes: Uint8Array;
  /** TR: the stored key has odd Y, so the signing share must be negated before use. */
  readonly negateSecret: boolean;
  /** Verifying share of a participant, in the same (adjusted) form as groupKey (one call per §5.4 check). */
  verifyingShare(party: number): GroupPoint;
  /** λ_party for this signing set (sorted party ids), cached per set. */
  lambda(signers: readonly number[], party: number): bigint;
  /** Independent verification of a whole signature under this key. */
  readonly verify: SignatureVerifier;
}

const MAX_CACHED_LAMBDAS = 64;
/** Measured on 2 cores: Ed25519 W=4 ~3–5 ms to build, ~0.2 ms per use; secp256k1 W=3 ~5 ms, ~0.6 ms (GLV without a table ~0.9 ms). */
const TABLE_WINDOW = { ed25519: 4, bip340: 3 } as const;
const cache = new WeakMap<FrostKeyShare, SigningKey>();

export function signingKeyOf(share: FrostKeyShare): SigningKey {
  let key = cache.get(share);
  if (!key) {
    key = buildSigningKey(share);
    cache.set(share, key);
  }
  return key;
}

function buildSigningKey(share: FrostKeyShare): SigningKey {
  const suite = share.suite;
  const { commitments, verifyingShares } = share.points;
  const negate = suite.taproot && suite.hasOddY(commitments[0]!);
  const adjust = (p: GroupPoint) => (negate ? p.negate() : p);
  const groupKey = adjust(commitments[0]!);
  const shares = new Map<number, GroupPoint>(share.parties.map((p, i) => [p, adjust(verifyingShares[i]!)]));
  const lambdas = new Map<string, bigint>();
  const uses = new Map<number, number>();
  return Object.freeze({
    suite,
    groupKey,
    groupKeyBytes: groupKey.toBytes(true),
    negateSecret: negate,
    verifyingShare(party: number): GroupPoint {
      const Y = shares.get(party);
      if (!Y) throw new CosignerError('MPC_INVALID_MESSAGE', `party ${party} holds no share of this key`);
      const n = uses.get(party) ?? 0;
      if (n === 1) Y.precompute(TABLE_WINDOW[suite.scheme], false); // second use: the table pays off from here on
      if (n < 2) uses.set(party, n + 1);
      return Y;
    },
    lambda(signers: readonly number[], party: number): bigint {
      const k = `${signers.join(',')}:${party}`;
      let l = lambdas.get(k);
      if (l === undefined) {
        l = deriveInterpolatingValue(suite, signers, party);
        if (lambdas.size >= MAX_CACHED_LAMBDAS) lambdas.clear(); // a key is signed by few distinct sets
        lambdas.set(k, l);
      }
      return l;
    },
    verify: suite.verifierFor(share.groupPublicKey),
  });
}
