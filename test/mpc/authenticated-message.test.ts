// Parties take only authenticated messages (issue 7 item 9; shared/mpc/authenticated-message.ts).
// A relay between the parties (the parent, the coordinator's transport) can replay and rewrite
// signed messages but not sign new ones: an old valid c3 replayed into a new session is refused
// before P1 decrypts anything, so it cannot lock P1's key.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { MpcMessage, Party } from '../../shared/mpc/party.js';
import {
  Ed25519Identity, ed25519Peers, envelopeDigest, isAuthenticated, openMpcMessage, sealMpcMessage,
  type AuthenticatedMessage, type SignedMpcMessage,
} from '../../shared/mpc/authenticated-message.js';
import { EcdsaSignP1, EcdsaSignP2 } from '../../shared/mpc/ecdsa/sign.js';
import { EcdsaKeyShareP1, type EcdsaKeyShareP2 } from '../../shared/mpc/ecdsa/key-share.js';
import { MemoryKeyLockStore, ecdsaKeyId } from '../../shared/mpc/ecdsa/key-lock-store.js';
import { FrostDkgParty, FrostSignParty, type FrostKeyShare } from '../../shared/mpc/frost/index.js';
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import { expectCosignerError } from '../support/expect-error.js';
import { ecdsaTestKeys } from '../support/ecdsa-keys.js';

const sid = () => new Uint8Array(randomBytes(32));
const wire = <T>(x: T): T => decodeCbor(encodeCbor(x)) as T;

/** Two parties' transports: each signs what its party sends and opens what it receives. */
class Link {
  readonly ids = new Map<number, Ed25519Identity>();
  readonly peers;
  constructor(partyIds: number[]) {
    for (const id of partyIds) this.ids.set(id, Ed25519Identity.generate(id));
    this.peers = ed25519Peers(new Map([...this.ids].map(([id, i]) => [id, i.publicKey])));
  }
  seal(m: MpcMessage): SignedMpcMessage {
    return wire(sealMpcMessage(m, this.ids.get(m.from)!));
  }
  open(to: Party<unknown>, delivered: unknown): AuthenticatedMessage {
    return openMpcMessage(delivered, { self: to.self, sessionId: to.sessionId, peers: this.peers });
  }
}

/** Run P1/P2 signing over `link`, letting `relay` replace any signed message in flight. */
function signOver(link: Link, p1: EcdsaSignP1, p2: EcdsaSignP2, relay: (s: SignedMpcMessage) => SignedMpcMessage = (s) => s): void {
  const queue: MpcMessage[] = [...p2.start(), ...p1.start()];
  while (queue.length) {
    const m = queue.shift()!;
    const to = m.to === p1.self ? p1 : p2;
    queue.push(...to.receive(link.open(to, wire(relay(link.seal(m))))));
  }
}

