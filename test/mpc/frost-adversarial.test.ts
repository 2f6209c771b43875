// A hostile peer against the FROST state machines: invalid points, out-of-range scalars, forged
// proofs and shares, equivocation, replay from another session, wrong rounds. Every case must
// end in a typed CosignerError (naming the culprit where the protocol can), and a dead session
// must stay dead.
import { expect } from 'chai';
import { deliverTo } from './deliver.js';
import { randomBytes } from 'node:crypto';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { isCosignerError, type ErrorCode } from '../../shared/errors.js';
import { encodeCbor } from '../../shared/cbor.js';
import type { MpcMessage, Party } from '../../shared/mpc/party.js';
import { FrostDkgParty, FrostKeyShare, FrostSignParty, frostSuite, type FrostScheme } from '../../shared/mpc/frost/index.js';

type Payload = Record<string, unknown>;

function expectError(fn: () => unknown, code: ErrorCode, culprit?: number): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).to.satisfy((e: unknown) => isCosignerError(e));
  expect((caught as { code: string }).code, (caught as Error).message).to.equal(code);
  if (culprit !== undefined) expect((caught as { details?: Record<string, unknown> }).details?.culprit).to.equal(culprit);
}

function deliver<T>(parties: Party<T>[], msgs: MpcMessage[]): MpcMessage[] {
  const out: MpcMessage[] = [];
  for (const m of msgs) out.push(...deliverTo(parties.find((p) => p.self === m.to)!, m));
  return out;
}

function withPayload(m: MpcMessage, change: Payload): MpcMessage {
  return { ...m, payload: { ...(m.payload as Payload), ...change } };
}

function dkgParties(scheme: FrostScheme, parties = [1, 2], threshold = 2, sessionId = randomBytes(32)): FrostDkgParty[] {
  return parties.map((self) => new FrostDkgParty({ scheme, sessionId, self, parties, threshold }));
}

function runAll<T>(parties: Party<T>[]): T[] {
  let q = parties.flatMap((p) => p.start());
  while (q.length) q = deliver(parties, q);
  return parties.map((p) => p.result());
}

const keysCache = new Map<string, FrostKeyShare[]>();
function keys(scheme: FrostScheme): FrostKeyShare[] {
  if (!keysCache.has(scheme)) keysCache.set(scheme, runAll(dkgParties(scheme, [1, 2, 3], 2)));
  return keysCache.get(scheme)!;
}

function signParties(scheme: FrostScheme, signers = [1, 2], message: Uint8Array = randomBytes(32), sessionId = randomBytes(32)): FrostSignParty[] {
  return signers.map((i) => new FrostSignParty({ keyShare: keys(scheme)[i - 1]!, sessionId, signers, message }));
}

/** s + 1 mod n, and the encoding of n itself (the smallest out-of-range scalar). */
function scalarPlusOne(scheme: FrostScheme, b: Uint8Array): Uint8Array {
  const suite = frostSuite(scheme);
  return suite.encodeScalar((suite.decodeScalar(b, 'x') + 1n) % suite.order);
}
function orderBytes(scheme: FrostScheme): Uint8Array {
  const n = frostSuite(scheme).order;
  const be = Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
  return scheme === 'ed25519' ? new Uint8Array(be.reverse()) : new Uint8Array(be);
}

/** Points that must never be accepted, per scheme. */
function badPoints(scheme: FrostScheme): Array<[string, Uint8Array]> {
  if (scheme === 'ed25519') {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    let offCurve: Uint8Array | undefined;
    for (let y = 2; !offCurve; y++) {
      const b = new Uint8Array(32);
      b[0] = y;
      try {
        ed25519.Point.fromBytes(b);
      } catch {
        offCurve = b;
      }
    }
    const nonCanonical = new Uint8Array(32).fill(0xff);
    nonCanonical[0] = 0xee; // y = p + 1 ≡ 1, encoded non-canonically
    nonCanonical[31] = 0x7f;
    return [
      ['identity', identity],
      ['off-curve', offCurve],
      ['small-order (torsion)', new Uint8Array(Buffer.from(ED25519_TORSION_SUBGROUP[1]!, 'hex'))],
      ['non-canonical', nonCanonical],
    ];
  }
  let offCurve: Uint8Array | undefined;
  for (let x = 1; !offCurve; x++) {
    const b = new Uint8Array(33);
    b[0] = 2;
    b[32] = x;
    try {
      secp256k1.Point.fromBytes(b);
    } catch {
      offCurve = b;
    }
  }
  const badPrefix = secp256k1.Point.BASE.toBytes(true);
  badPrefix[0] = 4;
  const xTooBig = new Uint8Array(33).fill(0xff);
  xTooBig[0] = 2;
  return [
    ['off-curve', offCurve],
    ['bad prefix', badPrefix],
    ['x ≥ p', xTooBig],
    ['x-only (32 bytes)', secp256k1.Point.BASE.toBytes(true).slice(1)],
  ];
}

