// Πmod (CGGMP21 Fig. 16): honest proofs pass; proofs for moduli that are not Paillier–Blum,
// tampered, truncated, replayed or out-of-range proofs fail with MPC_PROOF_FAILED.
import { expect } from 'chai';
import { generatePrimeSync } from 'node:crypto';
import { generatePaillierKeyPair, PaillierSecretKey, checkPaillierModulusShape } from '../../shared/mpc/paillier/paillier.js';
import {
  MOD_REPETITIONS, ModProofSchema, encodeModProof, modChallenges, proveModulus, verifyModulus, type ModProof,
} from '../../shared/mpc/zk/pi-mod.js';
import {
  crtCombine, gcd, generateBlumPrime, jacobi, mod, modInv, modPow, randomBelow, randomCoprime,
} from '../../shared/mpc/bigint/modarith.js';
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import * as s from '../../shared/schema.js';
import type { ErrorCode } from '../../shared/errors.js';
import { proofTranscript, type ProofContext } from '../../shared/mpc/zk/context.js';
import { expectCosignerError } from '../support/expect-error.js';

function expectCode(fn: () => unknown, code: ErrorCode = 'MPC_PROOF_FAILED'): string {
  return expectCosignerError(fn, code).message;
}

const nonResidues = new Map<bigint, bigint>();

/** Square root of a quadratic residue u modulo an odd prime p (Tonelli–Shanks), or undefined. */
function sqrtModPrime(u: bigint, p: bigint): bigint | undefined {
  u = mod(u, p);
  if (u === 0n) return 0n;
  if (jacobi(u, p) !== 1) return undefined;
  let q = p - 1n, e = 0n;
  while ((q & 1n) === 0n) { q >>= 1n; e++; }
  if ((p & 3n) === 3n) return modPow(u, (p + 1n) / 4n, p);
  let z = nonResidues.get(p);
  if (z === undefined) {
    z = 2n;
    while (jacobi(z, p) !== -1) z++;
    nonResidues.set(p, z);
  }
  let m = e, c = modPow(z, q, p), t = modPow(u, q, p), r = modPow(u, (q + 1n) / 2n, p);
  while (t !== 1n) {
    let i = 0n, t2 = t;
    while (t2 !== 1n) { t2 = (t2 * t2) % p; i++; }
    const b = modPow(c, 1n << (m - i - 1n), p);
    m = i; c = (b * b) % p; t = (t * c) % p; r = (r * b) % p;
  }
  return r;
}

/** A fourth root of u modulo an odd prime, trying both square roots at the inner step. */
function fourthRootModPrime(u: bigint, p: bigint): bigint | undefined {
  const r = sqrtModPrime(u, p);
  if (r === undefined) return undefined;
  return sqrtModPrime(r, p) ?? sqrtModPrime(p - r, p);
}

/**
 * The strongest generic cheating prover we can write: it knows the factorisation of n (distinct
 * primes), answers every repetition it can answer correctly, and fills the rest with random units.
 * For a Paillier–Blum modulus it produces a valid proof (checked below), so rejections elsewhere
 * come from the modulus, not from a weak prover.
 */
function bestEffortModProof(n: bigint, primes: bigint[], ctx: ProofContext): ModProof {
  let w: bigint;
  do w = randomCoprime(n); while (jacobi(w, n) !== -1);
  const lambda = primes.reduce((acc, p) => (acc * (p - 1n)) / gcd(acc, p - 1n), 1n);
  let nInv: bigint | undefined;
  try { nInv = modInv(n, lambda); } catch { nInv = undefined; }
  const crtAll = (residues: bigint[]): bigint => {
    let x = residues[0]!, m = primes[0]!;
    for (let i = 1; i < primes.length; i++) {
      x = crtCombine(residues[i]!, x, primes[i]!, m, modInv(m, primes[i]!));
      m *= primes[i]!;
    }
    return mod(x, n);
  };
  const items = modChallenges(n, w, ctx).map((y) => {
    const z = nInv !== undefined ? modPow(y, nInv, n) : randomCoprime(n);
    for (const a of [false, true]) for (const b of [false, true]) {
      let yy = a ? mod(-y, n) : y;
      if (b) yy = (yy * w) % n;
      const roots = primes.map((p) => fourthRootModPrime(yy, p));
      if (roots.every((r) => r !== undefined)) return { x: crtAll(roots as bigint[]), a, b, z };
    }
    return { x: randomCoprime(n), a: false, b: false, z };
  });
  return { w, items };
}

const ctx: ProofContext = { sessionId: new Uint8Array(32).fill(7), prover: 1, label: 'paillier-key' };

