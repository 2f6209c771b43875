// Schnorr proof of knowledge of a discrete logarithm over secp256k1, made non-interactive with
// Fiat–Shamir (the Π_DL / F_zk^{R_DL} functionality of Lindell 2017, ePrint 2017/552 Protocols 3.2 and
// 3.3; the same Schnorr PoK as CGGMP21 ePrint 2021/060 Πsch). Statement X = x·G; the prover sends
// A = a·G and z = a + e·x mod q with e = H(session, prover, label, X, A). The challenge binds the
// session id and the prover's id, so a proof cannot be replayed in another session or by the
// other party (CRYPTO.md attack 4).
import { createECDH } from 'node:crypto';
import * as s from '../../schema.js';
import { proofTranscript, type ProofContext } from './context.js';
import { CURVE_ORDER, POINT_BYTES, SCALAR_BYTES, type Point, modQ, pointFromBytes, pointToBytes, publicCombination, randomScalar, scalarToBytes } from '../ecdsa/curve.js';
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
 * Prove knowledge of x ∈ [1, q) with X = x·G. The commitment a·G is computed by OpenSSL (constant
 * time, and directly in compressed form); a comes from node:crypto like every other secret scalar.
 */
export function proveDlog(x: bigint, X: Point, ctx: ProofContext): DlogProof {
  let a = randomScalar();
  const ecdh = createECDH('secp256k1');
  const ab = scalarToBytes(a);
  ecdh.setPrivateKey(ab);
  ab.fill(0);
  const A = new Uint8Array(ecdh.getPublicKey(null, 'compressed'));
  const e = challenge(X, A, ctx);
  const z = modQ(a + e * x);
  a = 0n;
  return { A, z: scalarToBytes(z) };
}

/**
 * Verify z·G = A + e·X. Returns false (never throws) for any malformed or wrong proof; the caller
 * turns false into MPC_PROOF_FAILED. X must already be a validated non-identity point.
 */
export function verifyDlog(X: Point, proof: DlogProof, ctx: ProofContext): boolean {
  let A: Point;
  try {
    A = pointFromBytes(proof.A, 'A');
  } catch {
    return false;
  }
  if (!(proof.z instanceof Uint8Array) || proof.z.length !== SCALAR_BYTES) return false;
  const z = bytesToBigint(proof.z);
  if (z >= CURVE_ORDER) return false;
  const e = challenge(X, proof.A, ctx);
  // z·G − e·X = A, with public scalars only (variable time is fine here).
  return publicCombination(z, X, -e).equals(A);
}
