// Every exponentiation with a secret exponent, base or modulus runs on OpenSSL's constant-time route
// or not at all (issue 7 item 8; shared/mpc/bigint/secret-modpow.ts; the list is in docs/mpc.md
// "Secret exponents"). With the start-up self-test failed (the BigInt fallback active), each of
// them refuses with CRYPTO_SELF_TEST_FAILED, while verifiers, which only handle public values,
// keep working. The helpers' results are checked against plain BigInt.
import { expect } from 'chai';
import { bitLength, modPow, modPowBigint, modPowImplementation, randomBelow, randomBits, randomCoprime, runModPowSelfTest } from '../../shared/mpc/bigint/modarith.js';
import { liftExponent, modPowSecret, modPowSecretSigned } from '../../shared/mpc/bigint/secret-modpow.js';
import { generatePaillierKeyPair, PaillierSecretKey, type PaillierPublicKey } from '../../shared/mpc/paillier/paillier.js';
import { generateRingPedersen, proveRingPedersen, verifyRingPedersen, type RingPedersenSecret } from '../../shared/mpc/zk/ring-pedersen.js';
import { proveModulus, verifyModulus } from '../../shared/mpc/zk/pi-mod.js';
import { proveNoSmallFactors, verifyNoSmallFactors } from '../../shared/mpc/zk/pi-fac.js';
import { proveLogStar, verifyLogStar } from '../../shared/mpc/zk/pi-log.js';
import { freshRandomizer } from '../../shared/mpc/ecdsa/randomizer-pool.js';
import { CURVE_ORDER, mulBase, randomScalar } from '../../shared/mpc/ecdsa/curve.js';
import type { ProofContext } from '../../shared/mpc/zk/context.js';
import { expectCosignerError } from '../support/expect-error.js';

const words = (x: bigint): number => Math.ceil(bitLength(x) / 64);
const ctx: ProofContext = { sessionId: new Uint8Array(32).fill(9), prover: 1, label: 'secret-exponents' };

