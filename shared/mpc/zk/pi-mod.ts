// Πmod — "Paillier-Blum modulus" zero-knowledge proof (CGGMP21, ePrint 2021/060, Fig. 16), made
// non-interactive with Fiat–Shamir. Proves N = p^a·q^b with p ≡ q ≡ 3 (mod 4) and
// gcd(N, φ(N)) = 1 — together with Πfac (Fig. 28) this is the BitForge defence (CRYPTO.md #1).
//
//   P: w ← Z*_N with Jacobi(w, N) = -1                                  (commitment)
//   y_1..y_m ∈ Z_N  from the transcript over (ctx, N, w)                  (challenges)
//   P, for each i: z_i = y_i^{N⁻¹ mod φ(N)} mod N;
//                  a_i, b_i ∈ {0,1} such that y'_i = (-1)^{a_i}·w^{b_i}·y_i is a square mod p and q;
//                  x_i = a fourth root of y'_i mod N.
//   V: N odd and not prime; z_i^N ≡ y_i and x_i^4 ≡ (-1)^{a_i}·w^{b_i}·y_i (mod N) for all i.
// m = 128 repetitions: soundness 2^-128 against a grinding prover (CRYPTO.md #4, TSSHOCK; issue 7),
// above CGGMP21's statistical parameter 80. Cost: 128 N-th and fourth roots to prove, 128 small
// exponentiations to verify, once per key generation. The verifier demands exactly m.
import * as s from '../../schema.js';
import { CosignerError } from '../../errors.js';
import {
  allUnits, bitLength, crtCombine, gcd, isProbablePrime, jacobi, mod, modInv, modPow, randomCoprime,
} from '../bigint/modarith.js';
import { bytesForBits, uintToWire } from '../bigint/wire.js';
import type { PaillierSecretKey } from '../paillier/paillier.js';
import { PAILLIER_MAX_BITS } from '../paillier/modulus-shape.js';
import { proofTranscript, type ProofContext } from './context.js';
import { modPowSecret } from '../bigint/secret-modpow.js';

export const MOD_REPETITIONS = 128;
const DOMAIN = 'nitro-cosigner/zk/pi-mod/v1';
const MAX_BYTES = bytesForBits(PAILLIER_MAX_BITS);

export const ModProofSchema = s.struct({
  w: s.biguint({ maxBytes: MAX_BYTES }),
  items: s.array(
    s.struct({ x: s.biguint({ maxBytes: MAX_BYTES }), a: s.bool(), b: s.bool(), z: s.biguint({ maxBytes: MAX_BYTES }) }),
    { min: MOD_REPETITIONS, max: MOD_REPETITIONS },
  ),
});
export type ModProof = s.Infer<typeof ModProofSchema>;

/** Plain data for CBOR; parse back with s.parse(ModProofSchema, value). */
export function encodeModProof(proof: ModProof): { w: Uint8Array; items: { x: Uint8Array; a: boolean; b: boolean; z: Uint8Array }[] } {
  return {
    w: uintToWire(proof.w),
    items: proof.items.map((it) => ({ x: uintToWire(it.x), a: it.a, b: it.b, z: uintToWire(it.z) })),
  };
}

/** The Fiat–Shamir challenges y_1..y_m ∈ [0, N), bound to ctx, N and w. */
export function modChallenges(n: bigint, w: bigint, ctx: ProofContext): bigint[] {
  return proofTranscript(DOMAIN, ctx)
    .appendBigint('m', BigInt(MOD_REPETITIONS))
    .appendBigint('N', n)
    .appendBigint('w', w)
    .challengeScalars('y', n, MOD_REPETITIONS);
}

/** (-1)^a · w^b · y mod N. */
function twist(y: bigint, a: boolean, b: boolean, w: bigint, n: bigint): bigint {
  let v = mod(y, n);
  if (a) v = mod(-v, n);
  if (b) v = (v * w) % n;
  return v;
}

