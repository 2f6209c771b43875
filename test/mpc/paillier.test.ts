import { generatePrimeSync } from 'node:crypto';
import { expect } from 'chai';
import {
  checkPaillierModulusShape, generatePaillierKeyPair, PaillierPublicKey, PaillierSecretKey,
} from '../../shared/mpc/paillier/paillier.js';
import { generateBlumPrime, mod, modInv, modPowBigint, randomBelow, randomBits, randomCoprime } from '../../shared/mpc/bigint/modarith.js';
import { encodeCbor, decodeCbor } from '../../shared/cbor.js';
import type { ErrorCode } from '../../shared/errors.js';
import { expectCosignerError } from '../support/expect-error.js';

function expectCode(fn: () => unknown, code: ErrorCode): void {
  expectCosignerError(fn, code);
}

describe('mpc/paillier', function () {
  this.timeout(60_000);
  const { publicKey: pk, secretKey: sk } = generatePaillierKeyPair(2048);
  const n = pk.n;

  it('generates a 2048-bit Paillier–Blum modulus that passes the shape check', () => {
    expect(n.toString(2).length).to.equal(2048);
    expect(sk.p % 4n).to.equal(3n);
    expect(sk.q % 4n).to.equal(3n);
    expect(sk.p * sk.q).to.equal(n);
    checkPaillierModulusShape(n);
  });

  it('encrypts to the textbook formula and decrypts (CRT) back', () => {
    const m = randomBelow(n);
    const { c, r } = pk.encrypt(m);
    const textbook = (modPowBigint(n + 1n, m, n * n) * modPowBigint(r, n, n * n)) % (n * n);
    expect(c).to.equal(textbook);
    expect(sk.decrypt(c)).to.equal(m);
    // textbook decryption with λ = φ(N), μ = φ⁻¹ mod N agrees with the CRT one
    const u = modPowBigint(c, sk.phi, n * n);
    expect(mod(((u - 1n) / n) * modInv(sk.phi, n), n)).to.equal(m);
  });

  it('secret-key (CRT) encryption matches public-key encryption for the same r', () => {
    for (let i = 0; i < 3; i++) {
      const m = randomBelow(n);
      const r = randomCoprime(n);
      expect(sk.encryptWith(m, r)).to.equal(pk.encryptWith(m, r));
      expect(sk.decrypt(sk.encrypt(m).c)).to.equal(m);
    }
  });

  it('is additively homomorphic, with negative scalars and plaintexts taken mod N', () => {
    const a = randomBelow(n), b = randomBelow(n), k = randomBits(300);
    const ca = pk.encrypt(a).c, cb = pk.encrypt(b).c;
    expect(sk.decrypt(pk.add(ca, cb))).to.equal((a + b) % n);
    expect(sk.decrypt(pk.mul(ca, k))).to.equal((a * k) % n);
    expect(sk.decrypt(pk.mul(ca, -k))).to.equal(mod(-a * k, n));
    expect(sk.decrypt(pk.mul(ca, 0n))).to.equal(0n);
    expect(sk.decrypt(pk.encrypt(-5n).c)).to.equal(n - 5n);
    expect(sk.decryptSigned(pk.encrypt(-5n).c)).to.equal(-5n);
    expect(sk.decryptSigned(pk.encrypt(n + 7n).c)).to.equal(7n);
    expect(sk.decryptSigned(pk.encrypt((n - 1n) / 2n).c)).to.equal((n - 1n) / 2n);
    expect(sk.decryptSigned(pk.encrypt((n + 1n) / 2n).c)).to.equal(-(n - 1n) / 2n);
  });

  it('rejects invalid ciphertexts and randomness', () => {
    expect(pk.isValidCiphertext(0n)).to.equal(false);
    expect(pk.isValidCiphertext(n * n)).to.equal(false);
    expect(pk.isValidCiphertext(sk.p * 12345n)).to.equal(false);
    expect(pk.isValidCiphertext(pk.encrypt(1n).c)).to.equal(true);
    expectCode(() => sk.decrypt(0n), 'MPC_INVALID_MESSAGE');
    expectCode(() => sk.decrypt(n * n + 1n), 'MPC_INVALID_MESSAGE');
    expectCode(() => sk.decrypt(sk.q * 3n), 'MPC_INVALID_MESSAGE');
    expectCode(() => pk.add(0n, 1n), 'MPC_INVALID_MESSAGE');
    expectCode(() => pk.mul(n * n, 2n), 'MPC_INVALID_MESSAGE');
    expectCode(() => pk.mul(sk.p, -1n), 'MPC_NOT_INVERTIBLE');
    expectCode(() => pk.encryptWith(1n, 0n), 'MPC_INVALID_MESSAGE');
    expectCode(() => pk.encryptWith(1n, n), 'MPC_INVALID_MESSAGE');
    expectCode(() => pk.encryptWith(1n, sk.q), 'MPC_INVALID_MESSAGE');
    expectCode(() => new PaillierPublicKey(n + 1n), 'MPC_INVALID_KEY');
    expectCode(() => new PaillierPublicKey(1n << 5000n | 1n), 'MPC_INVALID_KEY');
  });

  it('encode/decode round-trips and decode re-validates', () => {
    const bytes = sk.encode();
    const back = PaillierSecretKey.decode(bytes);
    expect(back.p).to.equal(sk.p);
    expect(back.q).to.equal(sk.q);
    const c = pk.encrypt(42n).c;
    expect(back.decrypt(c)).to.equal(42n);
    expect(JSON.stringify(sk)).to.not.include(sk.p.toString());

    const wire = decodeCbor(bytes) as { v: number; p: Uint8Array; q: Uint8Array };
    const garbage: Uint8Array[] = [
      new Uint8Array([1, 2, 3]),
      new Uint8Array(0),
      encodeCbor({ v: 2, p: wire.p, q: wire.q }),
      encodeCbor({ v: 1, p: wire.p }),
      encodeCbor({ v: 1, p: wire.p, q: wire.p }), // p = q
      encodeCbor({ v: 1, p: wire.p, q: wire.q, extra: 1 }),
      encodeCbor({ v: 1, p: wire.p, q: Uint8Array.from([...wire.q.slice(0, -1), wire.q[wire.q.length - 1]! ^ 2]) }), // q+-2: not prime
    ];
    // a prime ≡ 1 mod 4 is refused (not Paillier–Blum)
    const p1 = generatePrimeSync(1024, { bigint: true, add: 4n, rem: 1n });
    garbage.push(encodeCbor({ v: 1, p: wire.p, q: hexBytes(p1) }));
    for (const g of garbage) expectCode(() => PaillierSecretKey.decode(g), 'SEALED_STATE_INVALID');
  });

  it('the shape check rejects even, short, long, prime, square and small-factor moduli', () => {
    const { p, q } = sk;
    expectCode(() => checkPaillierModulusShape(n + 1n), 'MPC_INVALID_KEY');
    expectCode(() => checkPaillierModulusShape(n >> 2n), 'MPC_INVALID_KEY');
    expectCode(() => checkPaillierModulusShape(n * n * n), 'MPC_INVALID_KEY');
    const bigPrime = generateBlumPrime(2048);
    expectCode(() => checkPaillierModulusShape(bigPrime), 'MPC_INVALID_KEY');
    expectCode(() => checkPaillierModulusShape(p * p), 'MPC_INVALID_KEY');
    expectCode(() => checkPaillierModulusShape(65521n * generateBlumPrime(2040)), 'MPC_INVALID_KEY');
    expectCode(() => checkPaillierModulusShape(3n * p * q), 'MPC_INVALID_KEY');
    // with a lower minimum a smaller honest modulus passes
    checkPaillierModulusShape(generatePaillierKeyPair(1024).publicKey.n, 1024);
  });
});

function hexBytes(x: bigint): Uint8Array {
  let h = x.toString(16);
  if (h.length % 2) h = '0' + h;
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

