// Plain BigInt number theory: reduction, gcd, inverses, Jacobi symbol, integer square root.
// These are exact and cheap next to modular exponentiation, so they have a single route.
import { CosignerError } from '../../errors.js';

function requirePositiveModulus(m: bigint, what: string): void {
  if (typeof m !== 'bigint' || m <= 0n) throw new CosignerError('INTERNAL', `${what}: modulus must be a positive bigint`);
}

/** a mod m in [0, m) (JavaScript's % keeps the sign of a). */
export function mod(a: bigint, m: bigint): bigint {
  requirePositiveModulus(m, 'mod');
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** Greatest common divisor of |a| and |b| (gcd(0, 0) = 0). */
export function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** a⁻¹ mod m by the extended Euclidean algorithm; throws MPC_NOT_INVERTIBLE if gcd(a, m) ≠ 1. */
export function modInv(a: bigint, m: bigint): bigint {
  requirePositiveModulus(m, 'modInv');
  if (m === 1n) return 0n;
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  if (oldR !== 1n) throw new CosignerError('MPC_NOT_INVERTIBLE', 'value is not invertible modulo the given modulus');
  return mod(oldS, m);
}

/** Number of bits in |x| (0 for 0). */
export function bitLength(x: bigint): number {
  if (x < 0n) x = -x;
  return x === 0n ? 0 : x.toString(2).length;
}

/** Jacobi symbol (a/n) for odd positive n: -1, 0 or 1. */
export function jacobi(a: bigint, n: bigint): number {
  if (n <= 0n || (n & 1n) === 0n) throw new CosignerError('INTERNAL', 'jacobi: n must be odd and positive');
  a = mod(a, n);
  let result = 1;
  while (a !== 0n) {
    while ((a & 1n) === 0n) {
      a >>= 1n;
      const r = n & 7n;
      if (r === 3n || r === 5n) result = -result;
    }
    [a, n] = [n, a];
    if ((a & 3n) === 3n && (n & 3n) === 3n) result = -result;
    a %= n;
  }
  return n === 1n ? result : 0;
}

/** ⌊√x⌋ for x ≥ 0 (Newton's method from an upper bound). */
export function isqrt(x: bigint): bigint {
  if (x < 0n) throw new CosignerError('INTERNAL', 'isqrt of a negative number');
  if (x < 2n) return x;
  let y = 1n << BigInt(Math.ceil(bitLength(x) / 2));
  for (;;) {
    const next = (y + x / y) >> 1n;
    if (next >= y) return y;
    y = next;
  }
}

export function isPerfectSquare(x: bigint): boolean {
  if (x < 0n) return false;
  const r = isqrt(x);
  return r * r === x;
}

/** The x in [0, p·q) with x ≡ xp (mod p), x ≡ xq (mod q), given qInvP = q⁻¹ mod p (Garner). */
export function crtCombine(xp: bigint, xq: bigint, p: bigint, q: bigint, qInvP: bigint): bigint {
  return xq + q * mod((xp - xq) * qInvP, p);
}

/**
 * Whether every x is a bigint in [1, n) coprime to n. One gcd for the batch: a product is a unit
 * mod n exactly when each factor is.
 */
export function allUnits(xs: readonly bigint[], n: bigint): boolean {
  let acc = 1n;
  for (const x of xs) {
    if (typeof x !== 'bigint' || x <= 0n || x >= n) return false;
    acc = (acc * x) % n;
  }
  return gcd(acc, n) === 1n;
}
