// Πfac — "no small factor" zero-knowledge proof (CGGMP21, ePrint 2021/060, Fig. 28), made
// non-interactive with Fiat–Shamir, over the VERIFIER's ring-Pedersen parameters (N̂, s, t).
// Proves N0 = p·q with p, q > 2^ℓ (more precisely |p|, |q| ≤ 2^(ℓ+ε)·√N0): the second half of
// the BitForge defence (CRYPTO.md #1) next to Πmod.
//
// Parameters (CGGMP21 §C / parameter table, secp256k1): ℓ = 256, ε = 2ℓ = 512, e ∈ ±q with q
// the secp256k1 group order; N0 must have at least 8ℓ = 2048 bits.
//
//   P: α, β ← ±2^(ℓ+ε)·√N0;  μ, ν ← ±2^ℓ·N̂;  σ ← ±2^ℓ·N0·N̂;  r ← ±2^(ℓ+ε)·N0·N̂;  x, y ← ±2^(ℓ+ε)·N̂
//      P = s^p t^μ, Q = s^q t^ν, A = s^α t^x, B = s^β t^y, T = Q^α t^r   (mod N̂); sends them and σ
//   e ← ±q from the transcript over (ctx, ℓ, ε, N0, N̂, s, t, P, Q, A, B, T, σ)
//   P: σ̂ = σ − ν·p;  z1 = α + e·p, z2 = β + e·q, w1 = x + e·μ, w2 = y + e·ν, v = r + e·σ̂
//   V: R = s^N0 t^σ;  s^z1 t^w1 ≡ A·P^e,  s^z2 t^w2 ≡ B·Q^e,  Q^z1 t^v ≡ T·R^e  (mod N̂);
//      z1, z2 ∈ ±2^(ℓ+ε)·√N0.
// √N0 is ⌊√N0⌋ on both sides. Beyond Fig. 28 the verifier also bounds σ, w1, w2, v by the largest
// values an honest prover can produce (|σ| ≤ 2^ℓ·N0·N̂, |w| ≤ 2^(ℓ+ε+1)·N̂, |v| ≤ 2^(ℓ+ε+1)·N0·N̂),
// which caps its work and never rejects an honest proof (ε ≥ ℓ + 1).
import * as s from '../../schema.js';
import { CosignerError } from '../../errors.js';
import { bitLength, gcd, isqrt, mod, modPow, randomSignedRange } from '../bigint/modarith.js';
import { bigsigned, bytesForBits, signedBytesForBits, signedToWire, uintToWire, zigzagEncode } from '../bigint/wire.js';
import type { PaillierSecretKey } from '../paillier/paillier.js';
import { PAILLIER_MAX_BITS } from '../paillier/modulus-shape.js';
import { proofTranscript, type ProofContext } from './context.js';
import { modPowSecretSigned } from '../bigint/secret-modpow.js';
import { checkRingPedersenParams, RING_PEDERSEN_DEFAULT_BITS, RING_PEDERSEN_MAX_BITS, type RingPedersenParams } from './ring-pedersen.js';

export const FAC_ELL = 256;
export const FAC_EPSILON = 512;
/** N0 ≥ 2^(8ℓ) (CGGMP21 §C), so that the proven bound 2^(ℓ+ε)·√N0 forces both factors above 2^ℓ. */
export const FAC_MIN_MODULUS_BITS = 8 * FAC_ELL;
/** secp256k1 group order: the challenge range ±q of Fig. 28. */
const CHALLENGE_Q = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const DOMAIN = 'nitro-cosigner/zk/pi-fac/v1';

const L = BigInt(FAC_ELL);
const LE = BigInt(FAC_ELL + FAC_EPSILON);
const AUX_BYTES = bytesForBits(RING_PEDERSEN_MAX_BITS);