describe('mpc — authenticated envelopes', function () {
  this.timeout(120_000);
  let share1: EcdsaKeyShareP1;
  let share2: EcdsaKeyShareP2;
  const link = new Link([1, 2]);
  const hash = new Uint8Array(32).fill(5);

  before(() => {
    ({ share1, share2 } = ecdsaTestKeys());
  });

  function pair(s1: EcdsaKeyShareP1, lockStore: MemoryKeyLockStore, sessionId = sid()) {
    return { p1: new EcdsaSignP1(s1, { sessionId, messageHash: hash, lockStore }), p2: new EcdsaSignP2(share2, { sessionId, messageHash: hash }) };
  }

  it('an old valid c3 replayed into a new session, as sent or re-addressed, is refused and does not lock P1\'s key', () => {
    const store = new MemoryKeyLockStore();
    const s1 = EcdsaKeyShareP1.decode(share1.encode());
    // Session A, honest; the relay keeps P2's signed round-4 message.
    let oldC3: SignedMpcMessage | undefined;
    const a = pair(s1, store);
    signOver(link, a.p1, a.p2, (m) => { if (m.round === 4) oldC3 = m; return m; });
    expect(a.p1.result().r).to.equal(a.p2.result().r);

    // Session B: the relay swaps in the old c3 unchanged — another session's message.
    const b = pair(s1, store);
    expectCosignerError(() => signOver(link, b.p1, b.p2, (m) => (m.round === 4 ? oldC3! : m)), 'MPC_SESSION_MISMATCH');
    // Session C: the relay rewrites the old c3's session id to C's — the signature no longer matches.
    const c = pair(s1, store);
    expectCosignerError(() => signOver(link, c.p1, c.p2, (m) => (m.round === 4 ? { ...oldC3!, sessionId: m.sessionId } : m)), 'MPC_INVALID_MESSAGE', /not signed by party 2/);
    // Neither reached decryption: the key is not locked and signs again.
    expect(store.isLocked(ecdsaKeyId(s1))).to.equal(false);
    expect(s1.locked).to.equal(false);
    const d = pair(s1, store);
    signOver(link, d.p1, d.p2);
    expect(d.p2.result().s).to.equal(d.p1.result().s);
  });

  it('a party refuses a plain MpcMessage, a copy of an authenticated one and a cast look-alike', () => {
    const store = new MemoryKeyLockStore();
    const { p1, p2 } = pair(share1, store);
    p2.start();
    const m1 = p1.start()[0]!;
    expectCosignerError(() => p2.receive(wire(m1) as unknown as AuthenticatedMessage), 'MPC_INVALID_MESSAGE', /not authenticated/);
    const q = pair(share1, store);
    q.p2.start();
    const opened = link.open(q.p2, link.seal(q.p1.start()[0]!));
    expect(isAuthenticated(opened)).to.equal(true);
    expect(isAuthenticated({ ...opened })).to.equal(false);
    expectCosignerError(() => q.p2.receive({ ...opened } as AuthenticatedMessage), 'MPC_INVALID_MESSAGE', /not authenticated/);
    expect(() => ((opened as { round: number }).round = 3)).to.throw(TypeError);
    // The refusal killed that session (handing a party an unauthenticated object is a bug in its
    // caller, not something a relay can do: openMpcMessage throws before a party sees a forgery).
    expectCosignerError(() => q.p2.receive(opened), 'MPC_STATE');
    const r = pair(share1, store);
    r.p2.start();
    expect(r.p2.receive(link.open(r.p2, link.seal(r.p1.start()[0]!)))).to.have.length(1);
  });

  it('openMpcMessage binds protocol, session, sender, recipient, round and payload bytes', () => {
    const sessionId = sid();
    const m: MpcMessage = { protocol: 'test/v1', sessionId, from: 2, to: 1, round: 4, payload: { c3: new Uint8Array([1, 2, 3]) } };
    const sealed = link.seal(m);
    const to = { self: 1, sessionId };
    const open = (x: unknown) => openMpcMessage(x, { ...to, peers: link.peers });
    const ok = open(sealed);
    expect(ok.round).to.equal(4);
    expect((ok.payload as { c3: Uint8Array }).c3).to.deep.equal(new Uint8Array([1, 2, 3]));
    const flipped = new Uint8Array(sealed.payload);
    flipped[flipped.length - 1]! ^= 1;
    for (const [what, bad] of [
      ['protocol', { ...sealed, protocol: 'test/v2' }],
      ['round', { ...sealed, round: 5 }],
      ['sender', { ...sealed, from: 1 }],
      ['payload', { ...sealed, payload: flipped }],
      ['signature', { ...sealed, signature: new Uint8Array(64) }],
      ['signature length', { ...sealed, signature: sealed.signature.subarray(1) }],
      ['unknown sender', { ...sealed, from: 9 }],
      ['not an envelope', { hello: 'world' }],
    ] as const) {
      expectCosignerError(() => open(bad), 'MPC_INVALID_MESSAGE', undefined);
      expect(what).to.be.a('string');
    }
    expectCosignerError(() => open({ ...sealed, sessionId: sid() }), 'MPC_SESSION_MISMATCH');
    expectCosignerError(() => openMpcMessage(sealed, { self: 2, sessionId, peers: link.peers }), 'MPC_INVALID_MESSAGE', /addressed to party 1/);
    // A message signed by another key for the same party id is refused.
    const impostor = Ed25519Identity.generate(2);
    expectCosignerError(() => open(wire(sealMpcMessage(m, impostor))), 'MPC_INVALID_MESSAGE');
    // A transport cannot sign a message as a party other than its own.
    expectCosignerError(() => sealMpcMessage({ ...m, from: 1 }, impostor), 'MPC_STATE');
    // The digest covers every field (length-prefixed): changing any changes it.
    const base = { ...sealed } as Omit<SignedMpcMessage, 'signature'>;
    const d0 = Buffer.from(envelopeDigest(base)).toString('hex');
    for (const change of [{ to: 2 }, { round: 3 }, { protocol: 'test/v1x' }, { payload: new Uint8Array([0xa0]) }]) {
      expect(Buffer.from(envelopeDigest({ ...base, ...change })).toString('hex')).to.not.equal(d0);
    }
  });

  it('FROST: a signature share replayed from another session, or re-addressed to it, is refused', () => {
    const flink = new Link([1, 2]);
    const sessionId = sid();
    const dkg = [1, 2].map((self) => new FrostDkgParty({ scheme: 'ed25519', sessionId, self, parties: [1, 2], threshold: 2 }));
    let q = dkg.flatMap((p) => p.start());
    while (q.length) q = q.flatMap((m) => { const to = dkg.find((p) => p.self === m.to)!; return to.receive(flink.open(to, flink.seal(m))); });
    const shares: FrostKeyShare[] = dkg.map((p) => p.result());
    const message = new Uint8Array(randomBytes(32));
    const run = (relay: (s: SignedMpcMessage) => SignedMpcMessage) => {
      const session = sid();
      const parties = shares.map((keyShare) => new FrostSignParty({ keyShare, sessionId: session, signers: [1, 2], message }));
      let msgs = parties.flatMap((p) => p.start());
      while (msgs.length) msgs = msgs.flatMap((m) => { const to = parties.find((p) => p.self === m.to)!; return to.receive(flink.open(to, wire(relay(flink.seal(m))))); });
      return parties.map((p) => p.result());
    };
    let oldShare: SignedMpcMessage | undefined;
    run((s) => { if (s.round === 2 && s.to === 1) oldShare = s; return s; });
    expectCosignerError(() => run((s) => (s.round === 2 && s.to === 1 ? oldShare! : s)), 'MPC_SESSION_MISMATCH');
    expectCosignerError(() => run((s) => (s.round === 2 && s.to === 1 ? { ...oldShare!, sessionId: s.sessionId } : s)), 'MPC_INVALID_MESSAGE');
    expect(run((s) => s)[0]!.signature).to.have.length(64);
  });
  it('sealMpcMessage refuses a malformed envelope before copying or signing it (a numeric session id allocated that many bytes)', () => {
    const good: MpcMessage = { protocol: 'p', sessionId: sid(), from: 1, to: 2, round: 1, payload: { a: 1 } };
    expect(link.open({ self: 2, sessionId: good.sessionId } as Party<unknown>, link.seal(good)).payload).to.deep.equal({ a: 1 });
    for (const bad of [
      { ...good, sessionId: 548_502_625 },
      { ...good, sessionId: new Uint8Array(31) },
      { ...good, to: 256 },
      { ...good, round: -1 },
      { ...good, protocol: 7 },
      { ...good, extra: true },
    ]) expectCosignerError(() => sealMpcMessage(bad as unknown as MpcMessage, link.ids.get(1)!), 'MPC_STATE');
  });
});
