// Πlog* — "Knowledge of Exponent vs Paillier Encryption", CGGMP21 (ePrint 2021/060) Appendix C.2,
// Fig. 25, made non-interactive with Fiat–Shamir.
//
// Statement: Paillier modulus N0, ciphertext C, point X; the prover knows x ∈ ±2^ℓ and ρ with
// C = (1+N0)^x·ρ^N0 mod N0² and X = x·G. The verifier's ring-Pedersen parameters (N̂, s, t) carry
// the range part. In two-party ECDSA key generation this replaces Lindell's interactive PDL + range
// proof (ePrint 2017/552 §6, the PDL proof with its range proof): P1 proves c_key encrypts the discrete log of Q1.
//
// Parameters (CGGMP21 §C "parameters", as in every implementation of it): ℓ = 256 (|q|), ε = 512
// (2ℓ). Completeness and zero knowledge: α ∈ ±2^{ℓ+ε} masks e·x (|e·x| < 2^{2ℓ}) up to 2^{-ℓ}.
// Soundness slack: an accepting proof only guarantees the extracted x lies in ±2^{ℓ+ε+1}, not in
// [0, q): c_key may hold any integer of up to 769 bits congruent to x1 mod q. The signing mask is
// sized for that (see ecdsa/bounds.ts).
//
// Fiat–Shamir: the challenge e ∈ [0, q) hashes the session id, the prover's id, a label, the whole
// statement (N0, C, X, N̂, s, t) and the first message (S, A, Y, D) — CRYPTO.md attack 4. (Fig. 25
// draws e from ±q; a 256-bit challenge set of size q gives the same 1/q soundness error.)
import * as s from '../../schema.js';
import { CosignerError } from '../../errors.js';
import { proofTranscript, type ProofContext } from './context.js';
import type { RingPedersenParams } from './ring-pedersen.js';
import type { PaillierPublicKey } from '../paillier/paillier.js';
import { bitLength, gcd, mod, modPow, randomCoprime, randomSigned } from '../bigint/modarith.js';
import { modPowSecret, modPowSecretSigned } from '../bigint/secret-modpow.js';
import { bigsigned, signedToWire, uintToWire } from '../bigint/wire.js';
import { CURVE_ORDER, G, POINT_BYTES, type Point, modQ, pointFromBytes, pointToBytes, publicCombination } from '../ecdsa/curve.js';

/** ℓ: the claimed range of x is ±2^ℓ. */
export const LOG_STAR_ELL = 256;
/** ε: the slack parameter; the guaranteed range is ±2^{ℓ+ε+1}. */
export const LOG_STAR_EPSILON = 512;

/** Wire sizes: a 4096-bit Paillier N0² and a 4096-bit N̂ at most (moduli are shape-checked elsewhere). */
const MAX_MOD_BYTES = 512;
const MAX_MOD2_BYTES = 1024;

export const LogStarProofSchema = s.struct({
  S: s.biguint({ maxBytes: MAX_MOD_BYTES }),
  A: s.biguint({ maxBytes: MAX_MOD2_BYTES }),
  Y: s.bytes({ len: POINT_BYTES }),
  D: s.biguint({ maxBytes: MAX_MOD_BYTES }),
  z1: bigsigned({ maxBytes: Math.ceil((LOG_STAR_ELL + LOG_STAR_EPSILON + 2) / 8) }),
  z2: s.biguint({ maxBytes: MAX_MOD_BYTES }),
  z3: bigsigned({ maxBytes: MAX_MOD_BYTES + Math.ceil((LOG_STAR_ELL + LOG_STAR_EPSILON + 2) / 8) }),
});
export type LogStarProof = s.Infer<typeof LogStarProofSchema>;

/** Wire form of a proof (bigints as minimal / zigzag byte strings), ready for CBOR. */
export function encodeLogStarProof(p: LogStarProof): Record<string, Uint8Array> {
  return {
    S: uintToWire(p.S),
    A: uintToWire(p.A),
    Y: p.Y,
    D: uintToWire(p.D),
    z1: signedToWire(p.z1),
    z2: uintToWire(p.z2),
    z3: signedToWire(p.z3),
  };
}

export interface LogStarStatement {
  /** The prover's Paillier public key (N0). */
  paillier: PaillierPublicKey;
  /** C = Enc_{N0}(x; ρ). */
  C: bigint;
  /** X = x·G. */
  X: Point;
}

function challenge(st: LogStarStatement, aux: RingPedersenParams, S: bigint, A: bigint, Y: Uint8Array, D: bigint, ctx: ProofContext): bigint {
  const t = proofTranscript('nitro-cosigner/zk/pi-log-star/v1', ctx)
    .appendBigint('ell', BigInt(LOG_STAR_ELL))
    .appendBigint('epsilon', BigInt(LOG_STAR_EPSILON))
    .appendBigint('N0', st.paillier.n)
    .appendBigint('C', st.C)
    .appendBytes('g', pointToBytes(G))
    .appendBytes('X', pointToBytes(st.X))
    .appendBigint('Nhat', aux.N)
    .appendBigint('s', aux.s)
    .appendBigint('t', aux.t)
    .appendBigint('S', S)
    .appendBigint('A', A)
    .appendBytes('Y', Y)
    .appendBigint('D', D);
  return t.challengeScalars('e', CURVE_ORDER, 1)[0]!;
}

