// Two-party ECDSA key generation (shared/mpc/ecdsa/keygen.ts) against malicious peers. P2's
// ring-Pedersen parameters are generated once for the file with 1024-bit safe primes (production:
// 2048; same algebra), Paillier keys are the production 2048 bits.
//
// The malicious P1 below is a complete, independent P1 built from the public proof functions, so
// each test changes exactly one thing; a baseline test shows the unmodified harness is accepted.
import { expect } from 'chai';
import { deliverTo } from './deliver.js';
import type { AuthenticatedMessage } from '../../shared/mpc/authenticated-message.js';
import { generatePrimeSync, randomBytes } from 'node:crypto';
import * as s from '../../shared/schema.js';
import type { ErrorCode } from '../../shared/errors.js';
import type { MpcMessage, Party } from '../../shared/mpc/party.js';
import { RingPedersenParamsSchema, generateRingPedersen, type RingPedersenSecret } from '../../shared/mpc/zk/ring-pedersen.js';
import { PaillierPublicKey, PaillierSecretKey, generatePaillierKeyPair } from '../../shared/mpc/paillier/paillier.js';
import { generateBlumPrime, jacobi, modInv, modPow, randomBits, randomCoprime } from '../../shared/mpc/bigint/modarith.js';
import { uintToWire } from '../../shared/mpc/bigint/wire.js';
import { encodeModProof, modChallenges, proveModulus, type ModProof } from '../../shared/mpc/zk/pi-mod.js';
import { encodeFacProof, proveNoSmallFactorsWithFactors } from '../../shared/mpc/zk/pi-fac.js';
import { encodeLogStarProof, proveLogStar } from '../../shared/mpc/zk/pi-log.js';
import { proveDlog, type DlogProof } from '../../shared/mpc/zk/dlog.js';
import { commit } from '../../shared/mpc/commitment.js';
import { ECDSA_KEYGEN_PROTOCOL, EcdsaKeygenP1, EcdsaKeygenP2 } from '../../shared/mpc/ecdsa/keygen.js';
import { EcdsaKeyShareP1, EcdsaKeyShareP2 } from '../../shared/mpc/ecdsa/key-share.js';
import { CURVE_ORDER, G, mulBase, randomScalar } from '../../shared/mpc/ecdsa/curve.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { expectCosignerError } from '../support/expect-error.js';
import { runTwoParties, wire } from '../support/run-parties.js';

/**
 * The chain-code formula written out independently of shared/mpc/ecdsa/chain-code.ts:
 * SHA-256 over u32be(|label|) ‖ label ‖ u32be(|data|) ‖ data for domain, session, cc1, cc2.
 */
function expectedChainCode(sessionId: Uint8Array, cc1: Uint8Array, cc2: Uint8Array): Buffer {
  const lp = (label: string, data: Uint8Array) => {
    const l = Buffer.from(label, 'utf8');
    const h = Buffer.alloc(4);
    const d = Buffer.alloc(4);
    h.writeUInt32BE(l.length);
    d.writeUInt32BE(data.length);
    return Buffer.concat([h, l, d, Buffer.from(data)]);
  };
  return Buffer.from(sha256(Buffer.concat([
    lp('domain', Buffer.from('nitro-cosigner/ecdsa2p/chain-code/v1')), lp('session', sessionId), lp('cc1', cc1), lp('cc2', cc2),
  ])));
}

const sid = () => new Uint8Array(randomBytes(32));
const TEST_AUX_BITS = 1024;

function expectCode(f: () => unknown, code: ErrorCode): Error {
  return expectCosignerError(f, code);
}

const run = runTwoParties;

/** Paillier key material a malicious P1 may use: real primes, possibly of a forbidden shape. */
interface KeyMaterial { n: bigint; p: bigint; q: bigint }

/** A stand-in secret key for the provers, for moduli PaillierSecretKey.fromPrimes would refuse. */
function fakeSecretKey(k: KeyMaterial): PaillierSecretKey {
  return { publicKey: new PaillierPublicKey(k.n), p: k.p, q: k.q, phi: (k.p - 1n) * (k.q - 1n) } as unknown as PaillierSecretKey;
}

/**
 * Πmod "proof" for a modulus that is not Paillier–Blum: the N-th roots z_i are genuine (they exist
 * whenever gcd(N, φ(N)) = 1) but no fourth roots exist for every challenge; the cheater sends its
 * best attempt, as a real attacker would.
 */
