import { expect } from 'chai';
import {
  bitLength, clearOpensslModPowCache, gcd, isPerfectSquare, isProbablePrime, isqrt, jacobi, mod, modInv, modPow,
  modPowBigint, modPowImplementation, modPowOpenssl, opensslEligible, randomBelow, randomBits, randomCoprime,
  randomSigned, randomSignedRange, runModPowSelfTest, smallFactor, generateBlumPrime, generateSafePrime,
} from '../../shared/mpc/bigint/modarith.js';
import { bigsigned, signedToWire, uintToWire, zigzagDecode, zigzagEncode } from '../../shared/mpc/bigint/wire.js';
import { isCosignerError } from '../../shared/errors.js';

/** Textbook right-to-left square-and-multiply: an independent reference for both routes. */
function refPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n % m;
  b = ((b % m) + m) % m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

function oddModulus(bits: number): bigint {
  return randomBits(bits) | (1n << BigInt(bits - 1)) | 1n;
}

describe('mpc/bigint: integer helpers', () => {
  it('mod is in [0, m) for negative and positive inputs', () => {
    expect(mod(-7n, 5n)).to.equal(3n);
    expect(mod(7n, 5n)).to.equal(2n);
    expect(mod(-10n, 5n)).to.equal(0n);
    expect(() => mod(1n, 0n)).to.throw();
  });

  it('gcd, modInv and bitLength agree with definitions', () => {
    expect(gcd(12n, -18n)).to.equal(6n);
    expect(gcd(0n, 5n)).to.equal(5n);
    for (let i = 0; i < 20; i++) {
      const m = oddModulus(300);
      const a = randomCoprime(m);
      expect(mod(a * modInv(a, m), m)).to.equal(1n);
      expect(mod(-a * modInv(-a, m), m)).to.equal(1n);
    }
    expect(bitLength(0n)).to.equal(0);
    expect(bitLength(1n)).to.equal(1);
    expect(bitLength(255n)).to.equal(8);
    expect(bitLength(256n)).to.equal(9);
    expect(bitLength(-256n)).to.equal(9);
  });

  it('modInv throws MPC_NOT_INVERTIBLE for a non-unit', () => {
    let err: unknown;
    try { modInv(6n, 9n); } catch (e) { err = e; }
    expect(isCosignerError(err, 'MPC_NOT_INVERTIBLE')).to.equal(true);
    expect(() => modInv(0n, 7n)).to.throw();
  });

  it('jacobi matches Euler’s criterion for primes and multiplicativity for composites', () => {
    const p = 1000003n, q = 999983n;
    for (let i = 0; i < 50; i++) {
      const a = randomBelow(p * q);
      const euler = (x: bigint, r: bigint): number => {
        const v = refPow(x, (r - 1n) / 2n, r);
        return v === 0n ? 0 : v === 1n ? 1 : -1;
      };
      expect(jacobi(a, p)).to.equal(euler(a, p));
      expect(jacobi(a, p * q)).to.equal(euler(a, p) * euler(a, q));
    }
    expect(() => jacobi(3n, 8n)).to.throw();
  });

  it('isqrt and isPerfectSquare', () => {
    for (let i = 0; i < 30; i++) {
      const x = randomBits(1000 + i);
      const r = isqrt(x);
      expect(r * r <= x && (r + 1n) * (r + 1n) > x).to.equal(true);
      expect(isPerfectSquare(r * r)).to.equal(true);
      expect(isPerfectSquare(r * r + 1n)).to.equal(r === 0n);
    }
    expect(isqrt(0n)).to.equal(0n);
    expect(isqrt(3n)).to.equal(1n);
    expect(isqrt(4n)).to.equal(2n);
  });

  it('primality, Blum and safe primes, small factors', () => {
    expect(isProbablePrime(2n)).to.equal(true);
    expect(isProbablePrime(1n)).to.equal(false);
    expect(isProbablePrime(-7n)).to.equal(false);
    const p = generateBlumPrime(256);
    expect(bitLength(p)).to.equal(256);
    expect(p % 4n).to.equal(3n);
    expect(isProbablePrime(p)).to.equal(true);
    expect(isProbablePrime(p * generateBlumPrime(256))).to.equal(false);
    const sp = generateSafePrime(128);
    expect(isProbablePrime((sp - 1n) / 2n)).to.equal(true);
    expect(smallFactor(p * 65521n)).to.equal(65521n);
    expect(smallFactor(p * 65537n)).to.equal(undefined); // 65537 > 2^16
    expect(smallFactor(p * generateBlumPrime(128))).to.equal(undefined);
  });
});

