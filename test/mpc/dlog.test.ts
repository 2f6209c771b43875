// Schnorr proof of knowledge over secp256k1 (shared/mpc/zk/dlog.ts) and the hash commitment it is
// committed with in keygen/signing (shared/mpc/commitment.ts).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { DlogProofSchema, proveDlog, verifyDlog } from '../../shared/mpc/zk/dlog.js';
import { commit, verifyCommitment } from '../../shared/mpc/commitment.js';
import { CURVE_ORDER, G, mulBase, randomScalar, scalarToBytes } from '../../shared/mpc/ecdsa/curve.js';
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import * as s from '../../shared/schema.js';

const ctx = { sessionId: new Uint8Array(randomBytes(32)), prover: 1, label: 'test/X' };

describe('mpc/zk/dlog — Schnorr PoK over secp256k1', () => {
  const x = randomScalar();
  const X = mulBase(x);
  const proof = proveDlog(x, X, ctx);

  it('an honest proof verifies, also after a CBOR round trip through its schema', () => {
    expect(verifyDlog(X, proof, ctx)).to.equal(true);
    const back = s.parse(DlogProofSchema, decodeCbor(encodeCbor(proof)));
    expect(verifyDlog(X, back, ctx)).to.equal(true);
  });

  it('is bound to the statement, session, prover and label', () => {
    expect(verifyDlog(mulBase(x + 1n), proof, ctx)).to.equal(false);
    expect(verifyDlog(X, proof, { ...ctx, sessionId: new Uint8Array(32) })).to.equal(false);
    expect(verifyDlog(X, proof, { ...ctx, prover: 2 })).to.equal(false);
    expect(verifyDlog(X, proof, { ...ctx, label: 'test/Y' })).to.equal(false);
  });

  it('rejects tampered responses and commitments', () => {
    const z = BigInt('0x' + Buffer.from(proof.z).toString('hex'));
    expect(verifyDlog(X, { ...proof, z: scalarToBytes((z + 1n) % CURVE_ORDER) }, ctx)).to.equal(false);
    // z ≥ q is not canonical even if it would reduce to the right value.
    const big = z + CURVE_ORDER < 2n ** 256n ? z + CURVE_ORDER : undefined;
    if (big !== undefined) expect(verifyDlog(X, { ...proof, z: new Uint8Array(Buffer.from(big.toString(16).padStart(64, '0'), 'hex')) }, ctx)).to.equal(false);
    expect(verifyDlog(X, { ...proof, z: new Uint8Array(32) }, ctx)).to.equal(false);
    expect(verifyDlog(X, { ...proof, A: G.multiply(7n).toBytes(true) }, ctx)).to.equal(false);
    const notOnCurve = new Uint8Array(proof.A);
    notOnCurve[0] = 0x05;
    expect(verifyDlog(X, { ...proof, A: notOnCurve }, ctx)).to.equal(false);
    expect(verifyDlog(X, { ...proof, A: new Uint8Array(33) }, ctx)).to.equal(false);
  });

  it('a proof for another secret with the same commitment does not transfer', () => {
    const other = proveDlog(x + 1n, mulBase(x + 1n), ctx);
    expect(verifyDlog(X, { A: other.A, z: proof.z }, ctx)).to.equal(false);
    expect(verifyDlog(X, other, ctx)).to.equal(false);
  });
});

describe('mpc/commitment — salted hash commitments', () => {
  const cctx = { sessionId: ctx.sessionId, party: 1, label: 'test/commit' };
  const items = [new Uint8Array([1, 2, 3]), new Uint8Array([4])];

  it('opens with the same salt and items, and hides behind fresh salt', () => {
    const c = commit(cctx, items);
    expect(verifyCommitment(cctx, c.commitment, c.salt, items)).to.equal(true);
    const c2 = commit(cctx, items);
    expect(Buffer.from(c2.commitment).equals(Buffer.from(c.commitment))).to.equal(false);
  });

  it('binds items, their boundaries, salt, party, label and session', () => {
    const c = commit(cctx, items);
    expect(verifyCommitment(cctx, c.commitment, c.salt, [new Uint8Array([1, 2]), new Uint8Array([3, 4])])).to.equal(false);
    expect(verifyCommitment(cctx, c.commitment, c.salt, [new Uint8Array([1, 2, 3, 4])])).to.equal(false);
    const salt = new Uint8Array(c.salt);
    salt[0]! ^= 1;
    expect(verifyCommitment(cctx, c.commitment, salt, items)).to.equal(false);
    expect(verifyCommitment({ ...cctx, party: 2 }, c.commitment, c.salt, items)).to.equal(false);
    expect(verifyCommitment({ ...cctx, label: 'other' }, c.commitment, c.salt, items)).to.equal(false);
    expect(verifyCommitment({ ...cctx, sessionId: new Uint8Array(32) }, c.commitment, c.salt, items)).to.equal(false);
    expect(verifyCommitment(cctx, c.commitment.subarray(1), c.salt, items)).to.equal(false);
  });
});