function forgeModulusProof(k: KeyMaterial, ctx: { sessionId: Uint8Array; prover: number; label: string }): ModProof {
  let w: bigint;
  do w = randomCoprime(k.n); while (jacobi(w, k.n) !== -1);
  const d = modInv(k.n, (k.p - 1n) * (k.q - 1n));
  const items = modChallenges(k.n, w, ctx).map((y) => {
    const z = modPow(y, d, k.n);
    const root = modPow(y, ((k.n + 1n) / 4n) ** 2n, k.n); // a guess: no real fourth root is known
    return { x: root, a: false, b: false, z };
  });
  return { w, items };
}

interface Evil {
  key?: KeyMaterial;
  /** Replace what P1 commits to and opens (Q1 encoding and its proof). */
  opening?: (Q1: Uint8Array, proof: DlogProof, sessionId: Uint8Array) => { Q1: Uint8Array; proofQ1: DlogProof };
  /** Open a different cc1 than the one committed to. */
  openCc1?: (committed: Uint8Array) => Uint8Array;
  /** Rewrite the round-3 payload after everything was computed honestly for `key`. */
  mutate?: (payload: Record<string, unknown>, sk: { pk: PaillierPublicKey; x1: bigint }) => Record<string, unknown>;
}

describe('mpc/ecdsa — two-party key generation', function () {
  this.timeout(300_000);
  let aux: RingPedersenSecret;
  let honestKey: PaillierSecretKey;

  before(() => {
    aux = generateRingPedersen(TEST_AUX_BITS);
    honestKey = generatePaillierKeyPair(2048).secretKey;
  });

  const ctx = (sessionId: Uint8Array, label: string) => ({ sessionId, prover: 1, label: `${ECDSA_KEYGEN_PROTOCOL}/${label}` });

  /** P2 alone against a hand-made P1; returns a thunk delivering round 3 (and P2 for inspection). */
  function evilP1(evil: Evil = {}) {
    const sessionId = sid();
    const p2 = new EcdsaKeygenP2({ sessionId, ringPedersen: aux, minRingPedersenBits: TEST_AUX_BITS });
    p2.start();
    const env = (round: number, payload: unknown): MpcMessage => ({ protocol: ECDSA_KEYGEN_PROTOCOL, sessionId, from: 1, to: 2, round, payload });
    const x1 = randomScalar();
    const Q1 = mulBase(x1);
    const honestProof = proveDlog(x1, Q1, ctx(sessionId, 'Q1'));
    const opening = evil.opening?.(Q1.toBytes(true), honestProof, sessionId) ?? { Q1: Q1.toBytes(true), proofQ1: honestProof };
    const cc1 = new Uint8Array(randomBytes(32));
    const c = commit({ sessionId, party: 1, label: `${ECDSA_KEYGEN_PROTOCOL}/Q1` }, [opening.Q1, opening.proofQ1.A, opening.proofQ1.z, cc1]);
    const [r2] = deliverTo(p2, env(1, { commitment: c.commitment }));
    const cc2 = (r2!.payload as { cc2: Uint8Array }).cc2;
    const params = s.parse(RingPedersenParamsSchema, (r2!.payload as { aux: { params: unknown } }).aux.params);

    const k = evil.key ?? { n: honestKey.publicKey.n, p: honestKey.p, q: honestKey.q };
    const sk = evil.key ? fakeSecretKey(k) : honestKey;
    const pk = new PaillierPublicKey(k.n);
    const { c: cKey, r } = pk.encrypt(x1);
    let payload: Record<string, unknown> = {
      Q1: opening.Q1,
      proofQ1: opening.proofQ1,
      cc1: evil.openCc1 ? evil.openCc1(cc1) : cc1,
      salt: c.salt,
      paillier: {
        N: uintToWire(k.n),
        mod: encodeModProof(evil.key && (k.p & 3n) !== 3n ? forgeModulusProof(k, ctx(sessionId, 'paillier')) : proveModulus(sk, ctx(sessionId, 'paillier'))),
        fac: encodeFacProof(proveNoSmallFactorsWithFactors(k.n, k.p, k.q, params, ctx(sessionId, 'paillier'))),
      },
      cKey: uintToWire(cKey),
      proofLog: encodeLogStarProof(proveLogStar({ paillier: pk, C: cKey, X: Q1 }, { x: x1, rho: r }, params, ctx(sessionId, 'c_key'))),
    };
    if (evil.mutate) payload = evil.mutate(payload, { pk, x1 });
    return { p2, deliver: () => deliverTo(p2, env(3, payload)), env, Q1, cc1, cc2, sessionId };
  }

  it('honest parties agree on Q, P2 checks c_key, and the shares seal', () => {
    const sessionId = sid();
    const k1 = new EcdsaKeygenP1({ sessionId, paillier: honestKey, minRingPedersenBits: TEST_AUX_BITS });
    const k2 = new EcdsaKeygenP2({ sessionId, ringPedersen: aux, minRingPedersenBits: TEST_AUX_BITS });
    const seen: MpcMessage[] = [];
    run(k1, k2, (m) => { seen.push(m); return m; });
    const s1 = k1.result();
    const s2 = k2.result();
    expect(k1.done && k2.done).to.equal(true);
    // The joint chain code: both parties agree, and it is H(domain, sid, cc1, cc2) of the traffic.
    const cc2 = (seen.find((m) => m.round === 2)!.payload as { cc2: Uint8Array }).cc2;
    const cc1 = (seen.find((m) => m.round === 3)!.payload as { cc1: Uint8Array }).cc1;
    expect(Buffer.from(cc1).equals(Buffer.from(cc2))).to.equal(false);
    expect(Buffer.from(s1.chainCode).equals(expectedChainCode(sessionId, cc1, cc2))).to.equal(true);
    expect(Buffer.from(s2.chainCode).equals(Buffer.from(s1.chainCode))).to.equal(true);
    expect(Buffer.from((seen.find((m) => m.round === 4)!.payload as { chainCode: Uint8Array }).chainCode).equals(Buffer.from(s1.chainCode))).to.equal(true);
    expect(s1.Q.equals(s2.Q)).to.equal(true);
    expect(s1.publicKey).to.have.length(33);
    expect(mulBase((s1.x1 + s2.x2) % CURVE_ORDER).equals(s2.Q)).to.equal(true);
    const d2 = EcdsaKeyShareP2.decode(s2.encode());
    expect(d2.Q.equals(s1.Q)).to.equal(true);
    expect(Buffer.from(d2.chainCode).equals(Buffer.from(s2.chainCode))).to.equal(true);
    expect(Buffer.from(EcdsaKeyShareP1.decode(s1.encode()).chainCode).equals(Buffer.from(s1.chainCode))).to.equal(true);
    expectCode(() => k1.start(), 'MPC_STATE');
  });

  it('generates its own Paillier key when none is given and refuses short own ring-Pedersen params', () => {
    const sessionId = sid();
    const k1 = new EcdsaKeygenP1({ sessionId, minRingPedersenBits: TEST_AUX_BITS });
    const k2 = new EcdsaKeygenP2({ sessionId, ringPedersen: aux, minRingPedersenBits: TEST_AUX_BITS });
    run(k1, k2);
    expect(k1.result().paillier.publicKey.n).to.equal(k2.result().paillier.n);
    expectCode(() => new EcdsaKeygenP2({ sessionId, ringPedersen: aux }), 'MPC_INVALID_KEY');
  });

  describe('P2 against a malicious P1', () => {
    it('accepts the unmodified hand-made P1 (the harness is sound)', () => {
      const { p2, deliver, Q1 } = evilP1();
      expect(deliver()).to.have.length(1);
      expect(p2.result().Q1.equals(Q1)).to.equal(true);
    });

    it('derives the chain code from the committed cc1 and its own cc2', () => {
      const { p2, deliver, cc1, cc2, sessionId } = evilP1();
      const [confirm] = deliver();
      expect(Buffer.from(p2.result().chainCode).equals(expectedChainCode(sessionId, cc1, cc2))).to.equal(true);
      expect(Buffer.from((confirm!.payload as { chainCode: Uint8Array }).chainCode).equals(Buffer.from(p2.result().chainCode))).to.equal(true);
    });

    it('rejects a cc1 opening that differs from the committed one (P1 cannot choose the chain code after seeing cc2)', () => {
      const flip = (cc: Uint8Array) => { const x = new Uint8Array(cc); x[0]! ^= 1; return x; };
      const e = evilP1({ openCc1: flip });
      expectCode(e.deliver, 'MPC_PROOF_FAILED');
      expectCode(() => e.p2.result(), 'MPC_STATE');
      // Malformed cc1 (wrong length, missing): a schema error.
      expectCode(evilP1({ openCc1: (cc) => cc.subarray(1) }).deliver, 'MPC_INVALID_MESSAGE');
      expectCode(evilP1({ mutate: (p) => { const { cc1: _omit, ...rest } = p; return rest; } }).deliver, 'MPC_INVALID_MESSAGE');
    });

    it('rejects Q1 that is not on the curve, or the zero encoding', () => {
      const bad = Uint8Array.from([3, ...new Uint8Array(32).fill(0xff)]);
      expectCode(evilP1({ opening: (_q, proofQ1) => ({ Q1: bad, proofQ1 }) }).deliver, 'MPC_INVALID_MESSAGE');
      expectCode(evilP1({ opening: (_q, proofQ1) => ({ Q1: new Uint8Array(33), proofQ1 }) }).deliver, 'MPC_INVALID_MESSAGE');
    });

    it('rejects a tampered Schnorr proof for Q1 (committed as sent)', () => {
      const tamperedZ = (proof: DlogProof) => {
        const z = new Uint8Array(proof.z);
        z[31]! ^= 1;
        return { ...proof, z };
      };
      expectCode(evilP1({ opening: (Q1, proof) => ({ Q1, proofQ1: tamperedZ(proof) }) }).deliver, 'MPC_PROOF_FAILED');
      // A z ≥ q is refused rather than reduced.
      expectCode(evilP1({ opening: (Q1, proof) => ({ Q1, proofQ1: { ...proof, z: new Uint8Array(32).fill(0xff) } }) }).deliver, 'MPC_PROOF_FAILED');
      // A proof made for another prover id does not transfer.
      expectCode(evilP1({
        opening: (Q1, _p, sessionId) => {
          const x = randomScalar();
          return { Q1: mulBase(x).toBytes(true), proofQ1: proveDlog(x, mulBase(x), { sessionId, prover: 2, label: `${ECDSA_KEYGEN_PROTOCOL}/Q1` }) };
        },
      }).deliver, 'MPC_PROOF_FAILED');
    });

    it('rejects an opening that does not match the commitment', () => {
      expectCode(evilP1({ mutate: (p) => ({ ...p, Q1: G.multiply(5n).toBytes(true) }) }).deliver, 'MPC_PROOF_FAILED');
      expectCode(evilP1({ mutate: (p) => ({ ...p, salt: new Uint8Array(32) }) }).deliver, 'MPC_PROOF_FAILED');
    });

    it('rejects a tampered Πlog* and a c_key that encrypts something else', () => {
      expectCode(evilP1({
        mutate: (p) => {
          const pl = { ...(p.proofLog as Record<string, Uint8Array>) };
          const z2 = new Uint8Array(pl.z2!);
          z2[z2.length - 1]! ^= 2;
          return { ...p, proofLog: { ...pl, z2 } };
        },
      }).deliver, 'MPC_PROOF_FAILED');
      // c_key = Enc(x1 + 1) with the original proof.
      expectCode(evilP1({ mutate: (p, { pk, x1 }) => ({ ...p, cKey: uintToWire(pk.encrypt(x1 + 1n).c) }) }).deliver, 'MPC_PROOF_FAILED');
      // c_key = Enc(x1) ⊕ Enc(q): same value mod q, but a fresh ciphertext the proof does not cover.
      expectCode(evilP1({ mutate: (p, { pk, x1 }) => ({ ...p, cKey: uintToWire(pk.encrypt(x1 + CURVE_ORDER).c) }) }).deliver, 'MPC_PROOF_FAILED');
    });

    it('rejects a c_key that is not a valid Paillier ciphertext', () => {
      const n = honestKey.publicKey.n;
      for (const c of [n * n, honestKey.q * 7n]) {
        expectCode(evilP1({ mutate: (p) => ({ ...p, cKey: uintToWire(c) }) }).deliver, 'MPC_INVALID_MESSAGE');
      }
    });

    it('rejects a prime Paillier modulus and one with a factor below 2^16 (shape checks)', () => {
      const prime = generateBlumPrime(2048);
      expectCode(evilP1({ mutate: (p) => ({ ...p, paillier: { ...(p.paillier as object), N: uintToWire(prime) } }) }).deliver, 'MPC_INVALID_KEY');
      const n = 3n * (randomBits(2046) | (1n << 2045n) | 1n); // 2048 bits, divisible by 3
      expectCode(evilP1({ mutate: (p) => ({ ...p, paillier: { ...(p.paillier as object), N: uintToWire(n) } }) }).deliver, 'MPC_INVALID_KEY');
      // Too short a modulus.
      expectCode(evilP1({ mutate: (p) => ({ ...p, paillier: { ...(p.paillier as object), N: uintToWire(generatePaillierKeyPair(1024).publicKey.n) } }) }).deliver, 'MPC_INVALID_KEY');
    });

    it('rejects a Paillier–Blum modulus with a small (128-bit) factor: Πfac fails (BitForge)', () => {
      let p: bigint, q: bigint;
      do {
        p = generateBlumPrime(128);
        q = generateBlumPrime(1920);
      } while ((p * q).toString(2).length !== 2048);
      const evil = evilP1({ key: { n: p * q, p, q } });
      const e = expectCode(evil.deliver, 'MPC_PROOF_FAILED');
      expect(e.message).to.contain('Πfac');
      expect(evil.p2.done).to.equal(false);
    });

    it('rejects a modulus that is not Paillier–Blum (p ≡ 1 mod 4): Πmod fails', () => {
      let p: bigint, q: bigint;
      do {
        p = generatePrimeSync(1024, { bigint: true, add: 4n, rem: 1n }) as bigint;
        q = generatePrimeSync(1024, { bigint: true, add: 4n, rem: 1n }) as bigint;
      } while ((p * q).toString(2).length !== 2048);
      const e = expectCode(evilP1({ key: { n: p * q, p, q } }).deliver, 'MPC_PROOF_FAILED');
      expect(e.message).to.contain('Πmod');
    });

    it('rejects round-1 garbage, a message for the wrong round, and a replay from another session', () => {
      const sessionId = sid();
      const p2 = new EcdsaKeygenP2({ sessionId, ringPedersen: aux, minRingPedersenBits: TEST_AUX_BITS });
      p2.start();
      const env = (round: number, payload: unknown): MpcMessage => ({ protocol: ECDSA_KEYGEN_PROTOCOL, sessionId, from: 1, to: 2, round, payload });
      expectCode(() => deliverTo(p2, env(1, { commitment: new Uint8Array(65) })), 'MPC_INVALID_MESSAGE');
      expectCode(() => deliverTo(p2, env(1, { commitment: new Uint8Array(64) })), 'MPC_STATE');

      const fresh = () => {
        const p = new EcdsaKeygenP2({ sessionId: sid(), ringPedersen: aux, minRingPedersenBits: TEST_AUX_BITS });
        p.start();
        return p;
      };
      // An honest round-3 message from a completed session, replayed into a new one.
      const a = evilP1();
      const recorded: MpcMessage[] = [];
      const orig = a.p2.receive.bind(a.p2);
      a.p2.receive = (m: AuthenticatedMessage) => { recorded.push(m); return orig(m); };
      a.deliver();
      const replay = recorded[0]!;
      const victim = fresh();
      expectCode(() => deliverTo(victim, replay), 'MPC_SESSION_MISMATCH');
      // Wrong round: a round-3 message first.
      const victim2 = fresh();
      expectCode(() => deliverTo(victim2, { ...replay, sessionId: victim2.sessionId }), 'MPC_INVALID_MESSAGE');
    });
  });

  describe('P1 against a malicious P2', () => {
    function withTamper(round: number, f: (p: Record<string, unknown>) => Record<string, unknown>, minBits = TEST_AUX_BITS) {
      const sessionId = sid();
      const k1 = new EcdsaKeygenP1({ sessionId, paillier: honestKey, minRingPedersenBits: minBits });
      const k2 = new EcdsaKeygenP2({ sessionId, ringPedersen: aux, minRingPedersenBits: TEST_AUX_BITS });
      return { k1, go: () => run(k1, k2, (m) => (m.round === round ? { ...m, payload: f(m.payload as Record<string, unknown>) } : m)) };
    }

    it('rejects an invalid Q2 and a proof for another point', () => {
      expectCode(withTamper(2, (p) => ({ ...p, Q2: Uint8Array.from([2, ...new Uint8Array(32).fill(0xff)]) })).go, 'MPC_INVALID_MESSAGE');
      expectCode(withTamper(2, (p) => ({ ...p, Q2: G.multiply(3n).toBytes(true) })).go, 'MPC_PROOF_FAILED');
    });

    it('rejects ring-Pedersen parameters with a tampered Πprm, degenerate s/t, or too short a modulus', () => {
      const tamperAux = (f: (a: { params: Record<string, Uint8Array>; proof: { A: Uint8Array[]; z: Uint8Array[] } }) => unknown) =>
        (p: Record<string, unknown>) => ({ ...p, aux: f(p.aux as never) });
      expectCode(withTamper(2, tamperAux((a) => ({ ...a, proof: { ...a.proof, z: [uintToWire(12345n), ...a.proof.z.slice(1)] } }))).go, 'MPC_PROOF_FAILED');
      expectCode(withTamper(2, tamperAux((a) => ({ ...a, params: { ...a.params, s: uintToWire(1n) } }))).go, 'MPC_PROOF_FAILED');
      expectCode(withTamper(2, tamperAux((a) => ({ ...a, params: { ...a.params, s: a.params.t } }))).go, 'MPC_PROOF_FAILED');
      // Production minimum (2048 bits) refuses the 1024-bit test parameters.
      const t = withTamper(2, (p) => p, 2048);
      expectCode(t.go, 'MPC_PROOF_FAILED');
      expectCode(() => t.k1.result(), 'MPC_STATE');
    });

    it('rejects a key confirmation for another key or another chain code', () => {
      const t = withTamper(4, (p) => ({ ...p, Q: G.multiply(2n).toBytes(true) }));
      expectCode(t.go, 'MPC_INVALID_MESSAGE');
      expect(t.k1.done).to.equal(false);
      const u = withTamper(4, (p) => { const chainCode = new Uint8Array(p.chainCode as Uint8Array); chainCode[31]! ^= 0x80; return { ...p, chainCode }; });
      const e = expectCode(u.go, 'MPC_INVALID_MESSAGE');
      expect(e.message).to.contain('chain code');
      expect(u.k1.done).to.equal(false);
      expectCode(withTamper(4, (p) => ({ Q: p.Q })).go, 'MPC_INVALID_MESSAGE');
    });

    it('rejects a malformed cc2 (wrong length, wrong type, missing)', () => {
      for (const bad of [new Uint8Array(31), new Uint8Array(33), 'cc2', 7]) {
        const t = withTamper(2, (p) => ({ ...p, cc2: bad }));
        const e = expectCode(t.go, 'MPC_INVALID_MESSAGE');
        expect(e.message).to.contain('cc2');
        expectCode(() => t.k1.result(), 'MPC_STATE');
      }
      expectCode(withTamper(2, (p) => { const { cc2: _omit, ...rest } = p; return rest; }).go, 'MPC_INVALID_MESSAGE');
    });

    it('a cc2 replaced in flight (by the relay) is caught by the key confirmation', () => {
      // P1 derives its chain code from the cc2 it received, P2 from the one it sent: the confirmation differs.
      const forced = new Uint8Array(32).fill(0x5a);
      const sessionId = sid();
      const k1 = new EcdsaKeygenP1({ sessionId, paillier: honestKey, minRingPedersenBits: TEST_AUX_BITS });
      const k2 = new EcdsaKeygenP2({ sessionId, ringPedersen: aux, minRingPedersenBits: TEST_AUX_BITS });
      let cc1: Uint8Array | undefined;
      let original: Uint8Array | undefined;
      expectCode(() => run(k1, k2, (m) => {
        if (m.round === 2) { original = (m.payload as { cc2: Uint8Array }).cc2; return { ...m, payload: { ...(m.payload as object), cc2: forced } }; }
        if (m.round === 3) cc1 = (m.payload as { cc1: Uint8Array }).cc1;
        return m;
      }), 'MPC_INVALID_MESSAGE');
      expect(k2.done).to.equal(true);
      expect(k1.done).to.equal(false);
      expect(Buffer.from(k2.result().chainCode).equals(expectedChainCode(sessionId, cc1!, original!))).to.equal(true);
    });
  });
});
