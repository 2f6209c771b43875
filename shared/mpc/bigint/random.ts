// Uniform sampling from node:crypto randomness. Rejection sampling everywhere: no modular bias.
import { randomBytes } from 'node:crypto';
import { CosignerError } from '../../errors.js';
import { bitLength, gcd } from './integer.js';

/** A uniformly random integer with exactly `bits` random bits, i.e. in [0, 2^bits). */
export function randomBits(bits: number): bigint {
  if (!Number.isSafeInteger(bits) || bits < 0) throw new CosignerError('INTERNAL', 'randomBits: bad bit count');
  if (bits === 0) return 0n;
  const buf = randomBytes(Math.ceil(bits / 8));
  const excess = buf.length * 8 - bits;
  buf[0] = buf[0]! & (0xff >> excess);
  const x = BigInt('0x' + buf.toString('hex'));
  buf.fill(0);
  return x;
}

/** Uniform in [0, n) for n ≥ 1. */
export function randomBelow(n: bigint): bigint {
  if (typeof n !== 'bigint' || n < 1n) throw new CosignerError('INTERNAL', 'randomBelow: bound must be a positive bigint');
  const bits = bitLength(n - 1n);
  for (;;) {
    const x = randomBits(bits);
    if (x < n) return x; // accepted with probability > 1/2
  }
}

/** Uniform in Z*_n = { x in [1, n) : gcd(x, n) = 1 } for n ≥ 2. */
export function randomCoprime(n: bigint): bigint {
  if (typeof n !== 'bigint' || n < 2n) throw new CosignerError('INTERNAL', 'randomCoprime: modulus must exceed 1');
  for (;;) {
    const x = randomBelow(n);
    if (x !== 0n && gcd(x, n) === 1n) return x;
  }
}

/** Uniform in the closed interval [-bound, bound] (CGGMP21's "±bound" notation), bound ≥ 0. */
export function randomSignedRange(bound: bigint): bigint {
  if (typeof bound !== 'bigint' || bound < 0n) throw new CosignerError('INTERNAL', 'randomSignedRange: bound must be non-negative');
  return randomBelow(2n * bound + 1n) - bound;
}

/** Uniform in [-2^bits, 2^bits] (CGGMP21's ±2^ℓ ranges). */
export function randomSigned(bits: number): bigint {
  if (!Number.isSafeInteger(bits) || bits < 0) throw new CosignerError('INTERNAL', 'randomSigned: bad bit count');
  return randomSignedRange(1n << BigInt(bits));
}
