// Πfac (CGGMP21 Fig. 28): honest proofs pass; moduli with a small factor — including ones that
// pass the cheap shape check and Πmod — fail even when the prover follows the protocol, and every
// tampered, replayed or out-of-range proof fails. The verifier's ring-Pedersen parameters are
// generated once per file at 1024 bits (tests only; production default is 2048).
import { expect } from 'chai';
import { generatePaillierKeyPair, PaillierSecretKey, checkPaillierModulusShape } from '../../shared/mpc/paillier/paillier.js';
import {
  FAC_ELL, FAC_EPSILON, FAC_MIN_MODULUS_BITS, FacProofSchema, encodeFacProof, proveNoSmallFactors,
  proveNoSmallFactorsWithFactors, verifyNoSmallFactors, type FacProof,
} from '../../shared/mpc/zk/pi-fac.js';
import { proveModulus, verifyModulus } from '../../shared/mpc/zk/pi-mod.js';
import { generateRingPedersen } from '../../shared/mpc/zk/ring-pedersen.js';
import { bitLength, generateBlumPrime, isqrt, mod } from '../../shared/mpc/bigint/modarith.js';
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import * as s from '../../shared/schema.js';
import type { ErrorCode } from '../../shared/errors.js';
import type { ProofContext } from '../../shared/mpc/zk/context.js';
import { expectCosignerError } from '../support/expect-error.js';

function expectCode(fn: () => unknown, code: ErrorCode = 'MPC_PROOF_FAILED'): string {
  return expectCosignerError(fn, code).message;
}

const opts = { minAuxBits: 1024 };
const ctx: ProofContext = { sessionId: new Uint8Array(32).fill(9), prover: 1, label: 'paillier-key' };

/** Blum primes a, b with a of `smallBits` bits and a·b of exactly 2048 bits. */
function unbalanced(smallBits: number): { a: bigint; b: bigint; n: bigint } {
  for (;;) {
    const a = generateBlumPrime(smallBits);
    const b = generateBlumPrime(2048 - smallBits);
    if (bitLength(a * b) === 2048) return { a, b, n: a * b };
  }
}

