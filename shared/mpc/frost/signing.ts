// The FROST signing computations of RFC 9591 on already parsed and validated points, for both
// ciphersuites (suite.ts supplies H1..H5, the challenge and the encodings). The state machine
// (sign-party.ts) does the wire work; this file only does arithmetic and hashing.
//
// frost-rs FROST(secp256k1, SHA-256)-TR (what @noble/curves' schnorr_FROST implements) differs from
// RFC 9591 §6.5 only in: the challenge (BIP340 tagged hash), the group key taken with even Y (the
// key, every verifying share and every signing share negated when it is odd — signing-key.ts), and
// the group commitment R taken with even Y (every signer negates its nonces, and a verifier negates
// every commitment share, when R is odd). Those adjustments are applied here where marked "TR".
import { concatBytes, wipe } from '../../bytes.js';
import { CosignerError } from '../../errors.js';
import type { FrostSuite, GroupPoint } from './suite.js';

/** One signer's round-1 commitment: the validated points and their (canonical) encodings. */
export interface SignerCommitment {
  party: number;
  hiding: GroupPoint;
  binding: GroupPoint;
  hidingBytes: Uint8Array;
  bindingBytes: Uint8Array;
}

function mod(a: bigint, n: bigint): bigint {
  const r = a % n;
  return r < 0n ? r + n : r;
}

/**
 * RFC 9591 §4.1 nonce_generate(secret): H3(random_bytes(32) ‖ SerializeScalar(secret)).
 * `secretBytes` is the serialized signing share; the 32 random bytes are erased after hashing.
 */
export function nonceGenerate(suite: FrostSuite, secretBytes: Uint8Array, rng: (n: number) => Uint8Array): bigint {
  const random = rng(32);
  if (!(random instanceof Uint8Array) || random.length !== 32) throw new CosignerError('INTERNAL', 'nonce randomness must be 32 bytes');
  const input = concatBytes(random, secretBytes);
  try {
    return suite.h3(input);
  } finally {
    wipe(random);
    wipe(input);
  }
}

/** RFC 9591 §4.2 derive_interpolating_value(L, x_i): λ_i = Π_{j≠i} x_j / (x_j − x_i). */
export function deriveInterpolatingValue(suite: FrostSuite, participants: readonly number[], self: number): bigint {
  const n = suite.order;
  let num = 1n;
  let den = 1n;
  let found = false;
  for (const p of participants) {
    if (p === self) {
      if (found) throw new CosignerError('INTERNAL', 'duplicate participant in the signing set');
      found = true;
      continue;
    }
    num = (num * BigInt(p)) % n;
    den = mod(den * (BigInt(p) - BigInt(self)), n);
  }
  if (!found) throw new CosignerError('INTERNAL', `party ${self} is not in the signing set`);
  return (num * suite.invertScalar(den)) % n;
}

/**
 * RFC 9591 §4.3 encode_group_commitment_list + §4.4 compute_binding_factors: one ρ_i per signer,
 * in the order of `commitments` (which must be sorted by identifier).
 * `groupKeyBytes` is SerializeElement of the key the suite signs under (TR: the even-Y key).
 */
export function computeBindingFactors(suite: FrostSuite, groupKeyBytes: Uint8Array, commitments: readonly SignerCommitment[], message: Uint8Array): bigint[] {
  const encoded: Uint8Array[] = [];
  for (const c of commitments) encoded.push(suite.encodeScalar(BigInt(c.party)), c.hidingBytes, c.bindingBytes);
  const rhoPrefix = concatBytes(groupKeyBytes, suite.h4(message), suite.h5(concatBytes(...encoded)));
  return commitments.map((c) => suite.h1(concatBytes(rhoPrefix, suite.encodeScalar(BigInt(c.party)))));
}

/**
 * One signer's part of RFC 9591 §4.5 compute_group_commitment: D_i + ρ_i·E_i (public values, so
 * variable-time). The group commitment is the sum of these over the signing set.
 */
export function commitmentShare(c: SignerCommitment, bindingFactor: bigint): GroupPoint {
  return c.hiding.add(c.binding.multiplyUnsafe(bindingFactor));
}

/**
 * Our own part D_i + ρ_i·E_i computed from the secret nonces as (d_i + ρ_i·e_i)·G: one
 * constant-time fixed-base multiplication instead of a variable-base one.
 */
export function ownCommitmentShare(suite: FrostSuite, hidingNonce: bigint, bindingNonce: bigint, bindingFactor: bigint): GroupPoint {
  return suite.base.multiply(mod(hidingNonce + bindingNonce * bindingFactor, suite.order));
}

/** §4.5: R = Σ commitment shares; the identity cannot be serialized (§3.1) and is refused. */
export function groupCommitment(shares: readonly GroupPoint[]): GroupPoint {
  let R = shares[0]!;
  for (let i = 1; i < shares.length; i++) R = R.add(shares[i]!);
  if (R.is0()) throw new CosignerError('MPC_SIGNATURE_INVALID', 'group commitment is the identity element');
  return R;
}

/**
 * RFC 9591 §5.2 sign: z_i = d_i + e_i·ρ_i + λ_i·s_i·c.
 * TR: when R has odd Y the nonces are negated (the signing share is already adjusted to the
 * even-Y key by the caller).
 */
export function signShare(
  suite: FrostSuite,
  o: { hidingNonce: bigint; bindingNonce: bigint; bindingFactor: bigint; lambda: bigint; signingShare: bigint; challenge: bigint; R: GroupPoint },
): bigint {
  const n = suite.order;
  let k = mod(o.hidingNonce + o.bindingNonce * o.bindingFactor, n);
  if (suite.taproot && suite.hasOddY(o.R)) k = mod(-k, n);
  return mod(k + o.lambda * o.signingShare * o.challenge, n);
}

/**
 * RFC 9591 §5.4 verify_signature_share: z_i·G == R_i + (c·λ_i)·Y_i, with R_i = D_i + ρ_i·E_i and
 * Y_i the signer's verifying share (TR: adjusted to the even-Y key; R_i negated when R has odd Y).
 * All inputs are public: variable-time multiplications.
 */
export function verifySignatureShare(suite: FrostSuite, o: { z: bigint; commitmentShare: GroupPoint; verifyingShare: GroupPoint; lambda: bigint; challenge: bigint; R: GroupPoint }): boolean {
  const Ri = suite.taproot && suite.hasOddY(o.R) ? o.commitmentShare.negate() : o.commitmentShare;
  const lhs = suite.base.multiplyUnsafe(o.z);
  const rhs = Ri.add(o.verifyingShare.multiplyUnsafe((o.challenge * o.lambda) % suite.order));
  return lhs.equals(rhs);
}

/** RFC 9591 §5.3 aggregate: z = Σ z_i, signature = (R, z) in the suite's encoding. */
export function aggregate(suite: FrostSuite, R: GroupPoint, shares: readonly bigint[]): Uint8Array {
  let z = 0n;
  for (const zi of shares) z = (z + zi) % suite.order;
  return suite.encodeSignature(R, z);
}