describe('FROST against a malicious peer', function () {
  this.timeout(60_000);

  for (const scheme of ['ed25519', 'bip340'] as const) {
    describe(scheme, () => {
      it('DKG round 1: every invalid / identity / small-order point in a commitment is refused', () => {
        for (const [what, bad] of badPoints(scheme)) {
          // Three parties, so the round is not complete yet: the check at receipt is what is tested.
          const parties = dkgParties(scheme, [1, 2, 3], 2);
          const r1 = parties.flatMap((p) => p.start());
          const fromTwo = r1.find((m) => m.from === 2)!;
          const commitment = [...((fromTwo.payload as Payload).commitment as Uint8Array[])];
          commitment[1] = bad;
          expectError(() => deliverTo(parties[0]!, withPayload(fromTwo, { commitment })), 'MPC_INVALID_MESSAGE');
          // and the session is dead afterwards
          expectError(() => deliverTo(parties[0]!, fromTwo), 'MPC_STATE');
          void what;
        }
      });

      it('DKG round 1: a forged proof of knowledge is refused and names its sender', () => {
        const parties = dkgParties(scheme);
        const r1 = parties.flatMap((p) => p.start());
        const fromTwo = r1.find((m) => m.from === 2)!;
        const proof = new Uint8Array((fromTwo.payload as Payload).proofOfKnowledge as Uint8Array);
        proof.set(scalarPlusOne(scheme, proof.slice(32)), 32);
        expectError(() => deliverTo(parties[0]!, withPayload(fromTwo, { proofOfKnowledge: proof })), 'MPC_PROOF_FAILED', 2);
      });

      it('DKG round 2: a share off its VSS commitment, an out-of-range share, a tampered sealed share, a wrong chain-code opening or echo are refused', () => {
        // A cheating dealer: party 2 changes the plaintext share before it is sealed.
        class CheatingDkg extends FrostDkgParty {
          constructor(private readonly cheat: (share: Uint8Array) => Uint8Array, o: ConstructorParameters<typeof FrostDkgParty>[0]) {
            super(o);
          }
          protected override outgoingShare(_peer: number, share: Uint8Array): Uint8Array {
            return this.cheat(share);
          }
        }
        const dealerCases: Array<[string, (share: Uint8Array) => Uint8Array, ErrorCode, number | undefined]> = [
          ['share + 1', (z) => scalarPlusOne(scheme, z), 'MPC_PROOF_FAILED', 2],
          ['share = n', () => orderBytes(scheme), 'MPC_INVALID_MESSAGE', undefined],
        ];
        for (const [what, cheat, code, culprit] of dealerCases) {
          const sessionId = randomBytes(32);
          const parties = [new FrostDkgParty({ scheme, sessionId, self: 1 }), new CheatingDkg(cheat, { scheme, sessionId, self: 2 })];
          const r2 = deliver(parties, parties.flatMap((p) => p.start()));
          expectError(() => deliverTo(parties[0]!, r2.find((m) => m.from === 2)!), code, culprit);
          void what;
        }
        const flip = (b: Uint8Array) => {
          const c = new Uint8Array(b);
          c[20] ^= 1;
          return c;
        };
        const wireCases: Array<[string, (p: Payload) => Payload, ErrorCode]> = [
          ['sealed share bit flip', (p) => ({ sealedShare: flip(p.sealedShare as Uint8Array) }), 'MPC_INVALID_MESSAGE'],
          ['chain code', () => ({ chainCodeContribution: randomBytes(32) }), 'MPC_PROOF_FAILED'],
          ['echo', () => ({ round1Echo: randomBytes(64) }), 'MPC_INVALID_MESSAGE'],
        ];
        for (const [what, change, code] of wireCases) {
          const parties = dkgParties(scheme);
          const r2 = deliver(parties, parties.flatMap((p) => p.start()));
          const fromTwo = r2.find((m) => m.from === 2)!;
          expectError(() => deliverTo(parties[0]!, withPayload(fromTwo, change(fromTwo.payload as Payload))), code, 2);
          void what;
        }
      });

      it('DKG round 2: the secret share never crosses the wire in the clear', () => {
        const seen: Uint8Array[] = [];
        class Recording extends FrostDkgParty {
          protected override outgoingShare(_peer: number, share: Uint8Array): Uint8Array {
            seen.push(new Uint8Array(share));
            return share;
          }
        }
        const sessionId = randomBytes(32);
        const parties = [1, 2, 3].map((self) => new Recording({ scheme, sessionId, self, parties: [1, 2, 3], threshold: 2 }));
        const r2 = deliver(parties, parties.flatMap((p) => p.start()));
        const wire = Buffer.from(encodeCbor(r2));
        expect(seen.length).to.equal(6);
        for (const share of seen) expect(wire.includes(Buffer.from(share))).to.equal(false);
        deliver(parties, r2);
        expect(parties.every((p) => p.done)).to.equal(true);
      });

      it('signing: a tampered signature share makes the aggregate fail and is then named (RFC 9591 §5.4)', () => {
        const parties = signParties(scheme, [1, 3]);
        const r2 = deliver(parties, parties.flatMap((p) => p.start()));
        const fromThree = r2.find((m) => m.from === 3)!;
        const z = (fromThree.payload as Payload).signatureShare as Uint8Array;
        expectError(() => deliverTo(parties[0]!, withPayload(fromThree, { signatureShare: scalarPlusOne(scheme, z) })), 'MPC_SIGNATURE_INVALID', 3);
        expect(parties[0]!.done).to.equal(false);
        expectError(() => parties[0]!.result(), 'MPC_STATE');
      });

      it('signing: shares are checked only when the aggregate fails (RFC 9591 §5.3/§5.4), then every cheater is named', () => {
        // A bad share arriving first does not end the session: nothing is verified per share until
        // all are in and the aggregate signature fails.
        const parties = signParties(scheme, [1, 2, 3]);
        const r2 = deliver(parties, parties.flatMap((p) => p.start()));
        const to1 = (from: number) => r2.find((m) => m.from === from && m.to === 1)!;
        const z2 = (to1(2).payload as Payload).signatureShare as Uint8Array;
        expect(deliverTo(parties[0]!, withPayload(to1(2), { signatureShare: scalarPlusOne(scheme, z2) }))).to.deep.equal([]);
        expectError(() => deliverTo(parties[0]!, to1(3)), 'MPC_SIGNATURE_INVALID', 2);
        // Two cheaters: both named.
        const again = signParties(scheme, [1, 2, 3]);
        const s2 = deliver(again, again.flatMap((p) => p.start()));
        const bad = (from: number) => {
          const m = s2.find((x) => x.from === from && x.to === 1)!;
          return withPayload(m, { signatureShare: scalarPlusOne(scheme, (m.payload as Payload).signatureShare as Uint8Array) });
        };
        deliverTo(again[0]!, bad(2));
        let caught: unknown;
        try { deliverTo(again[0]!, bad(3)); } catch (e) { caught = e; }
        expect((caught as { details?: Record<string, unknown> }).details?.culprits).to.equal('2, 3');
        // The honest parties' shares were fine: party 2 finishes with party 3's and its own.
        deliver(again, s2.filter((m) => m.to === 2));
        expect(again[1]!.done).to.equal(true);
      });

      // Ed25519 only: secp256k1 has cofactor 1, every curve point is in the prime-order group.
      if (scheme === 'ed25519') it('signing: a valid commitment plus a torsion point (not small-order, not torsion-free) is refused', () => {
        for (const t of ED25519_TORSION_SUBGROUP.slice(1)) {
          for (const field of ['hiding', 'binding']) {
            const parties = signParties(scheme, [1, 2, 3]);
            const r1 = parties.flatMap((p) => p.start());
            const fromTwo = r1.find((m) => m.from === 2 && m.to === 1)!;
            const honest = ed25519.Point.fromBytes((fromTwo.payload as Payload)[field] as Uint8Array);
            const mixed = honest.add(ed25519.Point.fromBytes(Buffer.from(t, 'hex'))).toBytes();
            expect(ed25519.Point.fromBytes(mixed).isSmallOrder()).to.equal(false);
            expectError(() => deliverTo(parties[0]!, withPayload(fromTwo, { [field]: mixed })), 'MPC_INVALID_MESSAGE');
          }
        }
      });

      it('signing: an out-of-range share and invalid nonce commitments are refused', () => {
        {
          const parties = signParties(scheme);
          const r2 = deliver(parties, parties.flatMap((p) => p.start()));
          expectError(() => deliverTo(parties[0]!, withPayload(r2.find((m) => m.from === 2)!, { signatureShare: orderBytes(scheme) })), 'MPC_INVALID_MESSAGE');
        }
        for (const [, bad] of badPoints(scheme)) {
          for (const field of ['hiding', 'binding']) {
            const parties = signParties(scheme, [1, 2, 3]);
            const r1 = parties.flatMap((p) => p.start());
            const fromTwo = r1.find((m) => m.from === 2)!;
            expectError(() => deliverTo(parties[0]!, withPayload(fromTwo, { [field]: bad })), 'MPC_INVALID_MESSAGE');
          }
        }
      });

      it('signing: a tampered share is still named once the verifying-share tables are built (they are built on the second failed aggregate), and honest signing goes on', () => {
        const shares = runAll(dkgParties(scheme));
        const tamperedRun = () => {
          const sessionId = randomBytes(32);
          const msg = randomBytes(32);
          const parties = shares.map((keyShare) => new FrostSignParty({ keyShare, sessionId, signers: [1, 2], message: msg }));
          const r2 = deliver(parties, parties.flatMap((p) => p.start()));
          const fromTwo = r2.find((m) => m.from === 2)!;
          const z = (fromTwo.payload as Payload).signatureShare as Uint8Array;
          expectError(() => deliverTo(parties[0]!, withPayload(fromTwo, { signatureShare: scalarPlusOne(scheme, z) })), 'MPC_SIGNATURE_INVALID', 2);
          // the untampered share from the same run is accepted by the other party
          deliver(parties, r2.filter((m) => m.from === 1));
          expect(parties[1]!.done).to.equal(true);
        };
        for (let i = 0; i < 3; i++) tamperedRun(); // the third check uses the table built by the second
        const sessionId = randomBytes(32);
        const msg = randomBytes(32);
        const sigs = runAll(shares.map((keyShare) => new FrostSignParty({ keyShare, sessionId, signers: [1, 2], message: msg })));
        expect(sigs[0]!.signature).to.deep.equal(sigs[1]!.signature);
      });

      it('signing: a peer signing another message or under another key is named in round 1', () => {
        const msg = randomBytes(32);
        const sessionId = randomBytes(32);
        const a = new FrostSignParty({ keyShare: keys(scheme)[0]!, sessionId, signers: [1, 2], message: msg });
        const b = new FrostSignParty({ keyShare: keys(scheme)[1]!, sessionId, signers: [1, 2], message: randomBytes(32) });
        a.start();
        expectError(() => deliverTo(a, b.start()[0]!), 'MPC_INVALID_MESSAGE', 2);
        const other = runAll(dkgParties(scheme));
        const c = new FrostSignParty({ keyShare: keys(scheme)[0]!, sessionId, signers: [1, 2], message: msg });
        const d = new FrostSignParty({ keyShare: other[1]!, sessionId, signers: [1, 2], message: msg });
        c.start();
        expectError(() => deliverTo(c, d.start()[0]!), 'MPC_INVALID_MESSAGE', 2);
      });
    });
  }

  it('a message replayed from another session is refused (DKG and signing)', () => {
    const s1 = dkgParties('ed25519');
    const s2 = dkgParties('ed25519');
    s1.forEach((p) => p.start());
    const fromOther = s2.flatMap((p) => p.start()).find((m) => m.to === 1)!;
    expectError(() => deliverTo(s1[0]!, fromOther), 'MPC_SESSION_MISMATCH');

    const a = signParties('bip340');
    const b = signParties('bip340');
    a.forEach((p) => p.start());
    const replay = b.flatMap((p) => p.start()).find((m) => m.to === 1)!;
    expectError(() => deliverTo(a[0]!, replay), 'MPC_SESSION_MISMATCH');
    // Same session id but another protocol (ed25519 message to a bip340 party) is refused too.
    const sessionId = randomBytes(32);
    const x = signParties('bip340', [1, 2], randomBytes(32), sessionId);
    const y = signParties('ed25519', [1, 2], randomBytes(32), sessionId);
    x[0]!.start();
    expectError(() => deliverTo(x[0]!, y[1]!.start()[0]!), 'MPC_SESSION_MISMATCH');
  });

  it('wrong round, duplicates, strangers and extra fields are refused; a dead party stays dead', () => {
    const mk = () => {
      const parties = signParties('ed25519');
      const r1 = parties.flatMap((p) => p.start());
      return { parties, fromTwo: r1.find((m) => m.from === 2)! };
    };
    let t = mk();
    expectError(() => deliverTo(t.parties[0]!, { ...t.fromTwo, round: 3 }), 'MPC_INVALID_MESSAGE');
    expectError(() => deliverTo(t.parties[0]!, t.fromTwo), 'MPC_STATE');
    t = mk();
    expectError(() => deliverTo(t.parties[0]!, { ...t.fromTwo, round: 0 }), 'MPC_INVALID_MESSAGE');
    t = mk();
    deliverTo(t.parties[0]!, t.fromTwo);
    expectError(() => deliverTo(t.parties[0]!, t.fromTwo), 'MPC_INVALID_MESSAGE'); // stale round-1 message in round 2
    t = mk();
    expectError(() => deliverTo(t.parties[0]!, { ...t.fromTwo, from: 3 }), 'MPC_INVALID_MESSAGE'); // 3 is not a signer
    t = mk();
    expectError(() => deliverTo(t.parties[0]!, { ...t.fromTwo, to: 2 }), 'MPC_INVALID_MESSAGE');
    t = mk();
    expectError(() => deliverTo(t.parties[0]!, withPayload(t.fromTwo, { extra: 1 })), 'MPC_INVALID_MESSAGE');
    t = mk();
    expectError(() => deliverTo(t.parties[0]!, { ...t.fromTwo, payload: null }), 'MPC_INVALID_MESSAGE');
    t = mk();
    expectError(() => t.parties[0]!.start(), 'MPC_STATE'); // a signing party runs once
  });

  it('a signing set must include self, hold shares of the key and reach the threshold', () => {
    const [k1] = keys('ed25519');
    const base = { keyShare: k1!, sessionId: randomBytes(32), message: randomBytes(32) };
    expectError(() => new FrostSignParty({ ...base, signers: [1] }), 'MPC_INVALID_MESSAGE');
    expectError(() => new FrostSignParty({ ...base, signers: [2, 3] }), 'MPC_INVALID_MESSAGE');
    expectError(() => new FrostSignParty({ ...base, signers: [1, 4] }), 'MPC_INVALID_MESSAGE');
    expectError(() => new FrostSignParty({ ...base, signers: [1, 1] }), 'MPC_INVALID_MESSAGE');
    expectError(() => new FrostSignParty({ ...base, signers: [1, 2], sessionId: randomBytes(16) }), 'MPC_INVALID_MESSAGE');
    expectError(() => new FrostDkgParty({ scheme: 'ed25519', sessionId: randomBytes(32), self: 1, parties: [1, 2], threshold: 3 }), 'MPC_INVALID_MESSAGE');
    expectError(() => new FrostDkgParty({ scheme: 'ed25519', sessionId: randomBytes(32), self: 1, parties: [1, 2, 3], threshold: 1 }), 'MPC_INVALID_MESSAGE');
  });

  it('a round-2 message that overtakes a slow peer\'s round-1 message is held, not lost (3-party DKG)', () => {
    const parties = dkgParties('bip340', [1, 2, 3], 2);
    const r1 = parties.flatMap((p) => p.start());
    // Parties 2 and 3 get all of round 1; party 1 gets only party 2's round-1 message for now.
    const late = r1.find((m) => m.from === 3 && m.to === 1)!;
    const r2 = deliver(parties, r1.filter((m) => m !== late));
    const toOne = r2.filter((m) => m.to === 1);
    expect(toOne.length).to.equal(2);
    expect(deliver(parties, toOne)).to.deep.equal([]); // held until round 1 is complete
    const rest = deliver(parties, [late, ...r2.filter((m) => m.to !== 1)]);
    deliver(parties, rest);
    const [k1, k2, k3] = parties.map((p) => p.result());
    expect(Buffer.from(k1!.groupPublicKey).equals(Buffer.from(k3!.groupPublicKey))).to.equal(true);
    expect(Buffer.from(k2!.chainCode).equals(Buffer.from(k3!.chainCode))).to.equal(true);
  });

  it('equivocation in DKG round 1 (different commitments to different peers) is caught by the echo', () => {
    const sessionId = randomBytes(32);
    const parties = dkgParties('ed25519', [1, 2, 3], 2, sessionId);
    const r1 = parties.flatMap((p) => p.start());
    // Party 3 runs a second, independent round 1 (valid proof!) and sends that one to party 1 only.
    const twin = dkgParties('ed25519', [1, 2, 3], 2, sessionId)[2]!;
    const forked = twin.start().find((m) => m.to === 1)!;
    const honest = r1.filter((m) => !(m.from === 3 && m.to === 1));
    const r2 = deliver(parties.slice(0, 2), [...honest.filter((m) => m.to !== 3), forked]);
    // Party 1 computes its echo over the forked transcript; party 2's echo differs → caught.
    const fromTwo = r2.find((m) => m.from === 2 && m.to === 1)!;
    expectError(() => deliverTo(parties[0]!, fromTwo), 'MPC_INVALID_MESSAGE', 2);
  });
});
