// Modular exponentiation through OpenSSL (CRYPTO.md "Measured on this kind of machine"): a
// DiffieHellman object built on an arbitrary odd modulus m computes base^exp mod m when exp is
// set as the "private key" and base is passed as the peer's "public key". OpenSSL's DH path
// uses Montgomery exponentiation with the exponent flagged constant-time, and is ~5x faster
// than BigInt. It is undocumented behaviour, hence the limits below and the start-up self-test
// in modarith.ts:
//   - moduli under 512 bits silently give zeros, so only 512..MAX bits are routed here;
//   - the base must lie in [2, m-2] (OpenSSL's public-key range check);
//   - the exponent must be positive (an empty private key is rejected);
//   - the output is big-endian, left-padded to the modulus width;
//   - results 0, 1 and m-1 are refused (DH "invalid secret"), worked around below.
// Setting up a DH object costs milliseconds for large moduli, so objects are kept per modulus
// in a small LRU (a Map iterates in insertion order; re-inserting on use keeps it LRU).
import { createDiffieHellman, type DiffieHellman } from 'node:crypto';
import { bigintToBytes, bytesToBigint } from '../transcript.js';
import { bitLength } from './integer.js';

export const OPENSSL_MIN_MODULUS_BITS = 512;
/** OpenSSL refuses DH moduli above 10000 bits (OPENSSL_DH_MAX_MODULUS_BITS). */
export const OPENSSL_MAX_MODULUS_BITS = 10000;
const CACHE_SIZE = 32;

const cache = new Map<bigint, DiffieHellman>();

function dhFor(m: bigint): DiffieHellman {
  const hit = cache.get(m);
  if (hit) {
    cache.delete(m);
    cache.set(m, hit);
    return hit;
  }
  const dh = createDiffieHellman(Buffer.from(bigintToBytes(m)));
  cache.set(m, dh);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as bigint);
  return dh;
}

/** Whether (base, exp, m) is inside the range where the OpenSSL route is defined. */
export function opensslEligible(base: bigint, exp: bigint, m: bigint): boolean {
  if ((m & 1n) === 0n || exp <= 0n || base < 2n || base > m - 2n) return false;
  const bits = bitLength(m);
  return bits >= OPENSSL_MIN_MODULUS_BITS && bits <= OPENSSL_MAX_MODULUS_BITS;
}

function compute(dh: DiffieHellman, base: bigint, exp: bigint): bigint | undefined {
  try {
    // setPrivateKey and computeSecret run back to back on one thread: no interleaving.
    dh.setPrivateKey(Buffer.from(bigintToBytes(exp)));
    return bytesToBigint(dh.computeSecret(Buffer.from(bigintToBytes(base))));
  } catch {
    return undefined;
  } finally {
    // Replace the exponent (possibly secret) held by the cached object with a harmless one.
    dh.setPrivateKey(Buffer.from([1]));
  }
}

/**
 * base^exp mod m through OpenSSL. Only defined where opensslEligible(base, exp, m) holds;
 * throws RangeError otherwise (callers route, they do not rely on this throwing).
 * OpenSSL refuses to return the "shared secrets" 0, 1 and m-1. For a unit base, base^(exp-1)
 * is then ±base⁻¹, which it does return, so one multiplication recovers the answer. What is
 * still refused (a zero result from a non-unit base) throws RangeError; modPow answers it in BigInt.
 */
export function modPowOpenssl(base: bigint, exp: bigint, m: bigint): bigint {
  if (!opensslEligible(base, exp, m)) throw new RangeError('modPowOpenssl: input outside the OpenSSL route');
  const dh = dhFor(m);
  const direct = compute(dh, base, exp);
  if (direct !== undefined) return direct;
  if (exp > 1n) {
    const previous = compute(dh, base, exp - 1n);
    if (previous !== undefined) return (previous * base) % m;
  }
  throw new RangeError('modPowOpenssl: OpenSSL refused this input');
}

/** Drop cached DH objects (tests; or after handling secret moduli such as p²). */
export function clearOpensslModPowCache(): void {
  cache.clear();
}
