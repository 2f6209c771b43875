// Cheap structural checks on a peer's Paillier modulus, run before the (costlier) Πmod/Πfac
// verification (CRYPTO.md attack 1 "BitForge" and attack 5 "Alpha-Rays": bit length, odd,
// not prime; plus not a perfect square and no factor below 2^16). They do not replace the proofs.
import { CosignerError } from '../../errors.js';
import { bitLength, isPerfectSquare, isProbablePrime, smallFactor } from '../bigint/modarith.js';

export const PAILLIER_DEFAULT_BITS = 2048;
/** CGGMP21 §C takes N ≥ 2^(8ℓ) = 2^2048 for ℓ = 256; smaller moduli are rejected by default. */
export const PAILLIER_MIN_BITS = 2048;
/** Upper bound so a peer cannot make us work on huge numbers. */
export const PAILLIER_MAX_BITS = 4096;

function reject(why: string, bits: number): never {
  throw new CosignerError('MPC_INVALID_KEY', `Paillier modulus rejected: ${why}`, { bits });
}

export function checkPaillierModulusShape(n: bigint, minBits: number = PAILLIER_MIN_BITS): void {
  if (typeof n !== 'bigint' || n <= 0n) reject('not a positive integer', 0);
  const bits = bitLength(n);
  if (bits < minBits) reject(`shorter than ${minBits} bits`, bits);
  if (bits > PAILLIER_MAX_BITS) reject(`longer than ${PAILLIER_MAX_BITS} bits`, bits);
  if ((n & 1n) === 0n) reject('even', bits);
  if (smallFactor(n) !== undefined) reject('has a prime factor below 2^16', bits);
  if (isPerfectSquare(n)) reject('a perfect square', bits);
  if (isProbablePrime(n)) reject('prime', bits);
}