/** Πmod prover (Fig. 16). The key is a Paillier–Blum key (PaillierSecretKey guarantees it). */
export function proveModulus(sk: PaillierSecretKey, ctx: ProofContext): ModProof {
  const { p, q } = sk;
  const n = sk.publicKey.n;
  let w: bigint;
  do w = randomCoprime(n); while (jacobi(w, n) !== -1);
  const ys = modChallenges(n, w, ctx);
  // N-th roots: exponent N⁻¹ mod (r-1) per prime (gcd(N, φ(N)) = 1 makes it exist).
  const dp = modInv(n, p - 1n);
  const dq = modInv(n, q - 1n);
  // Fourth roots: for r ≡ 3 (mod 4), u^((r+1)/4) is the square root of a square u that is itself
  // a square, so applying it twice gives a fourth root.
  const fp = ((p + 1n) / 4n) ** 2n % (p - 1n);
  const fq = ((q + 1n) / 4n) ** 2n % (q - 1n);
  const qInvP = modInv(q, p);
  // Exponents and moduli derived from p and q: constant-time route, lifted by the period r − 1.
  const rootP = (y: bigint, e: bigint): bigint => modPowSecret(y, e, p, { what: 'prove Πmod', period: p - 1n });
  const rootQ = (y: bigint, e: bigint): bigint => modPowSecret(y, e, q, { what: 'prove Πmod', period: q - 1n });
  const items = ys.map((y) => {
    if (gcd(y, n) !== 1n) throw new CosignerError('INTERNAL', 'Πmod challenge is not a unit (factor found by chance)');
    const z = crtCombine(rootP(y, dp), rootQ(y, dq), p, q, qInvP);
    for (const a of [false, true]) {
      for (const b of [false, true]) {
        const yy = twist(y, a, b, w, n);
        if (jacobi(yy, p) === 1 && jacobi(yy, q) === 1) {
          const x = crtCombine(rootP(yy, fp), rootQ(yy, fq), p, q, qInvP);
          return { x, a, b, z };
        }
      }
    }
    // Unreachable for a Blum modulus and Jacobi(w, N) = -1: one of the four twists is a square.
    throw new CosignerError('INTERNAL', 'Πmod: no quadratic-residue twist found');
  });
  return { w, items };
}

function fail(why: string): never {
  throw new CosignerError('MPC_PROOF_FAILED', `Paillier-Blum modulus proof (Πmod) rejected: ${why}`);
}

function isUnit(x: bigint, n: bigint): boolean {
  return typeof x === 'bigint' && x > 0n && x < n && gcd(x, n) === 1n;
}

/**
 * Πmod verifier (Fig. 16): recomputes the challenges from ctx, N and w and checks every
 * repetition; throws MPC_PROOF_FAILED. Size policy (≥ 2048 bits, no small factors) is
 * checkPaillierModulusShape's job and Πfac's; here N only has to be odd, composite and ≤ 4096 bits.
 */
export function verifyModulus(n: bigint, proof: ModProof, ctx: ProofContext): void {
  if (typeof n !== 'bigint' || n < 9n || (n & 1n) === 0n) fail('N must be odd and composite');
  if (bitLength(n) > PAILLIER_MAX_BITS) fail(`N longer than ${PAILLIER_MAX_BITS} bits`);
  if (isProbablePrime(n)) fail('N is prime');
  if (!proof || !Array.isArray(proof.items) || proof.items.length !== MOD_REPETITIONS) fail(`expected exactly ${MOD_REPETITIONS} repetitions`);
  const { w } = proof;
  if (!isUnit(w, n) || jacobi(w, n) !== -1) fail('w must be a unit with Jacobi symbol -1');
  const ys = modChallenges(n, w, ctx);
  proof.items.forEach((it, i) => {
    if (!it || typeof it.a !== 'boolean' || typeof it.b !== 'boolean') fail(`item ${i} malformed`);
  });
  if (!allUnits(proof.items.map((it) => it.x), n)) fail('some x is not a unit mod N');
  if (!allUnits(proof.items.map((it) => it.z), n)) fail('some z is not a unit mod N');
  proof.items.forEach((it, i) => {
    const y = ys[i]!;
    if (modPow(it.z, n, n) !== y) fail(`z[${i}] is not an N-th root of the challenge`);
    if (modPow(it.x, 4n, n) !== twist(y, it.a, it.b, w, n)) fail(`x[${i}] is not a fourth root of the twisted challenge`);
  });
}
