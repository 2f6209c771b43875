// secp256k1 multiplication helpers of the two-party ECDSA engine (shared/mpc/ecdsa/curve.ts):
// the precomputed-G paths (constant-time blinded for secrets, table for public scalars), the
// per-key tables used to verify signatures, and SEC 1 verification on top of them, all compared
// with @noble/curves computing the same values its own way.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  CURVE_ORDER, KEY_TABLE_AFTER_USES, KEY_TABLE_KEYS, Point, invQ, keyTableBuilt, keyWithTable, modQ, mulBase, mulBasePublic,
  publicCombination, randomScalar,
} from '../../shared/mpc/ecdsa/curve.js';
import { finalizeSignature, verifyAndRecoverR } from '../../shared/mpc/ecdsa/signature.js';

const q = CURVE_ORDER;
const G = secp256k1.Point.BASE;
const edge = [1n, 2n, 3n, q - 1n, q - 2n, (q - 1n) / 2n, (q + 1n) / 2n, 2n ** 128n - 1n, 2n ** 128n, 2n ** 255n];
const scalars = [...edge, ...Array.from({ length: 12 }, () => randomScalar())];

/** Reference a·G + b·P with noble's own (table-less for P) multiplications. */
function reference(a: bigint, P: Point, b: bigint): Point {
  const aa = modQ(a);
  const bb = modQ(b);
  const left = aa === 0n ? Point.ZERO : G.multiplyUnsafe(aa);
  return bb === 0n ? left : left.add(P.multiplyUnsafe(bb));
}

/** A fresh random public key that no other test has used. */
function freshKey(): Point {
  return G.multiply(randomScalar());
}

/** Textbook ECDSA (SEC 1 §4.1.3) with noble's points, so the verifier under test meets foreign signatures. */
function ecdsaSign(d: bigint, m: bigint): { r: bigint; s: bigint } {
  const k = randomScalar();
  const r = modQ(G.multiply(k).toAffine().x);
  return { r, s: modQ(invQ(k) * (m + r * d)) };
}

describe('mpc/ecdsa/curve — precomputed multiplication', () => {
  it('mulBase (constant time, blinded) equals k·G for edge and random scalars, and refuses 0 and q', () => {
    for (const k of scalars) {
      expect(mulBase(k).equals(G.multiply(k)), `k = ${k}`).to.equal(true);
      expect(Buffer.from(mulBase(k).toBytes(true)).equals(Buffer.from(G.multiply(k).toBytes(true)))).to.equal(true);
    }
    expect(mulBase(5n).equals(mulBase(6n))).to.equal(false);
    expect(() => mulBase(0n)).to.throw();
    expect(() => mulBase(q)).to.throw();
  });

  it('mulBasePublic equals a·G, and 0·G is the identity', () => {
    for (const a of scalars) expect(mulBasePublic(a).equals(G.multiply(a)), `a = ${a}`).to.equal(true);
    expect(mulBasePublic(0n).is0()).to.equal(true);
  });

  it('publicCombination a·G + b·P matches noble for plain points, including 0, negative and unreduced scalars', () => {
    const P = freshKey();
    const cases: [bigint, bigint][] = [[0n, 5n], [5n, 0n], [0n, 0n], [q + 7n, -3n], [-1n, q - 1n], [3n, -3n]];
    for (let i = 0; i < scalars.length; i++) cases.push([scalars[i]!, scalars[scalars.length - 1 - i]!]);
    for (const [a, b] of cases) expect(publicCombination(a, P, b).equals(reference(a, P, b)), `a = ${a}, b = ${b}`).to.equal(true);
    // a·G − a·G: the identity comes out as such.
    expect(publicCombination(7n, G, -7n).is0()).to.equal(true);
  });

  it(`a key gets its table once used ${KEY_TABLE_AFTER_USES} times, and multiplications with it still match noble`, () => {
    const Q = freshKey();
    for (let i = 1; i < KEY_TABLE_AFTER_USES; i++) {
      expect(keyWithTable(Q).equals(Q)).to.equal(true);
      expect(keyTableBuilt(Q)).to.equal(false);
    }
    const T = keyWithTable(Q);
    expect(keyTableBuilt(Q)).to.equal(true);
    expect(T.equals(Q)).to.equal(true);
    // A copy decoded from bytes finds the same entry: tables follow the key, not the object.
    expect(keyWithTable(Point.fromBytes(Q.toBytes(true)))).to.equal(T);
    for (const b of scalars) {
      const a = randomScalar();
      expect(publicCombination(a, T, b).equals(reference(a, Q, b)), `b = ${b}`).to.equal(true);
    }
    expect(publicCombination(1n, T, 0n).equals(G)).to.equal(true);
    expect(publicCombination(0n, T, 1n).equals(Q)).to.equal(true);
  });

  it(`keeps tables for the ${KEY_TABLE_KEYS} most recently used keys only`, () => {
    const first = freshKey();
    for (let i = 0; i < KEY_TABLE_AFTER_USES; i++) keyWithTable(first);
    expect(keyTableBuilt(first)).to.equal(true);
    for (let i = 0; i < KEY_TABLE_KEYS - 1; i++) keyWithTable(freshKey());
    expect(keyTableBuilt(first)).to.equal(true); // still among the most recent
    keyWithTable(freshKey());
    expect(keyTableBuilt(first)).to.equal(false); // evicted
    expect(keyWithTable(first).equals(first)).to.equal(true); // and simply counted afresh
  });

  it('SEC 1 verification and recovery agree with noble before and after a key has its table', () => {
    const d = randomScalar();
    const Q = G.multiply(d);
    for (let i = 0; i < KEY_TABLE_AFTER_USES + 3; i++) {
      const hash = new Uint8Array(randomBytes(32));
      const m = modQ(BigInt('0x' + Buffer.from(hash).toString('hex')));
      const { r, s } = ecdsaSign(d, m);
      const sig = finalizeSignature(m, r, s, Q);
      expect(sig, `run ${i}`).to.not.equal(undefined);
      expect(secp256k1.verify(sig!.toCompact(), hash, Q.toBytes(true), { prehash: false, lowS: true })).to.equal(true);
      const recovered = new secp256k1.Signature(sig!.r, sig!.s, sig!.recoveryId).recoverPublicKey(hash);
      expect(recovered.equals(Q)).to.equal(true);
      expect(verifyAndRecoverR(m, r, modQ(s + 1n), Q)).to.equal(undefined);
      expect(verifyAndRecoverR(m + 1n, r, s, Q)).to.equal(undefined);
      expect(verifyAndRecoverR(m, r, s, G.multiply(d + 1n))).to.equal(undefined);
    }
    expect(keyTableBuilt(Q)).to.equal(true);
  });
});
