// Schnorr proof of knowledge over secp256k1 (shared/mpc/zk/dlog.ts) and the hash commitment it is
// committed with in keygen/signing (shared/mpc/commitment.ts).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { DlogProofSchema, proveDlog, verifyDlog } from '../../shared/mpc/zk/dlog.js';
import { commit, verifyCommitment } from '../../shared/mpc/commitment.js';
import { CURVE_ORDER, G, modQ, mulBase, randomScalar, scalarToBytes } from '../../shared/mpc/ecdsa/curve.js';
import { proofTranscript } from '../../shared/mpc/zk/context.js';
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
    // −A (the other y parity of the same x) is a valid point but not the commitment: refused.
    const negated = new Uint8Array(proof.A);
    negated[0] = negated[0] === 0x02 ? 0x03 : 0x02;
    expect(verifyDlog(X, { ...proof, A: negated }, ctx)).to.equal(false);
    // An uncompressed or truncated encoding of the right point is not the 33-byte commitment either.
    const Afull = secp256k1.Point.fromBytes(proof.A).toBytes(false);
    expect(verifyDlog(X, { ...proof, A: Afull }, ctx)).to.equal(false);
    expect(verifyDlog(X, { ...proof, A: proof.A.subarray(0, 32) }, ctx)).to.equal(false);
  });

  it('checks the whole of A, y parity included: a response that opens −A is refused', () => {
    const a = randomScalar();
    const A = mulBase(a).toBytes(true);
    // The challenge as dlog.ts derives it (this also pins the transcript layout).
    const e = proofTranscript('nitro-cosigner/zk/dlog-secp256k1/v1', ctx)
      .appendBytes('X', X.toBytes(true))
      .appendBytes('A', A)
      .challengeScalars('e', CURVE_ORDER, 1)[0]!;
    expect(verifyDlog(X, { A, z: scalarToBytes(modQ(a + e * x)) }, ctx)).to.equal(true);
    // z' = e·x − a gives z'·G − e·X = −A: same x-coordinate as A, opposite parity.
    expect(verifyDlog(X, { A, z: scalarToBytes(modQ(e * x - a)) }, ctx)).to.equal(false);
  });

  it('proofs made by the constant-time prover verify for edge-case secrets, and only for their own statement', () => {
    for (const w of [1n, 2n, CURVE_ORDER - 1n, CURVE_ORDER - 2n, 2n ** 255n]) {
      const W = G.multiply(w);
      const p = proveDlog(w, W, ctx);
      expect(verifyDlog(W, p, ctx), `w = ${w}`).to.equal(true);
      expect(verifyDlog(W.negate(), p, ctx)).to.equal(false);
    }
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