export const FacProofSchema = s.struct({
  P: s.biguint({ maxBytes: AUX_BYTES }),
  Q: s.biguint({ maxBytes: AUX_BYTES }),
  A: s.biguint({ maxBytes: AUX_BYTES }),
  B: s.biguint({ maxBytes: AUX_BYTES }),
  T: s.biguint({ maxBytes: AUX_BYTES }),
  sigma: bigsigned({ maxBytes: signedBytesForBits(FAC_ELL + PAILLIER_MAX_BITS + RING_PEDERSEN_MAX_BITS) }),
  z1: bigsigned({ maxBytes: signedBytesForBits(FAC_ELL + FAC_EPSILON + PAILLIER_MAX_BITS / 2) }),
  z2: bigsigned({ maxBytes: signedBytesForBits(FAC_ELL + FAC_EPSILON + PAILLIER_MAX_BITS / 2) }),
  w1: bigsigned({ maxBytes: signedBytesForBits(FAC_ELL + FAC_EPSILON + 1 + RING_PEDERSEN_MAX_BITS) }),
  w2: bigsigned({ maxBytes: signedBytesForBits(FAC_ELL + FAC_EPSILON + 1 + RING_PEDERSEN_MAX_BITS) }),
  v: bigsigned({ maxBytes: signedBytesForBits(FAC_ELL + FAC_EPSILON + 1 + PAILLIER_MAX_BITS + RING_PEDERSEN_MAX_BITS) }),
});
export type FacProof = s.Infer<typeof FacProofSchema>;

/** Plain data for CBOR; parse back with s.parse(FacProofSchema, value). */
export function encodeFacProof(p: FacProof): Record<keyof FacProof, Uint8Array> {
  return {
    P: uintToWire(p.P), Q: uintToWire(p.Q), A: uintToWire(p.A), B: uintToWire(p.B), T: uintToWire(p.T),
    sigma: signedToWire(p.sigma), z1: signedToWire(p.z1), z2: signedToWire(p.z2),
    w1: signedToWire(p.w1), w2: signedToWire(p.w2), v: signedToWire(p.v),
  };
}

/** s^a · t^b mod N̂ for signed exponents (s, t are units, checked by checkRingPedersenParams). */
function commit(aux: RingPedersenParams, a: bigint, b: bigint): bigint {
  return (modPow(aux.s, a, aux.N) * modPow(aux.t, b, aux.N)) % aux.N;
}

/**
 * The prover's s^a · t^b mod N̂ with secret signed a, b (|a| ≤ boundA, |b| ≤ boundB): constant-time
 * route with fixed-length exponents (secret-modpow.ts); s and t are the verifier's public units.
 */
function commitSecret(aux: RingPedersenParams, a: bigint, boundA: bigint, b: bigint, boundB: bigint): bigint {
  const what = 'prove Πfac';
  return (modPowSecretSigned(aux.s, a, aux.N, { what, bits: bitLength(boundA) }) * modPowSecretSigned(aux.t, b, aux.N, { what, bits: bitLength(boundB) })) % aux.N;
}

