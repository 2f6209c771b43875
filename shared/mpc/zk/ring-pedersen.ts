// Ring-Pedersen parameters and their proof Πprm (CGGMP21, ePrint 2021/060, §3.3 / Def. 3.3 and
// Fig. 17 "Ring-Pedersen Parameters ZK"). A party publishes (N̂, s, t) with N̂ = p̂q̂ a product of
// safe primes, t = τ² mod N̂ and s = t^λ mod N̂. Others use them to commit s^x·t^y mod N̂ inside
// their range / factor proofs (e.g. Πfac, Fig. 28): hiding for the committer needs s ∈ ⟨t⟩, which
// Πprm proves; binding for the owner rests on nobody else knowing λ or the factorisation.
//
// Πprm, m parallel repetitions, each with soundness 1/2:
//   P: a_i ← Z_φ(N̂), A_i = t^{a_i}                      (commitments)
//   e_i ∈ {0,1}  from the Fiat–Shamir transcript over (ctx, N̂, s, t, A_1..A_m)
//   P: z_i = a_i + e_i·λ mod φ(N̂)
//   V: t^{z_i} ≡ A_i · s^{e_i} (mod N̂)
// m = 128 (soundness 2^-128 against a prover grinding Fiat–Shamir, CRYPTO.md #4 / issue 7): CGGMP21's
// m = 80 leaves a forger ~2^80 hash evaluations, and a forged Πprm (s ∉ ⟨t⟩) makes the Πlog* and
// Πfac commitments under these parameters leak the committed value mod small orders. Cost: 128
// exponentiations to prove and 128 to verify, once per key generation. The verifier demands exactly m.
import * as s from '../../schema.js';
import { CosignerError } from '../../errors.js';
import {
  allUnits, bitLength, gcd, generateSafePrime, mod, modPow, randomBelow, randomCoprime,
} from '../bigint/modarith.js';
import { bytesForBits, uintToWire } from '../bigint/wire.js';
import { modPowSecret } from '../bigint/secret-modpow.js';
import { proofTranscript, type ProofContext } from './context.js';

export interface RingPedersenParams { N: bigint; s: bigint; t: bigint }
export interface RingPedersenSecret { params: RingPedersenParams; p: bigint; q: bigint; lambda: bigint; phi: bigint }

export const PRM_REPETITIONS = 128;
/** Production size of N̂ (two 1024-bit safe primes). Tests may use 1024 bits to save time. */
export const RING_PEDERSEN_DEFAULT_BITS = 2048;
export const RING_PEDERSEN_MAX_BITS = 4096;
const DOMAIN = 'nitro-cosigner/zk/pi-prm/v1';
const MAX_BYTES = bytesForBits(RING_PEDERSEN_MAX_BITS);

export const RingPedersenParamsSchema = s.struct({
  N: s.biguint({ maxBytes: MAX_BYTES }),
  s: s.biguint({ maxBytes: MAX_BYTES }),
  t: s.biguint({ maxBytes: MAX_BYTES }),
});

export const PrmProofSchema = s.struct({
  A: s.array(s.biguint({ maxBytes: MAX_BYTES }), { min: PRM_REPETITIONS, max: PRM_REPETITIONS }),
  z: s.array(s.biguint({ maxBytes: MAX_BYTES }), { min: PRM_REPETITIONS, max: PRM_REPETITIONS }),
});
export type PrmProof = s.Infer<typeof PrmProofSchema>;

/** Plain data for CBOR; parse back with s.parse(RingPedersenParamsSchema, value). */
export function encodeRingPedersenParams(p: RingPedersenParams): { N: Uint8Array; s: Uint8Array; t: Uint8Array } {
  return { N: uintToWire(p.N), s: uintToWire(p.s), t: uintToWire(p.t) };
}

/** Plain data for CBOR; parse back with s.parse(PrmProofSchema, value). */
export function encodePrmProof(proof: PrmProof): { A: Uint8Array[]; z: Uint8Array[] } {
  return { A: proof.A.map(uintToWire), z: proof.z.map(uintToWire) };
}

/**
 * Fresh parameters over two safe primes of bits/2 bits each (CGGMP21 Fig. 6 aux-info step:
 * τ ← Z*_N̂, t = τ², λ ← Z_φ(N̂), s = t^λ). Safe-prime generation is slow — about a second per
 * 1024-bit prime with a long tail — so callers generate once and cache (sealed).
 */
