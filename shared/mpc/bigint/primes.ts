// Primality and prime generation through OpenSSL (node:crypto), plus the small-prime table used
// to reject moduli with small factors cheaply (CRYPTO.md attack 1, BitForge).
import { checkPrimeSync, generatePrimeSync } from 'node:crypto';
import { CosignerError } from '../../errors.js';
import { bitLength, gcd } from './integer.js';

/**
 * Probabilistic primality test (OpenSSL BN_check_prime: trial division then Miller–Rabin with
 * the round count OpenSSL picks for the size, error ≤ 2^-128). Negative, 0 and 1 are not prime.
 */
export function isProbablePrime(n: bigint): boolean {
  if (typeof n !== 'bigint' || n < 2n) return false;
  return checkPrimeSync(n);
}

function checkBits(bits: number, min: number): void {
  if (!Number.isSafeInteger(bits) || bits < min || bits > 4096) throw new CosignerError('INTERNAL', `prime size must be in [${min}, 4096] bits`);
}

/** A prime p ≡ 3 (mod 4) (a "Blum prime") with exactly `bits` bits. */
export function generateBlumPrime(bits: number): bigint {
  checkBits(bits, 16);
  for (;;) {
    const p = generatePrimeSync(bits, { bigint: true, add: 4n, rem: 3n });
    if (bitLength(p) === bits && (p & 3n) === 3n) return p;
  }
}

/**
 * A safe prime p = 2p' + 1 (p' prime) with exactly `bits` bits; p ≡ 3 (mod 4) follows. Slow:
 * about a second for 1024 bits on this hardware, with a long tail; callers cache the result.
 */
export function generateSafePrime(bits: number): bigint {
  checkBits(bits, 16);
  for (;;) {
    const p = generatePrimeSync(bits, { bigint: true, safe: true });
    if (bitLength(p) === bits && (p & 3n) === 3n) return p;
  }
}

/** The primes below 2^16, by a sieve of Eratosthenes (computed once). */
let smallPrimeTable: readonly bigint[] | undefined;
function smallPrimes(): readonly bigint[] {
  if (smallPrimeTable) return smallPrimeTable;
  const limit = 1 << 16;
  const composite = new Uint8Array(limit);
  const out: bigint[] = [];
  for (let i = 2; i < limit; i++) {
    if (composite[i]) continue;
    out.push(BigInt(i));
    for (let j = i * i; j < limit; j += i) composite[j] = 1;
  }
  smallPrimeTable = out;
  return out;
}

/** Products of ~60 consecutive small primes (< 2^960 each), so one gcd screens a batch. */
let batchTable: readonly { product: bigint; primes: readonly bigint[] }[] | undefined;
function smallPrimeBatches(): readonly { product: bigint; primes: readonly bigint[] }[] {
  if (batchTable) return batchTable;
  const primes = smallPrimes();
  const out: { product: bigint; primes: bigint[] }[] = [];
  for (let i = 0; i < primes.length; i += 60) {
    const batch = primes.slice(i, i + 60);
    out.push({ product: batch.reduce((a, b) => a * b, 1n), primes: batch });
  }
  batchTable = out;
  return out;
}

/** The smallest prime factor of n below 2^16, or undefined if it has none (n > 1). */
export function smallFactor(n: bigint): bigint | undefined {
  for (const { product, primes } of smallPrimeBatches()) {
    if (gcd(n % product, product) === 1n) continue;
    for (const p of primes) if (n % p === 0n) return p;
  }
  return undefined;
}
