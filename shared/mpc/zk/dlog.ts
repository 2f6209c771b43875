// Schnorr proof of knowledge of a discrete logarithm over secp256k1, made non-interactive with
// Fiat–Shamir (the Π_DL / F_zk^{R_DL} functionality of Lindell 2017, ePrint 2017/552 Protocols 3.2 and
// 3.3; the same Schnorr PoK as CGGMP21 ePrint 2021/060 Πsch). Statement X = x·G; the prover sends
// A = a·G and z = a + e·x mod q with e = H(session, prover, label, X, A). The challenge binds the
// session id and the prover's id, so a proof cannot be replayed in another session or by the
// other party (CRYPTO.md attack 4).
import * as s from '../../schema.js';
import { proofTranscript, type ProofContext } from './context.js';
import { CURVE_ORDER, POINT_BYTES, SCALAR_BYTES, type Point, modQ, mulBase, pointToBytes, publicCombination, randomScalar, scalarToBytes } from '../ecdsa/curve.js';
import { bytesToBigint } from '../transcript.js';

export const DlogProofSchema = s.struct({
  A: s.bytes({ len: POINT_BYTES }),
  z: s.bytes({ len: SCALAR_BYTES }),
});
export type DlogProof = s.Infer<typeof DlogProofSchema>;

function challenge(X: Point, A: Uint8Array, ctx: ProofContext): bigint {
  const t = proofTranscript('nitro-cosigner/zk/dlog-secp256k1/v1', ctx)
    .appendBytes('X', pointToBytes(X))
    .appendBytes('A', A);
  return t.challengeScalars('e', CURVE_ORDER, 1)[0]!;
}

/**
 * Prove knowledge of x ∈ [1, q) with X = x·G. The commitment a·G is noble's constant-time
 * multiplication on the precomputed G table (curve.ts mulBase); a comes from node:crypto like every
 * other secret scalar.
 */
export function proveDlog(x: bigint, X: Point, ctx: ProofContext): DlogProof {
  let a = randomScalar();
  const A = pointToBytes(mulBase(a));
  const e = challenge(X, A, ctx);
  const z = modQ(a + e * x);
  a = 0n;
  return { A, z: scalarToBytes(z) };
}

/**
 * Verify z·G = A + e·X. Returns false (never throws) for any malformed or wrong proof; the caller
 * turns false into MPC_PROOF_FAILED. X must already be a validated non-identity point.
 *
 * A is not decoded: the verifier recomputes A' = z·G − e·X and compares its compressed encoding
 * with the 33 bytes received. That is the same check as decoding A (on the curve, not the identity)
 * and comparing points — A' is a curve point and has exactly one compressed encoding, the identity
 * has none — and it saves a square root per proof.
 */
export function verifyDlog(X: Point, proof: DlogProof, ctx: ProofContext): boolean {
  if (!(proof.A instanceof Uint8Array) || proof.A.length !== POINT_BYTES) return false;
  if (!(proof.z instanceof Uint8Array) || proof.z.length !== SCALAR_BYTES) return false;
  const z = bytesToBigint(proof.z);
  if (z >= CURVE_ORDER) return false;
  const e = challenge(X, proof.A, ctx);
  // z·G − e·X with public scalars only (variable time is fine here).
  const expected = publicCombination(z, X, -e);
  if (expected.is0()) return false;
  const encoded = pointToBytes(expected);
  let diff = 0;
  for (let i = 0; i < POINT_BYTES; i++) diff |= encoded[i]! ^ proof.A[i]!;
  return diff === 0;
}
