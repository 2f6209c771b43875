// Modular exponentiation where the exponent (or the base, or the modulus) is secret — issue 7
// item 8, CRYPTO.md "Measured on this kind of machine". Every such exponentiation in the engine
// comes through here (the list is in docs/mpc.md, "Secret exponents"), and here only OpenSSL runs
// it: a DiffieHellman private-key exponentiation, which OpenSSL flags BN_FLG_CONSTTIME and so
// computes with BN_mod_exp_mont_consttime (fixed-window ladder, table lookups by scatter/gather,
// Montgomery multiplication over all words of the base). The BigInt fallback's timing follows the
// exponent's bits, so when the start-up self-test has not passed this refuses
// (CRYPTO_SELF_TEST_FAILED) rather than fall back; inputs the OpenSSL route cannot take are refused
// too (INTERNAL), never answered in BigInt.
//
// BN_mod_exp_mont_consttime runs over every 64-bit word of the exponent, so the exponent's word
// count is what its running time shows. Two helpers keep that count independent of the secret:
//   - with a known period P of the base (a multiple of its order: φ(N̂), p − 1, …) the exponent is
//     replaced by (e mod P) + 2^k·P, which has the same word count for every e (k ≥ 32 chosen so
//     the two possible bit lengths do not straddle a word boundary) — `period` below;
//   - a signed exponent |e| < 2^b is replaced by e + 3·2^b ∈ (2^(b+1), 2^(b+2)), bit length b + 2
//     for every e, and the result multiplied by (base^(3·2^b))⁻¹, a public value when the base is
//     public (cached) — modPowSecretSigned.
// A fixed exponent (p − 1 in decryption) or a public one (N for r^N with a secret r) needs neither.
// Moduli under OpenSSL's 512-bit floor (test-size keys only) are widened by the public factor
// 2^512 + 1 and the result reduced back.
import { CosignerError } from '../../errors.js';
import { bitLength, mod, modInv } from './integer.js';
import { modPow, modPowImplementation } from './modarith.js';
import { OPENSSL_MAX_MODULUS_BITS, OPENSSL_MIN_MODULUS_BITS, modPowOpenssl, opensslEligible } from './openssl-modpow.js';

const WIDEN = (1n << BigInt(OPENSSL_MIN_MODULUS_BITS)) + 1n;

/** Refuse secret-dependent exponentiation unless the constant-time OpenSSL route passed its self-test. */
export function requireConstantTimeModPow(what: string): void {
  if (modPowImplementation() !== 'openssl') {
    throw new CosignerError('CRYPTO_SELF_TEST_FAILED', `constant-time modular exponentiation (OpenSSL) is unavailable; refusing to ${what}`);
  }
}

/**
 * (e mod period) + 2^k·period: congruent to e modulo the period, with a 64-bit word count that
 * depends on the period only. k = 32, or 33 when 32 would put the bit length on a word boundary.
 */
export function liftExponent(e: bigint, period: bigint): bigint {
  if (typeof period !== 'bigint' || period < 1n) throw new CosignerError('INTERNAL', 'liftExponent: period must be positive');
  const k = (bitLength(period) + 32) % 64 === 0 ? 33n : 32n;
  return mod(e, period) + (period << k);
}

/**
 * base^exp mod m with exp ≥ 0 on the constant-time route only (see the file comment). `what`
 * names the operation in the refusal. `period`, when known, lifts the exponent (liftExponent).
 */
export function modPowSecret(base: bigint, exp: bigint, m: bigint, o: { what: string; period?: bigint }): bigint {
  requireConstantTimeModPow(o.what);
  if (typeof base !== 'bigint' || typeof exp !== 'bigint' || typeof m !== 'bigint' || m < 3n || (m & 1n) === 0n || exp < 0n) {
    throw new CosignerError('INTERNAL', `${o.what}: constant-time exponentiation needs an odd modulus and a non-negative exponent`);
  }
  const e = o.period === undefined ? exp : liftExponent(exp, o.period);
  const b = mod(base, m);
  // Bases 0, 1 and m−1 have no secret-dependent work (the DH route refuses them as "public keys").
  if (e === 0n) return 1n;
  if (b <= 1n) return b;
  if (b === m - 1n) return (e & 1n) === 1n ? b : 1n;
  const wide = bitLength(m) < OPENSSL_MIN_MODULUS_BITS ? m * WIDEN : m;
  if (bitLength(wide) > OPENSSL_MAX_MODULUS_BITS || !opensslEligible(b, e, wide)) {
    throw new CosignerError('INTERNAL', `${o.what}: input outside the constant-time route`);
  }
  try {
    return modPowOpenssl(b, e, wide) % m;
  } catch {
    throw new CosignerError('INTERNAL', `${o.what}: constant-time exponentiation refused this input`);
  }
}

const corrections = new Map<string, bigint>();
const CORRECTION_CACHE = 32;

/** (base^(3·2^bits))⁻¹ mod m for a public base: public work, cached (the ring-Pedersen s and t recur). */
function signedCorrection(base: bigint, bits: number, m: bigint): bigint {
  const key = `${bits}:${m.toString(36)}:${base.toString(36)}`;
  const hit = corrections.get(key);
  if (hit !== undefined) {
    corrections.delete(key);
    corrections.set(key, hit);
    return hit;
  }
  const c = modInv(modPow(base, 3n << BigInt(bits), m), m);
  corrections.set(key, c);
  if (corrections.size > CORRECTION_CACHE) corrections.delete(corrections.keys().next().value as string);
  return c;
}

/**
 * base^exp mod m for a secret signed exponent with |exp| < 2^bits and a PUBLIC unit base (the
 * ring-Pedersen s, t and commitments of Πfac / Πlog*). The exponent OpenSSL sees is
 * exp + 3·2^bits, always bits + 2 bits long; the public correction (base^(3·2^bits))⁻¹ undoes the offset.
 */
export function modPowSecretSigned(base: bigint, exp: bigint, m: bigint, o: { what: string; bits: number }): bigint {
  if (!Number.isSafeInteger(o.bits) || o.bits < 1) throw new CosignerError('INTERNAL', `${o.what}: exponent bound must be a positive bit count`);
  const offset = 3n << BigInt(o.bits);
  const limit = 1n << BigInt(o.bits);
  if (typeof exp !== 'bigint' || exp <= -limit || exp >= limit) throw new CosignerError('INTERNAL', `${o.what}: exponent outside its bound`);
  const raised = modPowSecret(base, exp + offset, m, { what: o.what });
  return (raised * signedCorrection(mod(base, m), o.bits, m)) % m;
}