function roundTrip(proof: ModProof): ModProof {
  return s.parse(ModProofSchema, decodeCbor(encodeCbor(encodeModProof(proof))));
}

function clone(proof: ModProof): ModProof {
  return { w: proof.w, items: proof.items.map((it) => ({ ...it })) };
}

describe('mpc/zk: Πmod (Paillier–Blum modulus, CGGMP21 Fig. 16)', function () {
  this.timeout(120_000);
  const { secretKey: sk } = generatePaillierKeyPair(2048);
  const n = sk.publicKey.n;
  const honest = proveModulus(sk, ctx);

  it('accepts an honest proof after a CBOR round trip, with exactly 128 repetitions', () => {
    expect(honest.items.length).to.equal(MOD_REPETITIONS);
    expect(MOD_REPETITIONS).to.equal(128);
    verifyModulus(n, roundTrip(honest), ctx);
  });

  it('refuses a correct proof made with CGGMP21\'s 80 repetitions (2^-80 soundness is below the system\'s 128 bits)', () => {
    // A real prover, honest in every repetition, whose transcript says m = 80.
    let w: bigint;
    do w = randomCoprime(n); while (jacobi(w, n) !== -1);
    const ys = proofTranscript('nitro-cosigner/zk/pi-mod/v1', ctx).appendBigint('m', 80n).appendBigint('N', n).appendBigint('w', w).challengeScalars('y', n, 80);
    const phi = (sk.p - 1n) * (sk.q - 1n);
    const nInv = modInv(n, phi);
    const items = ys.map((y) => {
      for (const a of [false, true]) for (const b of [false, true]) {
        let yy = a ? mod(-y, n) : y;
        if (b) yy = (yy * w) % n;
        const rp = fourthRootModPrime(yy, sk.p);
        const rq = fourthRootModPrime(yy, sk.q);
        if (rp !== undefined && rq !== undefined) return { x: crtCombine(rq, rp, sk.q, sk.p, modInv(sk.p, sk.q)), a, b, z: modPow(y, nInv, n) };
      }
      throw new Error('no twist');
    });
    const proof80: ModProof = { w, items };
    // Each repetition is sound: x^4 and z^N match the m = 80 challenges.
    expect(items.every((it, i) => modPow(it.z, n, n) === ys[i] && modPow(it.x, 4n, n) === mod((it.a ? -1n : 1n) * (it.b ? w : 1n) * ys[i]!, n))).to.equal(true);
    expect(expectCode(() => verifyModulus(n, proof80, ctx))).to.include('128 repetitions');
    expectCode(() => roundTrip(proof80), 'SCHEMA_VIOLATION');
  });

  it('the best-effort cheating prover is a correct prover on a real Paillier–Blum modulus', () => {
    verifyModulus(n, bestEffortModProof(n, [sk.p, sk.q], ctx), ctx);
  });

  it('rejects a non-Blum modulus (p ≡ 1 mod 4)', () => {
    let p: bigint, q: bigint;
    do {
      p = generatePrimeSync(1024, { bigint: true, add: 4n, rem: 1n });
      q = generateBlumPrime(1024);
    } while ((p * q).toString(2).length !== 2048);
    const bad = p * q;
    checkPaillierModulusShape(bad); // the cheap checks cannot see this
    expect(expectCode(() => verifyModulus(bad, bestEffortModProof(bad, [p, q], ctx), ctx))).to.include('fourth root');
  });

  it('rejects a prime modulus', () => {
    const p = generateBlumPrime(2048);
    expect(expectCode(() => verifyModulus(p, bestEffortModProof(p, [p], ctx), ctx))).to.include('prime');
  });

  it('rejects a modulus with three prime factors, one of them small (N = 3·p·q)', () => {
    const p = generateBlumPrime(1023), q = generateBlumPrime(1023);
    const bad = 3n * p * q;
    expect(expectCode(() => verifyModulus(bad, bestEffortModProof(bad, [3n, p, q], ctx), ctx))).to.match(/root|not a unit/); // a third of the challenges are multiples of 3
  });

  it('rejects a modulus with three large Blum prime factors', () => {
    const p = generateBlumPrime(683), q = generateBlumPrime(683), r = generateBlumPrime(682);
    const bad = p * q * r;
    expect(expectCode(() => verifyModulus(bad, bestEffortModProof(bad, [p, q, r], ctx), ctx))).to.include('fourth root');
  });

  it('accepts a Blum modulus with a 20-bit factor — Πmod alone does not stop BitForge; Πfac does', () => {
    const small = generateBlumPrime(20);
    const large = generateBlumPrime(2028);
    const weak = PaillierSecretKey.fromPrimes(small, large);
    verifyModulus(weak.publicKey.n, proveModulus(weak, ctx), ctx);
  });

  it('rejects an honest proof checked against another modulus', () => {
    const other = generatePaillierKeyPair(2048).publicKey.n;
    expectCode(() => verifyModulus(other, honest, ctx));
  });

  it('rejects a proof replayed into another session, prover or purpose', () => {
    expectCode(() => verifyModulus(n, honest, { ...ctx, sessionId: new Uint8Array(32).fill(8) }));
    expectCode(() => verifyModulus(n, honest, { ...ctx, prover: 2 }));
    expectCode(() => verifyModulus(n, honest, { ...ctx, label: 'other' }));
    expectCode(() => verifyModulus(n, honest, { sessionId: ctx.sessionId, prover: ctx.prover }));
  });

  it('rejects every tampered element', () => {
    const w2 = (() => { let v: bigint; do v = randomCoprime(n); while (jacobi(v, n) !== -1 || v === honest.w); return v; })();
    const tamperings: [string, (p: ModProof) => void][] = [
      ['w', (p) => { p.w = w2; }],
      ['w jacobi +1', (p) => { p.w = mod(p.w * 4n, n); }],
    ];
    for (const i of [0, 41, MOD_REPETITIONS - 1]) {
      tamperings.push([`x[${i}]`, (p) => { p.items[i]!.x = mod(p.items[i]!.x + 1n, n) || 1n; }]);
      tamperings.push([`x[${i}] negated`, (p) => { p.items[i]!.x = n - p.items[i]!.x; }]); // still a fourth root? no: (-x)^4 = x^4 — handled below
      tamperings.push([`z[${i}]`, (p) => { p.items[i]!.z = mod(p.items[i]!.z * 2n, n); }]);
      tamperings.push([`a[${i}]`, (p) => { p.items[i]!.a = !p.items[i]!.a; }]);
      tamperings.push([`b[${i}]`, (p) => { p.items[i]!.b = !p.items[i]!.b; }]);
    }
    tamperings.push(['swap items', (p) => { [p.items[3], p.items[4]] = [p.items[4]!, p.items[3]!]; }]);
    for (const [name, tamper] of tamperings) {
      const p = clone(honest);
      tamper(p);
      if (name.includes('negated')) {
        // (-x)^4 = x^4: negating x yields another valid fourth root, which the proof rightly accepts.
        verifyModulus(n, p, ctx);
        continue;
      }
      expectCode(() => verifyModulus(n, p, ctx));
    }
  });

  it('rejects wrong repetition counts (dropped, duplicated, empty) in both the schema and the verifier', () => {
    const dropped = clone(honest); dropped.items.pop();
    const extra = clone(honest); extra.items.push({ ...honest.items[0]! });
    const empty = clone(honest); empty.items = [];
    for (const p of [dropped, extra, empty]) {
      expectCode(() => verifyModulus(n, p, ctx));
      expectCode(() => s.parse(ModProofSchema, decodeCbor(encodeCbor(encodeModProof(p)))), 'SCHEMA_VIOLATION');
    }
  });

  it('rejects out-of-range and non-unit elements (0, N, N+1, a multiple of p)', () => {
    const bad = [0n, n, n + 1n, sk.p, n - sk.q];
    for (const v of bad) {
      for (const field of ['x', 'z'] as const) {
        const p = clone(honest);
        p.items[5]![field] = v;
        expectCode(() => verifyModulus(n, p, ctx));
      }
      const p = clone(honest);
      p.w = v;
      expectCode(() => verifyModulus(n, p, ctx));
    }
  });

  it('rejects a malformed statement: even N, tiny N, oversize N', () => {
    expectCode(() => verifyModulus(n + 1n, honest, ctx));
    expectCode(() => verifyModulus(3n, honest, ctx));
    expectCode(() => verifyModulus((1n << 4100n) + 1n, honest, ctx));
  });

  it('the schema bounds element sizes', () => {
    const wire = encodeModProof(honest);
    wire.items[0]!.x = new Uint8Array(513).fill(1);
    expectCode(() => s.parse(ModProofSchema, wire), 'SCHEMA_VIOLATION');
  });

  it('a random proof is rejected (sanity check that the verifier is not vacuous)', () => {
    const p = clone(honest);
    for (const it of p.items) { it.x = randomBelow(n - 1n) + 1n; }
    expectCode(() => verifyModulus(n, p, ctx));
  });
});