function challenge(n: bigint, aux: RingPedersenParams, c: Pick<FacProof, 'P' | 'Q' | 'A' | 'B' | 'T' | 'sigma'>, ctx: ProofContext): bigint {
  const e = proofTranscript(DOMAIN, ctx)
    .appendBigint('ell', L)
    .appendBigint('epsilon', BigInt(FAC_EPSILON))
    .appendBigint('N0', n)
    .appendBigint('Nhat', aux.N)
    .appendBigint('s', aux.s)
    .appendBigint('t', aux.t)
    .appendBigint('P', c.P)
    .appendBigint('Q', c.Q)
    .appendBigint('A', c.A)
    .appendBigint('B', c.B)
    .appendBigint('T', c.T)
    .appendBigint('sigma', zigzagEncode(c.sigma))
    .challengeScalars('e', 2n * CHALLENGE_Q + 1n, 1)[0]!;
  return e - CHALLENGE_Q;
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

/**
 * The Fig. 28 prover for N0 = p·q with the factors given explicitly. An honest prover uses
 * proveNoSmallFactors; this form exists so tests can show that a modulus with a small factor
 * cannot be proven even by a prover following the protocol.
 */
export function proveNoSmallFactorsWithFactors(n: bigint, p: bigint, q: bigint, aux: RingPedersenParams, ctx: ProofContext): FacProof {
  if (p * q !== n) throw new CosignerError('INTERNAL', 'Πfac: factors do not multiply to N0');
  checkRingPedersenParams(aux, 0);
  const N = aux.N;
  const bound = (1n << LE) * isqrt(n);
  for (let attempt = 1; ; attempt++) {
    const alpha = randomSignedRange(bound);
    const beta = randomSignedRange(bound);
    const mu = randomSignedRange((1n << L) * N);
    const nu = randomSignedRange((1n << L) * N);
    const sigma = randomSignedRange((1n << L) * n * N);
    const r = randomSignedRange((1n << LE) * n * N);
    const x = randomSignedRange((1n << LE) * N);
    const y = randomSignedRange((1n << LE) * N);
    const muBound = (1n << L) * N;
    const xBound = (1n << LE) * N;
    const P = commitSecret(aux, p, n, mu, muBound);
    const Q = commitSecret(aux, q, n, nu, muBound);
    const A = commitSecret(aux, alpha, bound, x, xBound);
    const B = commitSecret(aux, beta, bound, y, xBound);
    // Q is public (it is sent); α and r are secret.
    const T = (modPowSecretSigned(Q, alpha, N, { what: 'prove Πfac', bits: bitLength(bound) })
      * modPowSecretSigned(aux.t, r, N, { what: 'prove Πfac', bits: bitLength((1n << LE) * n * N) })) % N;
    const e = challenge(n, aux, { P, Q, A, B, T, sigma }, ctx);
    const sigmaHat = sigma - nu * p;
    const z1 = alpha + e * p;
    const z2 = beta + e * q;
    // For honest factors z1, z2 leave the verifier's window with probability ≈ 2^-ε: resample.
    // A modulus with a small factor always leaves it; after a few attempts the proof is returned
    // as is (the verifier will reject it) rather than looping forever.
    if ((abs(z1) > bound || abs(z2) > bound) && attempt < 4) continue;
    return { P, Q, A, B, T, sigma, z1, z2, w1: x + e * mu, w2: y + e * nu, v: r + e * sigmaHat };
  }
}

/** Πfac prover (Fig. 28) for the key's own modulus, against the verifier's ring-Pedersen params. */
export function proveNoSmallFactors(sk: PaillierSecretKey, verifierAux: RingPedersenParams, ctx: ProofContext): FacProof {
  return proveNoSmallFactorsWithFactors(sk.publicKey.n, sk.p, sk.q, verifierAux, ctx);
}

function fail(why: string): never {
  throw new CosignerError('MPC_PROOF_FAILED', `no-small-factor proof (Πfac) rejected: ${why}`);
}

function isUnit(x: bigint, n: bigint): boolean {
  return typeof x === 'bigint' && x > 0n && x < n && gcd(x, n) === 1n;
}

function within(x: bigint, bound: bigint): boolean {
  return typeof x === 'bigint' && abs(x) <= bound;
}

/**
 * Πfac verifier (Fig. 28), with the verifier's own ring-Pedersen parameters; throws
 * MPC_PROOF_FAILED. `minAuxBits` (default 2048) bounds |N̂| from below.
 */
export function verifyNoSmallFactors(
  n: bigint, verifierAux: RingPedersenParams, proof: FacProof, ctx: ProofContext, opts: { minAuxBits?: number } = {},
): void {
  try {
    checkRingPedersenParams(verifierAux, opts.minAuxBits ?? RING_PEDERSEN_DEFAULT_BITS);
  } catch {
    fail('verifier ring-Pedersen parameters malformed');
  }
  if (typeof n !== 'bigint' || n <= 0n || (n & 1n) === 0n) fail('N0 must be odd and positive');
  const bits = bitLength(n);
  if (bits < FAC_MIN_MODULUS_BITS || bits > PAILLIER_MAX_BITS) fail(`N0 must have ${FAC_MIN_MODULUS_BITS}..${PAILLIER_MAX_BITS} bits`);
  if (!proof) fail('malformed proof');
  const N = verifierAux.N;
  for (const k of ['P', 'Q', 'A', 'B', 'T'] as const) if (!isUnit(proof[k], N)) fail(`${k} is not a unit mod N̂`);
  const bound = (1n << LE) * isqrt(n);
  if (!within(proof.z1, bound)) fail('z1 out of range');
  if (!within(proof.z2, bound)) fail('z2 out of range');
  if (!within(proof.sigma, (1n << L) * n * N)) fail('sigma out of range');
  if (!within(proof.w1, (1n << (LE + 1n)) * N)) fail('w1 out of range');
  if (!within(proof.w2, (1n << (LE + 1n)) * N)) fail('w2 out of range');
  if (!within(proof.v, (1n << (LE + 1n)) * n * N)) fail('v out of range');

  const e = challenge(n, verifierAux, proof, ctx);
  const R = commit(verifierAux, n, proof.sigma);
  if (commit(verifierAux, proof.z1, proof.w1) !== mod(proof.A * modPow(proof.P, e, N), N)) fail('first equation fails');
  if (commit(verifierAux, proof.z2, proof.w2) !== mod(proof.B * modPow(proof.Q, e, N), N)) fail('second equation fails');
  const lhs = (modPow(proof.Q, proof.z1, N) * modPow(verifierAux.t, proof.v, N)) % N;
  if (lhs !== mod(proof.T * modPow(R, e, N), N)) fail('third equation fails');
}