describe('mpc/bigint — secret exponents take the constant-time route or none', function () {
  this.timeout(180_000);

  describe('the helpers', () => {
    it('liftExponent keeps the value modulo the period and fixes the 64-bit word count', () => {
      const periods = [CURVE_ORDER, (1n << 1023n) + 12345n, (1n << 2047n) - 1n, (1n << 32n) - 5n, randomBits(2048) | (1n << 2047n)];
      for (const P of periods) {
        const lifted = [0n, 1n, P - 1n, P, 5n * P + 3n, ...Array.from({ length: 20 }, () => randomBelow(P))].map((e) => [e, liftExponent(e, P)] as const);
        for (const [e, l] of lifted) expect(l % P).to.equal(e % P);
        expect(new Set(lifted.map(([, l]) => words(l))).size, `word counts for a ${bitLength(P)}-bit period`).to.equal(1);
      }
    });

    it('modPowSecret equals BigInt exponentiation, with and without a period, on moduli below and above 512 bits', () => {
      const { secretKey } = generatePaillierKeyPair(1024);
      const p = secretKey.p;
      for (const m of [p, p * p, secretKey.publicKey.nSquared, 1000003n * 999983n]) {
        for (let i = 0; i < 5; i++) {
          const b = 2n + randomBelow(m - 4n);
          const e = randomBelow(m);
          expect(modPowSecret(b, e, m, { what: 'test' })).to.equal(modPowBigint(b, e, m));
        }
      }
      const y = randomCoprime(p);
      const e = randomBelow(p - 1n);
      expect(modPowSecret(y, e, p, { what: 'test', period: p - 1n })).to.equal(modPowBigint(y, e, p));
      expect(modPowSecret(1n, e, p, { what: 'test' })).to.equal(1n);
      expect(modPowSecret(p - 1n, 3n, p, { what: 'test' })).to.equal(p - 1n);
    });

    it('modPowSecretSigned equals BigInt exponentiation for negative, zero and positive exponents', () => {
      const { publicKey } = generatePaillierKeyPair(1024);
      const N = publicKey.n;
      const base = randomCoprime(N);
      for (const e of [0n, 1n, -1n, (1n << 300n) - 1n, -((1n << 300n) - 1n), ...Array.from({ length: 6 }, () => randomBits(300) - (1n << 299n))]) {
        expect(modPowSecretSigned(base, e, N, { what: 'test', bits: 300 })).to.equal(modPow(base, e, N));
      }
      expectCosignerError(() => modPowSecretSigned(base, 1n << 300n, N, { what: 'test', bits: 300 }), 'INTERNAL');
    });
  });

  describe('with the OpenSSL route unavailable', () => {
    let rp: RingPedersenSecret;
    let sk: PaillierSecretKey;
    let pk: PaillierPublicKey;
    let encoded: Uint8Array;
    let prm: ReturnType<typeof proveRingPedersen>;
    let modProof: ReturnType<typeof proveModulus>;
    let fac: ReturnType<typeof proveNoSmallFactors>;
    let logStar: ReturnType<typeof proveLogStar>;
    let logStatement: Parameters<typeof proveLogStar>[0];
    let c: bigint;
    const x = randomScalar();

    before(() => {
      expect(runModPowSelfTest({ force: true })).to.equal(true);
      rp = generateRingPedersen(1024);
      sk = generatePaillierKeyPair(2048).secretKey;
      pk = sk.publicKey;
      encoded = sk.encode();
      prm = proveRingPedersen(rp, ctx);
      modProof = proveModulus(sk, ctx);
      fac = proveNoSmallFactors(sk, rp.params, ctx);
      const enc = sk.encrypt(x);
      c = enc.c;
      logStatement = { paillier: pk, C: enc.c, X: mulBase(x) };
      logStar = proveLogStar(logStatement, { x, rho: enc.r }, rp.params, ctx);
      // A broken OpenSSL candidate fails the self-test: the BigInt fallback is active.
      expect(runModPowSelfTest({ force: true, candidate: () => 0n })).to.equal(false);
      expect(modPowImplementation()).to.equal('bigint');
    });

    after(() => {
      expect(runModPowSelfTest({ force: true })).to.equal(true);
    });

    const refuses = (fn: () => unknown): void => void expectCosignerError(fn, 'CRYPTO_SELF_TEST_FAILED', /refusing to /);

    it('refuses P2\'s Πprm prover (the a_i mask λ) and ring-Pedersen generation (s = t^λ)', () => {
      refuses(() => proveRingPedersen(rp, ctx));
      refuses(() => generateRingPedersen(512));
    });

    it('refuses P1\'s Paillier decryption, secret-key encryption and loading a secret key', () => {
      refuses(() => sk.decrypt(c));
      refuses(() => sk.encrypt(5n));
      refuses(() => PaillierSecretKey.decode(encoded));
    });

    it('refuses encryption with secret randomness under a public key, and P2\'s randomizer r^N', () => {
      refuses(() => pk.encrypt(5n));
      refuses(() => freshRandomizer(pk));
    });

    it('refuses P1\'s Πmod, Πfac and Πlog* provers', () => {
      refuses(() => proveModulus(sk, ctx));
      refuses(() => proveNoSmallFactors(sk, rp.params, ctx));
      const enc = { c, r: randomCoprime(pk.n) };
      refuses(() => proveLogStar({ ...logStatement, C: enc.c }, { x, rho: enc.r }, rp.params, ctx));
    });

    it('still verifies every proof (verifiers see only public values)', () => {
      verifyRingPedersen(rp.params, prm, ctx, { minBits: 1024 });
      verifyModulus(pk.n, modProof, ctx);
      verifyNoSmallFactors(pk.n, rp.params, fac, ctx, { minAuxBits: 1024 });
      expect(verifyLogStar(logStatement, rp.params, logStar, ctx)).to.equal(true);
    });
  });

  it('the proofs made on the constant-time route verify (lifted and offset exponents change no result)', () => {
    expect(runModPowSelfTest({ force: true })).to.equal(true);
    const rp = generateRingPedersen(1024);
    const sk = generatePaillierKeyPair(2048).secretKey;
    verifyRingPedersen(rp.params, proveRingPedersen(rp, ctx), ctx, { minBits: 1024 });
    verifyModulus(sk.publicKey.n, proveModulus(sk, ctx), ctx);
    verifyNoSmallFactors(sk.publicKey.n, rp.params, proveNoSmallFactors(sk, rp.params, ctx), ctx, { minAuxBits: 1024 });
    const m = randomBelow(sk.publicKey.n);
    expect(sk.decrypt(sk.encrypt(m).c)).to.equal(m);
    expect(sk.decrypt(sk.publicKey.encrypt(m).c)).to.equal(m);
  });
});