export function generateRingPedersen(bits: number = RING_PEDERSEN_DEFAULT_BITS): RingPedersenSecret {
  if (!Number.isSafeInteger(bits) || bits % 2 !== 0 || bits < 512 || bits > RING_PEDERSEN_MAX_BITS) {
    throw new CosignerError('INTERNAL', 'ring-Pedersen modulus size must be even and in [512, 4096] bits');
  }
  for (;;) {
    const p = generateSafePrime(bits / 2);
    const q = generateSafePrime(bits / 2);
    const N = p * q;
    if (p === q || bitLength(N) !== bits) continue;
    const phi = (p - 1n) * (q - 1n);
    const t = mod(randomCoprime(N) ** 2n, N);
    // t must generate QR_N (order p'q'): reject t ≡ ±1 mod p or q, which would shrink ⟨t⟩.
    if (gcd(t - 1n, N) !== 1n || gcd(t + 1n, N) !== 1n) continue;
    const lambda = randomBelow(phi);
    // λ is the trapdoor: constant-time route, exponent lifted by the period φ(N̂).
    const s = modPowSecret(t, lambda, N, { what: 'generate ring-Pedersen parameters', period: phi });
    if (s === 1n || gcd(s - 1n, N) !== 1n) continue;
    return { params: { N, s, t }, p, q, lambda, phi };
  }
}

function challengeBits(params: RingPedersenParams, A: readonly bigint[], ctx: ProofContext): boolean[] {
  const tr = proofTranscript(DOMAIN, ctx)
    .appendBigint('m', BigInt(PRM_REPETITIONS))
    .appendBigint('N', params.N)
    .appendBigint('s', params.s)
    .appendBigint('t', params.t);
  A.forEach((a, i) => tr.appendBigint(`A${i}`, a));
  return tr.challengeBits('e', PRM_REPETITIONS);
}

/** Πprm prover (Fig. 17): proves s ∈ ⟨t⟩ by knowledge of λ with s = t^λ mod N̂. */
export function proveRingPedersen(secret: RingPedersenSecret, ctx: ProofContext): PrmProof {
  const { params, lambda, phi } = secret;
  const a = Array.from({ length: PRM_REPETITIONS }, () => randomBelow(phi));
  // The a_i mask λ in z_i: secret exponents, constant-time route, lifted by the period φ(N̂).
  const A = a.map((ai) => modPowSecret(params.t, ai, params.N, { what: 'prove Πprm', period: phi }));
  const e = challengeBits(params, A, ctx);
  const z = a.map((ai, i) => (e[i] ? mod(ai + lambda, phi) : ai));
  a.fill(0n);
  return { A, z };
}

function fail(why: string): never {
  throw new CosignerError('MPC_PROOF_FAILED', `ring-Pedersen proof (Πprm) rejected: ${why}`);
}

function isUnit(x: bigint, N: bigint): boolean {
  return typeof x === 'bigint' && x > 0n && x < N && gcd(x, N) === 1n;
}

/**
 * Shape of received parameters: N̂ odd, minBits ≤ |N̂| ≤ 4096, s and t units other than ±1.
 * Throws MPC_PROOF_FAILED (they arrive together with the proof and fail with it).
 */
export function checkRingPedersenParams(params: RingPedersenParams, minBits: number = RING_PEDERSEN_DEFAULT_BITS): void {
  const fail = (why: string): never => { throw new CosignerError('MPC_PROOF_FAILED', `ring-Pedersen parameters rejected: ${why}`); };
  if (!params) fail('missing');
  const { N, s: sv, t } = params;
  if (typeof N !== 'bigint' || N <= 0n || (N & 1n) === 0n) fail('N̂ must be odd and positive');
  const bits = bitLength(N);
  if (bits < minBits || bits > RING_PEDERSEN_MAX_BITS) fail(`N̂ must have ${minBits}..${RING_PEDERSEN_MAX_BITS} bits`);
  for (const [name, v] of [['s', sv], ['t', t]] as const) {
    if (!isUnit(v, N) || v === 1n || v === N - 1n) fail(`${name} must be a unit mod N̂ other than ±1`);
  }
}

/**
 * Πprm verifier (Fig. 17). Recomputes the challenge from ctx and the statement; throws
 * MPC_PROOF_FAILED on any defect. `minBits` (default 2048) bounds |N̂| from below.
 */
export function verifyRingPedersen(params: RingPedersenParams, proof: PrmProof, ctx: ProofContext, opts: { minBits?: number } = {}): void {
  checkRingPedersenParams(params, opts.minBits ?? RING_PEDERSEN_DEFAULT_BITS);
  const { N, s: sv, t } = params;
  if (!proof || !Array.isArray(proof.A) || !Array.isArray(proof.z)) fail('malformed proof');
  if (proof.A.length !== PRM_REPETITIONS || proof.z.length !== PRM_REPETITIONS) fail(`expected exactly ${PRM_REPETITIONS} repetitions`);
  if (!allUnits(proof.A, N)) fail('some A is not a unit mod N̂');
  proof.z.forEach((z, i) => { if (typeof z !== 'bigint' || z < 0n || z >= N) fail(`z[${i}] out of range`); });
  const e = challengeBits(params, proof.A, ctx);
  for (let i = 0; i < PRM_REPETITIONS; i++) {
    const rhs = e[i] ? (proof.A[i]! * sv) % N : proof.A[i]!;
    if (modPow(t, proof.z[i]!, N) !== rhs) fail(`equation fails at repetition ${i}`);
  }
}