describe('mpc/zk: Πfac (no small factors, CGGMP21 Fig. 28)', function () {
  this.timeout(120_000);
  const verifierAux = generateRingPedersen(1024);
  const aux = verifierAux.params;
  const { secretKey: sk } = generatePaillierKeyPair(2048);
  const n = sk.publicKey.n;
  const honest = proveNoSmallFactors(sk, aux, ctx);

  it('uses ℓ = 256, ε = 512 and N0 ≥ 2^2048', () => {
    expect([FAC_ELL, FAC_EPSILON, FAC_MIN_MODULUS_BITS]).to.deep.equal([256, 512, 2048]);
  });

  it('accepts an honest proof after a CBOR round trip', () => {
    const wire = decodeCbor(encodeCbor(encodeFacProof(honest)));
    verifyNoSmallFactors(n, aux, s.parse(FacProofSchema, wire), ctx, opts);
    // several fresh proofs (random α, β near the bound must still pass)
    for (let i = 0; i < 3; i++) verifyNoSmallFactors(n, aux, proveNoSmallFactors(sk, aux, ctx), ctx, opts);
  });

  it('rejects N = p·q with a 20-bit p although the shape check and Πmod accept it', () => {
    const { a, b, n: weak } = unbalanced(20);
    checkPaillierModulusShape(weak); // no factor below 2^16: the cheap check passes
    const weakKey = PaillierSecretKey.fromPrimes(a, b);
    verifyModulus(weak, proveModulus(weakKey, ctx), ctx); // a valid Paillier–Blum modulus
    const proof = proveNoSmallFactors(weakKey, aux, ctx);
    expect(expectCode(() => verifyNoSmallFactors(weak, aux, proof, ctx, opts))).to.match(/z[12] out of range/);
  });

  it('rejects factors of 128 and 200 bits (BitForge-sized and beyond)', () => {
    for (const bits of [128, 200]) {
      const { a, b, n: weak } = unbalanced(bits);
      const proof = proveNoSmallFactorsWithFactors(weak, a, b, aux, ctx);
      expectCode(() => verifyNoSmallFactors(weak, aux, proof, ctx, opts));
    }
  });

  it('rejects N0 = 3·p·q and a prime N0 proven with the trivial factorisation', () => {
    const p = generateBlumPrime(1023), q = generateBlumPrime(1023);
    const three = 3n * p * q;
    expectCode(() => verifyNoSmallFactors(three, aux, proveNoSmallFactorsWithFactors(three, 3n, p * q, aux, ctx), ctx, opts));
    const prime = generateBlumPrime(2048);
    expectCode(() => verifyNoSmallFactors(prime, aux, proveNoSmallFactorsWithFactors(prime, 1n, prime, aux, ctx), ctx, opts));
  });

  it('rejects an honest proof for another modulus or other verifier parameters', () => {
    const other = generatePaillierKeyPair(2048).publicKey.n;
    expectCode(() => verifyNoSmallFactors(other, aux, honest, ctx, opts));
    expectCode(() => verifyNoSmallFactors(n, { ...aux, s: mod(aux.s * aux.s, aux.N) }, honest, ctx, opts));
    expectCode(() => verifyNoSmallFactors(n, { ...aux, t: mod(aux.t * aux.t, aux.N) }, honest, ctx, opts));
  });

  it('rejects replay into another session, prover or purpose', () => {
    expectCode(() => verifyNoSmallFactors(n, aux, honest, { ...ctx, sessionId: new Uint8Array(32) }, opts));
    expectCode(() => verifyNoSmallFactors(n, aux, honest, { ...ctx, prover: 2 }, opts));
    expectCode(() => verifyNoSmallFactors(n, aux, honest, { ...ctx, label: 'x' }, opts));
  });

  it('rejects every tampered element', () => {
    const fields = ['P', 'Q', 'A', 'B', 'T', 'sigma', 'z1', 'z2', 'w1', 'w2', 'v'] as const;
    for (const f of fields) {
      for (const delta of [1n, -1n]) {
        const p: FacProof = { ...honest };
        p[f] = ['P', 'Q', 'A', 'B', 'T'].includes(f) ? mod(p[f] * (delta === 1n ? aux.t : aux.s), aux.N) : p[f] + delta;
        expectCode(() => verifyNoSmallFactors(n, aux, p, ctx, opts));
      }
    }
  });

  it('rejects out-of-range and non-unit elements', () => {
    for (const f of ['P', 'Q', 'A', 'B', 'T'] as const) {
      for (const v of [0n, aux.N, aux.N + 1n, verifierAux.p, 3n * verifierAux.q]) {
        expect(expectCode(() => verifyNoSmallFactors(n, aux, { ...honest, [f]: v }, ctx, opts))).to.include('unit');
      }
    }
    const zBound = (1n << BigInt(FAC_ELL + FAC_EPSILON)) * isqrt(n);
    for (const f of ['z1', 'z2'] as const) {
      expect(expectCode(() => verifyNoSmallFactors(n, aux, { ...honest, [f]: zBound + 1n }, ctx, opts))).to.include('out of range');
      expect(expectCode(() => verifyNoSmallFactors(n, aux, { ...honest, [f]: -zBound - 1n }, ctx, opts))).to.include('out of range');
    }
    const huge = 1n << 9000n;
    for (const f of ['sigma', 'w1', 'w2', 'v'] as const) {
      expect(expectCode(() => verifyNoSmallFactors(n, aux, { ...honest, [f]: huge }, ctx, opts))).to.include('out of range');
    }
  });

  it('rejects a malformed statement: even, short or oversized N0; verifier params below the minimum', () => {
    expectCode(() => verifyNoSmallFactors(n + 1n, aux, honest, ctx, opts));
    expectCode(() => verifyNoSmallFactors(generatePaillierKeyPair(1024).publicKey.n, aux, honest, ctx, opts));
    expectCode(() => verifyNoSmallFactors((1n << 4100n) + 1n, aux, honest, ctx, opts));
    expectCode(() => verifyNoSmallFactors(n, aux, honest, ctx)); // default minimum: 2048-bit N̂
    expectCode(() => verifyNoSmallFactors(n, { ...aux, s: 1n }, honest, ctx, opts));
  });

  it('the schema rejects missing, extra and oversized fields', () => {
    const wire = encodeFacProof(honest) as Record<string, Uint8Array>;
    const { v: _v, ...missing } = wire;
    expectCode(() => s.parse(FacProofSchema, missing), 'SCHEMA_VIOLATION');
    expectCode(() => s.parse(FacProofSchema, { ...wire, extra: new Uint8Array(1) }), 'SCHEMA_VIOLATION');
    expectCode(() => s.parse(FacProofSchema, { ...wire, z1: new Uint8Array(400).fill(1) }), 'SCHEMA_VIOLATION');
    expectCode(() => s.parse(FacProofSchema, { ...wire, P: new Uint8Array(513).fill(1) }), 'SCHEMA_VIOLATION');
  });
});