describe('mpc/bigint: random sampling', () => {
  it('randomBelow stays in range and hits both ends of a small range', () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 400; i++) {
      const x = randomBelow(5n);
      expect(x >= 0n && x < 5n).to.equal(true);
      seen.add(x);
    }
    expect(seen.size).to.equal(5);
    expect(randomBelow(1n)).to.equal(0n);
    expect(() => randomBelow(0n)).to.throw();
  });

  it('randomCoprime is a unit and randomSigned covers ±2^bits inclusive', () => {
    const m = 2n * 3n * 5n * 7n * 11n * 13n;
    for (let i = 0; i < 100; i++) expect(gcd(randomCoprime(m), m)).to.equal(1n);
    const seen = new Set<bigint>();
    for (let i = 0; i < 500; i++) {
      const x = randomSigned(1);
      expect(x >= -2n && x <= 2n).to.equal(true);
      seen.add(x);
    }
    expect([...seen].sort()).to.have.members([-2n, -1n, 0n, 1n, 2n]);
    for (let i = 0; i < 100; i++) {
      const x = randomSignedRange(1000n);
      expect(x >= -1000n && x <= 1000n).to.equal(true);
    }
  });
});

describe('mpc/bigint: modPow routes', () => {
  it('the self-test passes on this platform and selects OpenSSL', () => {
    expect(runModPowSelfTest({ force: true })).to.equal(true);
    expect(modPowImplementation()).to.equal('openssl');
  });

  it('a disagreeing implementation fails the self-test and modPow falls back to BigInt (still correct)', () => {
    try {
      const offByOne = (b: bigint, e: bigint, m: bigint): bigint => (modPowOpenssl(b, e, m) + 1n) % m;
      expect(runModPowSelfTest({ force: true, candidate: offByOne })).to.equal(false);
      expect(modPowImplementation()).to.equal('bigint');
      const m = oddModulus(1024);
      const b = 2n + randomBelow(m - 3n);
      expect(modPow(b, m - 1n, m)).to.equal(refPow(b, m - 1n, m));
      const zeros = (): bigint => 0n; // the sub-512-bit failure mode
      expect(runModPowSelfTest({ force: true, candidate: zeros })).to.equal(false);
    } finally {
      expect(runModPowSelfTest({ force: true })).to.equal(true);
    }
    expect(modPowImplementation()).to.equal('openssl');
  });

  it('OpenSSL route equals the reference on random inputs of many sizes (incl. exponents longer than the modulus)', () => {
    for (const bits of [512, 513, 777, 1024, 2048, 3072]) {
      const m = oddModulus(bits);
      for (const expBits of [1, 17, 256, bits, bits + 300]) {
        const e = randomBits(expBits) | 1n;
        const b = 2n + randomBelow(m - 3n);
        expect(opensslEligible(b, e, m)).to.equal(true);
        expect(modPowOpenssl(b, e, m)).to.equal(refPow(b, e, m));
      }
    }
  });

  it('OpenSSL route at the edges: base 2 and m-2, exponent 1 and m-1, a square modulus', () => {
    const m = oddModulus(1024);
    for (const b of [2n, m - 2n]) for (const e of [1n, 2n, m - 1n]) expect(modPowOpenssl(b, e, m)).to.equal(refPow(b, e, m));
    const k = oddModulus(600);
    const b = 2n + randomBelow(k * k - 3n);
    expect(modPowOpenssl(b, k, k * k)).to.equal(refPow(b, k, k * k));
    clearOpensslModPowCache();
    expect(modPowOpenssl(3n, 5n, m)).to.equal(refPow(3n, 5n, m));
  });

  it('OpenSSL route returns the results 1, m-1 and 0 that DH refuses to output (via the b^(e-1)·b detour or BigInt)', () => {
    const p = generateBlumPrime(1024);
    const b = 2n + randomBelow(p - 3n);
    expect(modPowOpenssl(b, p - 1n, p)).to.equal(1n);
    expect(modPowOpenssl(2n, (p - 1n) / 2n, p)).to.equal(refPow(2n, (p - 1n) / 2n, p));
    expect(modPowOpenssl(p - 2n, p - 1n, p)).to.equal(1n);
    expect(modPow(b, (p - 1n) / 2n, p)).to.equal(refPow(b, (p - 1n) / 2n, p));
    // Paillier shape: Enc(0)^(p-1) ≡ 1 (mod p²)
    const q = generateBlumPrime(512);
    const r = 2n + randomBelow(p * q - 3n);
    const c0 = refPow(r, p * q, p * p);
    expect(modPow(c0, p - 1n, p * p)).to.equal(1n);
    // zero result from a non-unit base: OpenSSL refuses outright, routed modPow answers in BigInt
    const k = oddModulus(600);
    expect(modPowOpenssl(3n * k, 2n, k * k)).to.equal(0n); // (3k)^1 · 3k
    expect(() => modPowOpenssl(3n * k, 3n, k * k)).to.throw(RangeError);
    expect(modPow(3n * k, 3n, k * k)).to.equal(0n);
    expect(modPow(3n * k, 1n, k * k)).to.equal(3n * k);
  });

  it('OpenSSL route refuses inputs outside its domain (small/even modulus, base 0/1/m-1, exp ≤ 0)', () => {
    const m = oddModulus(1024);
    expect(opensslEligible(5n, 3n, oddModulus(511))).to.equal(false);
    expect(opensslEligible(5n, 3n, m + 1n)).to.equal(false);
    expect(opensslEligible(1n, 3n, m)).to.equal(false);
    expect(opensslEligible(m - 1n, 3n, m)).to.equal(false);
    expect(opensslEligible(5n, 0n, m)).to.equal(false);
    expect(() => modPowOpenssl(5n, 3n, oddModulus(256))).to.throw(RangeError);
  });

  it('BigInt route equals the reference, including 0^0, exponent 0 and tiny moduli', () => {
    for (let i = 0; i < 30; i++) {
      const m = randomBits(1 + (i * 37) % 700) + 1n;
      const b = randomBits(800) - randomBits(799);
      const e = randomBits((i * 53) % 900);
      expect(modPowBigint(b, e, m)).to.equal(refPow(b, e, m));
    }
    expect(modPowBigint(0n, 0n, 7n)).to.equal(1n);
    expect(modPowBigint(5n, 3n, 1n)).to.equal(0n);
  });

  it('modPow (routed) agrees with the reference for edge bases, even moduli, small moduli and negative exponents', () => {
    const m = oddModulus(1024);
    const cases: [bigint, bigint, bigint][] = [
      [0n, 5n, m], [1n, 5n, m], [m - 1n, 5n, m], [m - 1n, 6n, m], [m, 3n, m], [m + 2n, 3n, m], [-3n, 3n, m],
      [7n, 0n, m], [0n, 0n, m], [12345n, 1n, m], [5n, 3n, 1n], [3n, 100n, 1n << 1024n], [3n, 100n, 97n],
    ];
    for (const [b, e, mm] of cases) expect(modPow(b, e, mm)).to.equal(refPow(b, e, mm), `${b}^${e}`);
    for (let i = 0; i < 10; i++) {
      const b = randomCoprime(m);
      const e = randomBits(500);
      expect(modPow(b, -e, m)).to.equal(refPow(modInv(b, m), e, m));
      expect(mod(modPow(b, -e, m) * modPow(b, e, m), m)).to.equal(1n);
    }
    expect(() => modPow(3n, -1n, 9n)).to.throw();
    expect(() => modPow(3n, 1n, 0n)).to.throw();
  });
});

describe('mpc/bigint: wire encoding', () => {
  it('zigzag round-trips and is canonical', () => {
    for (const x of [0n, 1n, -1n, 2n, -2n, randomBits(600), -randomBits(600)]) {
      expect(zigzagDecode(zigzagEncode(x))).to.equal(x);
      expect(bigsigned({ maxBytes: 80 }).parse(signedToWire(x))).to.equal(x);
    }
    expect(zigzagEncode(-1n)).to.equal(1n);
    expect(zigzagEncode(1n)).to.equal(2n);
    expect(uintToWire(0n).length).to.equal(0);
    expect(() => bigsigned({ maxBytes: 2 }).parse(signedToWire(1n << 20n))).to.throw();
    expect(() => bigsigned({ maxBytes: 4 }).parse(new Uint8Array([0, 1]))).to.throw(); // leading zero
  });
});
