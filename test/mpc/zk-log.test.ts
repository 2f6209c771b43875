// Πlog* (CGGMP21 Fig. 25) — shared/mpc/zk/pi-log.ts. Ring-Pedersen parameters are generated once
// for this file with 1024-bit safe primes (production uses 2048; the proof's algebra is the same).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { generateRingPedersen, type RingPedersenSecret } from '../../shared/mpc/zk/ring-pedersen.js';
import { generatePaillierKeyPair, type PaillierSecretKey } from '../../shared/mpc/paillier/paillier.js';
import {
  LOG_STAR_ELL, LOG_STAR_EPSILON, LogStarProofSchema, encodeLogStarProof, proveLogStar, verifyLogStar, type LogStarProof,
} from '../../shared/mpc/zk/pi-log.js';
import { CURVE_ORDER, G, mulBase, randomScalar } from '../../shared/mpc/ecdsa/curve.js';
import { modPow } from '../../shared/mpc/bigint/modarith.js';
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import * as s from '../../shared/schema.js';

describe('mpc/zk/pi-log — Πlog* (knowledge of exponent vs Paillier encryption)', function () {
  this.timeout(120_000);
  let aux: RingPedersenSecret;
  let sk: PaillierSecretKey;
  const ctx = { sessionId: new Uint8Array(randomBytes(32)), prover: 1, label: 'test/c_key' };
  const x = randomScalar();
  const X = mulBase(x);
  let C: bigint;
  let rho: bigint;
  let proof: LogStarProof;

  before(() => {
    aux = generateRingPedersen(1024);
    sk = generatePaillierKeyPair(2048).secretKey;
    ({ c: C, r: rho } = sk.encrypt(x));
    proof = proveLogStar({ paillier: sk.publicKey, C, X }, { x, rho }, aux.params, ctx);
  });

  const st = () => ({ paillier: sk.publicKey, C, X });

  it('an honest proof verifies, also after CBOR encoding and strict parsing', () => {
    expect(verifyLogStar(st(), aux.params, proof, ctx)).to.equal(true);
    const back = s.parse(LogStarProofSchema, decodeCbor(encodeCbor(encodeLogStarProof(proof))));
    expect(back.z1).to.equal(proof.z1);
    expect(back.z3).to.equal(proof.z3);
    expect(verifyLogStar(st(), aux.params, back, ctx)).to.equal(true);
  });

  it('rejects a ciphertext of a different value (the discrete log of X is not inside)', () => {
    const other = sk.encrypt(x + 1n);
    expect(verifyLogStar({ ...st(), C: other.c }, aux.params, proof, ctx)).to.equal(false);
    // Even a fully honest proof about the wrong plaintext cannot be made to verify against X.
    const lying = proveLogStar({ paillier: sk.publicKey, C: other.c, X }, { x: x + 1n, rho: other.r }, aux.params, ctx);
    expect(verifyLogStar({ ...st(), C: other.c }, aux.params, lying, ctx)).to.equal(false);
  });

  it('rejects a different point, session, prover, label or verifier parameters', () => {
    expect(verifyLogStar({ ...st(), X: mulBase(x + 1n) }, aux.params, proof, ctx)).to.equal(false);
    expect(verifyLogStar(st(), aux.params, proof, { ...ctx, sessionId: new Uint8Array(32) })).to.equal(false);
    expect(verifyLogStar(st(), aux.params, proof, { ...ctx, prover: 2 })).to.equal(false);
    expect(verifyLogStar(st(), aux.params, proof, { ...ctx, label: 'other' })).to.equal(false);
    expect(verifyLogStar(st(), { ...aux.params, s: aux.params.t, t: aux.params.s }, proof, ctx)).to.equal(false);
  });

  it('rejects every tampered field', () => {
    const N0 = sk.publicKey.n;
    const tampered: Partial<LogStarProof>[] = [
      { S: (proof.S * aux.params.t) % aux.params.N },
      { A: (proof.A * modPow(2n, N0, sk.publicKey.nSquared)) % sk.publicKey.nSquared },
      { Y: G.multiply(5n).toBytes(true) },
      { D: (proof.D * aux.params.s) % aux.params.N },
      { z1: proof.z1 + 1n },
      { z2: (proof.z2 * 2n) % N0 },
      { z3: proof.z3 + 1n },
    ];
    for (const t of tampered) expect(verifyLogStar(st(), aux.params, { ...proof, ...t }, ctx), Object.keys(t)[0]).to.equal(false);
  });

  it('enforces the range check z1 ∈ ±2^(ℓ+ε) and unit checks on group elements', () => {
    const bound = 1n << BigInt(LOG_STAR_ELL + LOG_STAR_EPSILON);
    expect(verifyLogStar(st(), aux.params, { ...proof, z1: bound + 1n }, ctx)).to.equal(false);
    expect(verifyLogStar(st(), aux.params, { ...proof, z1: -bound - 1n }, ctx)).to.equal(false);
    expect(verifyLogStar(st(), aux.params, { ...proof, z2: 0n }, ctx)).to.equal(false);
    expect(verifyLogStar(st(), aux.params, { ...proof, z2: sk.p }, ctx)).to.equal(false);
    expect(verifyLogStar(st(), aux.params, { ...proof, A: 0n }, ctx)).to.equal(false);
    expect(verifyLogStar(st(), aux.params, { ...proof, S: aux.params.N }, ctx)).to.equal(false);
    expect(verifyLogStar(st(), aux.params, { ...proof, D: 0n }, ctx)).to.equal(false);
    expect(verifyLogStar({ ...st(), C: sk.p }, aux.params, proof, ctx)).to.equal(false);
    expect(verifyLogStar(st(), aux.params, { ...proof, Y: new Uint8Array(33) }, ctx)).to.equal(false);
  });

  it('a witness congruent mod q but out of the claimed range is refused by the prover', () => {
    expect(() => proveLogStar(st(), { x: x + CURVE_ORDER * 2n ** 8n, rho }, aux.params, ctx)).to.throw();
    expect(() => proveLogStar(st(), { x: -1n, rho }, aux.params, ctx)).to.throw();
  });
});
