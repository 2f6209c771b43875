// Πprm (CGGMP21 Fig. 17) and ring-Pedersen parameter generation. The parameters are generated
// once for the file at 1024 bits (two 512-bit safe primes) to keep the suite fast; production
// uses RING_PEDERSEN_DEFAULT_BITS = 2048, which the verifier enforces by default.
import { expect } from 'chai';
import {
  PRM_REPETITIONS, PrmProofSchema, RING_PEDERSEN_DEFAULT_BITS, RingPedersenParamsSchema, encodePrmProof, encodeRingPedersenParams,
  generateRingPedersen, proveRingPedersen, verifyRingPedersen, type PrmProof, type RingPedersenParams,
} from '../../shared/mpc/zk/ring-pedersen.js';
import { gcd, isProbablePrime, jacobi, mod, modPow, randomBelow, randomCoprime } from '../../shared/mpc/bigint/modarith.js';
import { proofTranscript, type ProofContext } from '../../shared/mpc/zk/context.js';
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import * as s from '../../shared/schema.js';
import type { ErrorCode } from '../../shared/errors.js';
import { expectCosignerError } from '../support/expect-error.js';

function expectCode(fn: () => unknown, code: ErrorCode = 'MPC_PROOF_FAILED'): string {
  return expectCosignerError(fn, code).message;
}

const TEST_BITS = 1024;
const opts = { minBits: TEST_BITS };
const ctx: ProofContext = { sessionId: new Uint8Array(32).fill(3), prover: 2, label: 'aux' };

function clone(p: PrmProof): PrmProof {
  return { A: [...p.A], z: [...p.z] };
}

