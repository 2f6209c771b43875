// Modular arithmetic for Paillier and the CGGMP21 proofs: one import point for the rest of the
// MPC code. modPow routes between OpenSSL (fast, constant-time in the exponent) and BigInt, and
// the OpenSSL route is only used after a self-test against BigInt has passed in this process
// (CRYPTO.md: "guard it with a start-up self-test against BigInt and keep a BigInt fallback").
import { generatePrimeSync } from 'node:crypto';
import { createLogger } from '../../log.js';
import { CosignerError } from '../../errors.js';
import { modPowBigint } from './bigint-modpow.js';
import { opensslEligible, modPowOpenssl, OPENSSL_MIN_MODULUS_BITS } from './openssl-modpow.js';
import { bitLength, mod, modInv } from './integer.js';
import { randomBelow, randomBits } from './random.js';

export { mod, gcd, modInv, bitLength, jacobi, isqrt, isPerfectSquare, crtCombine, allUnits } from './integer.js';
export { randomBelow, randomCoprime, randomSigned, randomSignedRange, randomBits } from './random.js';
export { isProbablePrime, generateBlumPrime, generateSafePrime, smallFactor } from './primes.js';
export { modPowBigint } from './bigint-modpow.js';
export { modPowOpenssl, opensslEligible, clearOpensslModPowCache } from './openssl-modpow.js';

const log = createLogger('mpc/bigint');

type Route = 'openssl' | 'bigint';
let route: Route | undefined;
let runtimeFailureLogged = false;

function randomOddModulus(bits: number): bigint {
  return randomBits(bits) | (1n << BigInt(bits - 1)) | 1n;
}

/** The (base, exp, m) triples the self-test compares: random and edge values, several sizes. */
function selfTestCases(): [bigint, bigint, bigint][] {
  const cases: [bigint, bigint, bigint][] = [];
  const shapes: [number, number][] = [
    // [modulus bits, largest exponent bits]
    [OPENSSL_MIN_MODULUS_BITS, 1100],
    [OPENSSL_MIN_MODULUS_BITS + 1, 600],
    [1024, 1024],
    [2047, 300],
    [2048, 2048],
    [4096, 256],
  ];
  for (const [bits, expBits] of shapes) {
    const m = randomOddModulus(bits);
    const exps = [1n, 2n, 3n, randomBits(64) | 1n, randomBits(expBits) | (1n << BigInt(expBits - 1))];
    const bases = [2n, m - 2n, 2n + randomBelow(m - 3n)];
    for (const e of exps) for (const b of bases) cases.push([b, e, m]);
  }
  // A square modulus (the shape of a Paillier N²) with a modulus-sized exponent.
  const k = randomOddModulus(640);
  cases.push([2n + randomBelow(k * k - 3n), k, k * k]);
  // Results 1 and m-1, which OpenSSL's DH refuses to output directly: b^(p-1), b^((p-1)/2) mod p.
  const p = generatePrimeSync(OPENSSL_MIN_MODULUS_BITS, { bigint: true });
  const b = 2n + randomBelow(p - 3n);
  cases.push([b, p - 1n, p], [b, (p - 1n) / 2n, p], [2n, (p - 1n) / 2n, p], [p - 2n, 2n * (p - 1n), p]);
  return cases;
}

/**
 * Compare the OpenSSL route with BigInt on fresh random inputs and set the route accordingly:
 * true (OpenSSL in use) when they agree. Runs at most once per process unless `force` is set.
 * `candidate` replaces the OpenSSL function under test (tests use it to prove the fallback).
 */
export function runModPowSelfTest(
  opts: { force?: boolean; candidate?: (b: bigint, e: bigint, m: bigint) => bigint } = {},
): boolean {
  if (route !== undefined && !opts.force) return route === 'openssl';
  const candidate = opts.candidate ?? modPowOpenssl;
  let ok = true;
  try {
    for (const [b, e, m] of selfTestCases()) {
      if (candidate(b, e, m) !== modPowBigint(b, e, m)) {
        ok = false;
        break;
      }
    }
  } catch {
    ok = false;
  }
  route = ok ? 'openssl' : 'bigint';
  if (!ok) log.warn('OpenSSL modular exponentiation disagreed with BigInt in the self-test; using BigInt only');
  return ok;
}

/** Which modPow route is active ('openssl' or 'bigint'); runs the self-test on first use. */
export function modPowImplementation(): Route {
  runModPowSelfTest();
  return route!;
}

/**
 * base^exp mod m, for any bigint base and m ≥ 1. A negative exponent means (base⁻¹)^|exp| and
 * throws MPC_NOT_INVERTIBLE when gcd(base, m) ≠ 1. 0^0 = 1. Odd moduli of 512+ bits with base
 * in [2, m-2] go to OpenSSL once the self-test has passed; everything else is BigInt, with the
 * bases 0, 1 and m-1 answered arithmetically.
 */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  if (typeof base !== 'bigint' || typeof exp !== 'bigint' || typeof m !== 'bigint' || m < 1n) {
    throw new CosignerError('INTERNAL', 'modPow: arguments must be bigints with a positive modulus');
  }
  if (m === 1n) return 0n;
  if (exp < 0n) {
    base = modInv(base, m);
    exp = -exp;
  }
  const b = mod(base, m);
  if (exp === 0n) return 1n;
  if (b <= 1n) return b;
  if (b === m - 1n) return (exp & 1n) === 1n ? b : 1n;
  if (opensslEligible(b, exp, m) && modPowImplementation() === 'openssl') {
    try {
      return modPowOpenssl(b, exp, m);
    } catch {
      // Expected only for a zero result from a non-unit base (see modPowOpenssl).
      if (!runtimeFailureLogged) {
        runtimeFailureLogged = true;
        log.debug({ modulusBits: bitLength(m) }, 'OpenSSL route refused an input; answered with BigInt');
      }
    }
  }
  return modPowBigint(b, exp, m);
}