/** s^a · t^b mod N̂ for signed exponents (s, t are units of Z_N̂, checked by the verifier). */
function pedersen(aux: RingPedersenParams, a: bigint, b: bigint): bigint {
  return mod(modPow(aux.s, a, aux.N) * modPow(aux.t, b, aux.N), aux.N);
}

/**
 * The prover's s^a · t^b mod N̂ for secret signed a, b with |a| ≤ 2^aBits, |b| ≤ 2^bBits: the
 * constant-time route with fixed-length exponents (secret-modpow.ts).
 */
function pedersenSecret(aux: RingPedersenParams, a: bigint, aBits: number, b: bigint, bBits: number): bigint {
  const what = 'prove Πlog*';
  return mod(modPowSecretSigned(aux.s, a, aux.N, { what, bits: aBits + 1 }) * modPowSecretSigned(aux.t, b, aux.N, { what, bits: bBits + 1 }), aux.N);
}

/**
 * Prove Fig. 25 for secret x ∈ [0, 2^ℓ) and the encryption randomness ρ of C. The verifier's
 * ring-Pedersen parameters must have been checked (Πprm) by the caller.
 */
export function proveLogStar(st: LogStarStatement, secret: { x: bigint; rho: bigint }, aux: RingPedersenParams, ctx: ProofContext): LogStarProof {
  const { x, rho } = secret;
  if (x < 0n || bitLength(x) > LOG_STAR_ELL) throw new CosignerError('INTERNAL', 'Πlog*: witness out of range');
  const N0 = st.paillier.n;
  const nHatBits = bitLength(aux.N);
  // Round 1 (Fig. 25): α ← ±2^{ℓ+ε}, μ ← ±2^ℓ·N̂, r ← Z*_N0, γ ← ±2^{ℓ+ε}·N̂.
  let alpha = randomSigned(LOG_STAR_ELL + LOG_STAR_EPSILON);
  let mu = randomSigned(LOG_STAR_ELL + nHatBits);
  let r = randomCoprime(N0);
  let gamma = randomSigned(LOG_STAR_ELL + LOG_STAR_EPSILON + nHatBits);
  const S = pedersenSecret(aux, x, LOG_STAR_ELL, mu, LOG_STAR_ELL + nHatBits);
  const A = st.paillier.encryptWith(mod(alpha, N0), r);
  const alphaQ = modQ(alpha);
  // α ≡ 0 (mod q) has probability 2^-256; the identity has no encoding, so resample rather than fail.
  if (alphaQ === 0n) return proveLogStar(st, secret, aux, ctx);
  const Y = pointToBytes(G.multiply(alphaQ));
  const D = pedersenSecret(aux, alpha, LOG_STAR_ELL + LOG_STAR_EPSILON, gamma, LOG_STAR_ELL + LOG_STAR_EPSILON + nHatBits);
  const e = challenge(st, aux, S, A, Y, D, ctx);
  // Round 3: z1 = α + e·x, z2 = r·ρ^e mod N0, z3 = γ + e·μ (over the integers).
  const proof: LogStarProof = {
    S,
    A,
    Y,
    D,
    z1: alpha + e * x,
    // ρ (the randomness of C) is secret: constant-time route even though e is public.
    z2: mod(r * modPowSecret(rho, e, N0, { what: 'prove Πlog*' }), N0),
    z3: gamma + e * mu,
  };
  alpha = mu = r = gamma = 0n;
  return proof;
}

function isUnit(v: bigint, n: bigint): boolean {
  return v > 0n && v < n && gcd(v, n) === 1n;
}

/**
 * Verify Fig. 25: z1 ∈ ±2^{ℓ+ε}; (1+N0)^{z1}·z2^{N0} = A·C^e mod N0²; z1·G = Y + e·X;
 * s^{z1}·t^{z3} = D·S^e mod N̂. Every group element is checked to be a unit first. Returns false for
 * any malformed or wrong proof (the caller raises MPC_PROOF_FAILED).
 */
export function verifyLogStar(st: LogStarStatement, aux: RingPedersenParams, proof: LogStarProof, ctx: ProofContext): boolean {
  const N0 = st.paillier.n;
  const N0sq = st.paillier.nSquared;
  const { S, A, D, z1, z2, z3 } = proof;
  const bound = 1n << BigInt(LOG_STAR_ELL + LOG_STAR_EPSILON);
  if (z1 < -bound || z1 > bound) return false;
  const z3Bound = 1n << BigInt(LOG_STAR_ELL + LOG_STAR_EPSILON + bitLength(aux.N) + 1);
  if (z3 < -z3Bound || z3 > z3Bound) return false;
  if (!isUnit(z2, N0) || !isUnit(A, N0sq) || !isUnit(st.C, N0sq)) return false;
  if (!isUnit(S, aux.N) || !isUnit(D, aux.N) || !isUnit(aux.s, aux.N) || !isUnit(aux.t, aux.N)) return false;
  let Y: Point;
  try {
    Y = pointFromBytes(proof.Y, 'Y');
  } catch {
    return false;
  }
  const e = challenge(st, aux, S, A, proof.Y, D, ctx);
  // Paillier equation.
  const lhsP = st.paillier.encryptPublic(mod(z1, N0), z2);
  const rhsP = mod(A * modPow(st.C, e, N0sq), N0sq);
  if (lhsP !== rhsP) return false;
  // Group equation (public scalars): z1·G − e·X = Y.
  if (!publicCombination(z1, st.X, -e).equals(Y)) return false;
  // Ring-Pedersen equation.
  return pedersen(aux, z1, z3) === mod(D * modPow(S, e, aux.N), aux.N);
}