describe('mpc/zk: ring-Pedersen parameters and Πprm (CGGMP21 Fig. 17)', function () {
  this.timeout(120_000);
  const secret = generateRingPedersen(TEST_BITS);
  const { N, s: sv, t } = secret.params;
  const honest = proveRingPedersen(secret, ctx);

  it('generates N̂ = p̂q̂ from safe primes with t a square and s = t^λ', () => {
    expect(N.toString(2).length).to.equal(TEST_BITS);
    expect(secret.p * secret.q).to.equal(N);
    for (const p of [secret.p, secret.q]) {
      expect(isProbablePrime(p)).to.equal(true);
      expect(isProbablePrime((p - 1n) / 2n)).to.equal(true);
    }
    expect(secret.phi).to.equal((secret.p - 1n) * (secret.q - 1n));
    expect(modPow(t, secret.lambda, N)).to.equal(sv);
    expect(jacobi(t, secret.p)).to.equal(1);
    expect(jacobi(t, secret.q)).to.equal(1);
    expect(RING_PEDERSEN_DEFAULT_BITS).to.equal(2048);
  });

  it('accepts an honest proof after a CBOR round trip of params and proof', () => {
    const params = s.parse(RingPedersenParamsSchema, decodeCbor(encodeCbor(encodeRingPedersenParams(secret.params))));
    const proof = s.parse(PrmProofSchema, decodeCbor(encodeCbor(encodePrmProof(honest))));
    expect(proof.A.length).to.equal(PRM_REPETITIONS);
    expect(PRM_REPETITIONS).to.equal(128);
    verifyRingPedersen(params, proof, ctx, opts);
  });

  it('refuses a correct proof made with CGGMP21\'s 80 repetitions (2^-80 soundness is below the system\'s 128 bits)', () => {
    const a = Array.from({ length: 80 }, () => randomBelow(secret.phi));
    const A = a.map((ai) => modPow(t, ai, N));
    const tr = proofTranscript('nitro-cosigner/zk/pi-prm/v1', ctx).appendBigint('m', 80n).appendBigint('N', N).appendBigint('s', sv).appendBigint('t', t);
    A.forEach((x, i) => tr.appendBigint(`A${i}`, x));
    const e = tr.challengeBits('e', 80);
    const z = a.map((ai, i) => (e[i] ? mod(ai + secret.lambda, secret.phi) : ai));
    // Every repetition holds: t^z = A·s^e.
    expect(z.every((zi, i) => modPow(t, zi, N) === (e[i] ? mod(A[i]! * sv, N) : A[i]))).to.equal(true);
    expect(expectCode(() => verifyRingPedersen(secret.params, { A, z }, ctx, opts))).to.include('128 repetitions');
    expectCode(() => s.parse(PrmProofSchema, decodeCbor(encodeCbor(encodePrmProof({ A, z })))), 'SCHEMA_VIOLATION');
  });

  it('by default rejects parameters below 2048 bits', () => {
    expect(expectCode(() => verifyRingPedersen(secret.params, honest, ctx))).to.include('bits');
  });

  it('rejects replay into another session, prover or purpose', () => {
    expectCode(() => verifyRingPedersen(secret.params, honest, { ...ctx, sessionId: new Uint8Array(32).fill(4) }, opts));
    expectCode(() => verifyRingPedersen(secret.params, honest, { ...ctx, prover: 1 }, opts));
    expectCode(() => verifyRingPedersen(secret.params, honest, { ...ctx, label: undefined }, opts));
  });

  it('rejects the proof for swapped or substituted parameters', () => {
    expectCode(() => verifyRingPedersen({ N, s: t, t: sv }, honest, ctx, opts));
    expectCode(() => verifyRingPedersen({ N, s: mod(sv * sv, N), t }, honest, ctx, opts));
  });

  it('rejects s outside ⟨t⟩ even from a prover who guesses challenge bits', () => {
    // s is a random unit with Jacobi symbol -1 mod p̂: not a square, so not in ⟨t⟩ ⊂ QR.
    let bad: bigint;
    do bad = randomCoprime(N); while (jacobi(bad, secret.p) !== -1);
    const params: RingPedersenParams = { N, s: bad, t };
    // Cheat: guess e_i, commit A_i = t^a_i · s^(-e_i), answer z_i = a_i (right whenever the guess is).
    const guess = Array.from({ length: PRM_REPETITIONS }, () => randomBelow(2n) === 1n);
    const a = guess.map(() => randomBelow(secret.phi));
    const sInv = modPow(bad, -1n, N);
    const A = a.map((ai, i) => (guess[i] ? (modPow(t, ai, N) * sInv) % N : modPow(t, ai, N)));
    expectCode(() => verifyRingPedersen(params, { A, z: a }, ctx, opts));
    // why it fails: the Fiat–Shamir bits (recomputed here) do not match the guesses
    const e = (() => {
      const tr = proofTranscript('nitro-cosigner/zk/pi-prm/v1', ctx)
        .appendBigint('m', BigInt(PRM_REPETITIONS)).appendBigint('N', N).appendBigint('s', bad).appendBigint('t', t);
      A.forEach((x, i) => tr.appendBigint(`A${i}`, x));
      return tr.challengeBits('e', PRM_REPETITIONS);
    })();
    expect(e.some((bit, i) => bit !== guess[i])).to.equal(true);
  });

  it('rejects every tampered element', () => {
    for (const i of [0, 40, PRM_REPETITIONS - 1]) {
      const p1 = clone(honest); p1.A[i] = mod(p1.A[i]! * t, N);
      expectCode(() => verifyRingPedersen(secret.params, p1, ctx, opts));
      const p2 = clone(honest); p2.z[i] = p2.z[i]! + 1n;
      expectCode(() => verifyRingPedersen(secret.params, p2, ctx, opts));
    }
    const swapped = clone(honest);
    [swapped.z[1], swapped.z[2]] = [swapped.z[2]!, swapped.z[1]!];
    expectCode(() => verifyRingPedersen(secret.params, swapped, ctx, opts));
  });

  it('rejects wrong repetition counts', () => {
    const dropped = clone(honest); dropped.A.pop(); dropped.z.pop();
    const extra = clone(honest); extra.A.push(honest.A[0]!); extra.z.push(honest.z[0]!);
    const uneven = clone(honest); uneven.z.pop();
    for (const p of [dropped, extra, uneven]) {
      expect(expectCode(() => verifyRingPedersen(secret.params, p, ctx, opts))).to.include('repetitions');
      expectCode(() => s.parse(PrmProofSchema, decodeCbor(encodeCbor(encodePrmProof(p)))), 'SCHEMA_VIOLATION');
    }
  });

  it('rejects out-of-range and non-unit elements', () => {
    for (const v of [0n, N, N + 1n, secret.p, 2n * secret.q]) {
      const p = clone(honest); p.A[7] = v;
      expectCode(() => verifyRingPedersen(secret.params, p, ctx, opts));
    }
    for (const v of [N, N + 5n, -1n]) {
      const p = clone(honest); p.z[7] = v;
      expectCode(() => verifyRingPedersen(secret.params, p, ctx, opts));
    }
  });

  it('rejects malformed parameters: even or oversized N̂, s or t equal to 0, ±1, N̂ or a non-unit', () => {
    const bads: RingPedersenParams[] = [
      { N: N + 1n, s: sv, t },
      { N: (1n << 4100n) + 1n, s: sv, t },
      { N, s: 1n, t }, { N, s: N - 1n, t }, { N, s: 0n, t }, { N, s: N, t }, { N, s: secret.p, t },
      { N, s: sv, t: 1n }, { N, s: sv, t: N - 1n }, { N, s: sv, t: secret.q * 3n },
    ];
    for (const params of bads) expectCode(() => verifyRingPedersen(params, honest, ctx, opts));
    expect(gcd(sv, N)).to.equal(1n);
  });
});
