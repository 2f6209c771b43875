// The enclave's MPC sessions against a hostile parent that makes pairings of its own (a hostile
// review's findings): a key share serves only the coordinator it was made with; whose callback
// decides does not depend on the pairing the parent names; a state with two shares of one key is
// never sealed; and every MPC message goes through the session's end-to-end channel, so a parent
// that forges a hello, or alters, replays, reorders or moves a frame, gets a typed refusal, no
// signature, and an enclave that keeps serving.
import { expect } from 'chai';
import { verify as edVerify, createPublicKey } from 'node:crypto';
import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { createLogger } from '../../shared/log.js';
import { FrostDkgParty, FrostSignParty, deriveFrostKeyShare, type FrostKeyShare, type FrostSignature } from '../../shared/mpc/frost/index.js';
import { Ed25519Identity, ed25519Peers, openMpcMessage, sealMpcMessage } from '../../shared/mpc/authenticated-message.js';
import { acceptCosignerHello, frameFromJson, frameToJson, helloFromJson, helloToJson, type MpcChannel, type MpcFrameJson } from '../../shared/cosigner-api/mpc-channel.js';
import { identityKeyOf } from '../../enclave/state.js';
import { serviceKeyFingerprint } from '../../shared/cosigner-api/keys.js';
import { signWorkItem } from '../../shared/cosigner-api/work-item-signature.js';
import { MpcSessions } from '../../enclave/mpc/mpc-sessions.js';
import { signResponseJwt } from '../../shared/callback/response-jwt.js';
import { SealedStateHolder } from '../../enclave/state-changes.js';
import { createInitialState, encodeState, type EnclaveState, type Pairing } from '../../enclave/state.js';
import { runTwoParties } from '../support/run-parties.js';
import { expectCosignerError, expectCosignerRejection } from '../support/expect-error.js';

function coordinatorKey(): { key: KeyObject; spki: Uint8Array; sha: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  return { key: privateKey, spki, sha: serviceKeyFingerprint(spki) };
}

const handler = generateKeyPairSync('rsa', { modulusLength: 2048 });
const handlerKey = new Uint8Array(handler.publicKey.export({ format: 'der', type: 'spki' }));

function pairing(c: { spki: Uint8Array; sha: string }, ids: { cosignerId: string; workspaceId: string; userId: string }, createdAt: number, callback = false): Pairing {
  return {
    tokenId: randomUUID(), coordinatorUrl: 'https://coordinator.example', serviceKeySha256: c.sha, serviceKeySpki: c.spki, status: 'active', ...ids, createdAt,
    ...(callback ? { callback: { url: 'https://handler.example/cb', handlerPublicKeySpki: handlerKey, allowPlainHttp: false } } : {}),
  };
}

function signItem(c: { key: KeyObject }, workspaceId: string, initiatorId: string) {
  const item = {
    id: randomUUID(), workspaceId, kind: 'SIGN', attempt: 1, leaseExpiresAt: Date.now() + 60_000,
    payload: {
      transactionId: randomUUID(), initiatorId, algorithm: 'MPC_EDDSA_ED25519', coordinatorPartyId: 1, cosignerPartyId: 2,
      messages: [{ index: 0, sessionId: randomBytes(32).toString('hex'), content: Buffer.from('pay me').toString('hex'), derivationPath: [44, 501, 0, 0, 0] }],
    },
  };
  return { itemJson: JSON.stringify(item), signature: signWorkItem(item, c.key) };
}

describe('enclave MPC sessions against a hostile parent', function () {
  this.timeout(60_000);
  const real = coordinatorKey();
  const fake = coordinatorKey(); // the parent's own "coordinator"
  const W = 'workspace-victim';
  let state: EnclaveState;
  let coordinatorShare: FrostKeyShare;

  before(() => {
    const sessionId = new Uint8Array(randomBytes(32));
    const [p1, p2] = [1, 2].map((self) => new FrostDkgParty({ scheme: 'ed25519', sessionId, self, parties: [1, 2], threshold: 2 }));
    runTwoParties(p1!, p2!);
    const share = p2!.result();
    coordinatorShare = p1!.result();
    state = {
      ...createInitialState(),
      pairings: [
        pairing(real, { cosignerId: 'cs-with-callback', workspaceId: W, userId: 'user-a' }, 1, true),
        pairing(real, { cosignerId: 'cs-no-callback', workspaceId: W, userId: 'user-b' }, 2),
        // Made by the parent: BeginPairing with a token it wrote, CompletePairing with ids it chose.
        pairing(fake, { cosignerId: 'evil', workspaceId: W, userId: 'user-b' }, 3),
      ],
      keyShares: [{ workspaceId: W, algorithm: 'MPC_EDDSA_ED25519', publicKey: Buffer.from(share.groupPublicKey).toString('hex'), share: share.encode(), createdAt: 1, sessionId: Buffer.from(sessionId).toString('hex'), serviceKeySha256: real.sha }],
    };
  });

  function sessions(s: EnclaveState, o: { now?: () => number; callbackRetryIntervalMs?: number } = {}): MpcSessions {
    const holder = new SealedStateHolder({ state: s, file: { kmsCiphertext: new Uint8Array(8), sealed: new Uint8Array(64) } }, new Uint8Array(randomBytes(32)), 'arn:aws:kms:us-east-1:111122223333:key/test');
    return new MpcSessions({ holder: () => holder, log: createLogger('test', { level: 'silent' }), ringPedersenBits: 2048, ...o });
  }

  it('an approval stays pending through every RETRY, each answered at the 30 s deadline, even with a short retry interval', async () => {
    let t = 1_000_000;
    const m = sessions(state, { now: () => t, callbackRetryIntervalMs: 200 });
    const started = await m.start({ cosignerId: 'cs-no-callback', ...signItem(real, W, 'not-paired-here') });
    const requestId = started.approval!.requestId;
    const answer = (action: 'RETRY' | 'APPROVE') => ({ ok: true as const, status: 200 as const, contentType: 'text/plain', body: new TextEncoder().encode(signResponseJwt({ action, requestId }, handler.privateKey)) });
    for (let i = 0; i < 20; i++) {
      t += 30_000; // the handler answers at the parent's deadline
      expect((await m.approvalAnswer({ requestId, answer: answer('RETRY') })).retryAfterMs).to.equal(200);
      t += 200;
    }
    t += 30_000;
    expect((await m.approvalAnswer({ requestId, answer: answer('APPROVE') })).sessions).to.have.length(1);
  });

  it("a share serves only its own coordinator: an item the parent's pairing signs for the victim workspace finds no share", async () => {
    await expectCosignerRejection(sessions(state).start({ cosignerId: 'evil', ...signItem(fake, W, 'nobody') }), 'MPC_STATE', /holds no MPC_EDDSA_ED25519 key share/);
  });

  it('the callback of the workspace decides whichever pairing the parent names: an initiator not paired here still gets a callback', async () => {
    const m = sessions(state);
    const viaNoCallback = await m.start({ cosignerId: 'cs-no-callback', ...signItem(real, W, 'not-paired-here') });
    expect(viaNoCallback.sessions, 'nothing signed before the callback answers').to.deep.equal([]);
    expect(viaNoCallback.approval?.url).to.equal('https://handler.example/cb');
    // The initiator's own pairing, without a callback, decides for its own requests.
    const own = await m.start({ cosignerId: 'cs-with-callback', ...signItem(real, W, 'user-b') });
    expect(own.approval).to.equal(null);
    expect(own.sessions).to.have.length(1);
  });

  it('the enclave policy refuses work the coordinator signed and its TAP let through: an operation the user may not initiate, before any callback or session', async () => {
    const limited: EnclaveState = {
      ...state,
      policies: [{ serviceKeySha256: real.sha, workspaceId: W, policy: { assets: [], users: [{ userId: 'user-b', operations: ['TRANSFER'] }] }, changeId: randomUUID(), approvalSha256: 'ab'.repeat(32), setAt: 1 }],
    };
    const m = sessions(limited);
    const e = await expectCosignerRejection(m.start({ cosignerId: 'cs-with-callback', ...signItem(real, W, 'user-b') }), 'POLICY_VIOLATION', /does not allow RAW for API user user-b/);
    expect(e.details?.reason).to.equal('operation');
    // Another user of the workspace is not limited: its RAW signing goes on.
    expect((await m.start({ cosignerId: 'cs-no-callback', ...signItem(real, W, 'user-a') })).approval?.url).to.equal('https://handler.example/cb');
    // The same policy sealed for another coordinator's workspace limits nothing here.
    const elsewhere = { ...limited, policies: [{ ...limited.policies![0]!, serviceKeySha256: fake.sha }] };
    expect((await sessions(elsewhere).start({ cosignerId: 'cs-with-callback', ...signItem(real, W, 'user-b') })).sessions).to.have.length(1);
  });

  it('a state with two shares of one key is refused before it is sealed', () => {
    const twice = { ...state, keyShares: [state.keyShares[0]!, { ...state.keyShares[0]!, sessionId: 'ab'.repeat(32) }] };
    expectCosignerError(() => encodeState(twice), 'SCHEMA_VIOLATION', /two key shares/);
  });

  // ---- the session channel, with the test as the coordinator's FROST party (the real service key)

  interface Run { m: MpcSessions; item: { id: string; payload: { messages: Array<{ sessionId: string; content: string; derivationPath: number[] }> } }; sid: string; hello: string }

  async function open(m = sessions(state)): Promise<Run> {
    const signed = signItem(real, W, 'user-b'); // user-b's own pairing has no callback: approved unasked
    const started = await m.start({ cosignerId: 'cs-with-callback', ...signed });
    expect(started.sessions).to.have.length(1);
    return { m, item: JSON.parse(signed.itemJson), sid: started.sessions[0]!.sessionId, hello: JSON.stringify(started.sessions[0]!.hello) };
  }

  /** The coordinator's side: accepts the enclave's hello, opens its FROST party; its first frames. */
  function coordinator(r: Run): { channel: MpcChannel; party: FrostSignParty; hello: string; opening: MpcFrameJson[] } {
    const msg = r.item.payload.messages[0]!;
    const sessionId = new Uint8Array(Buffer.from(msg.sessionId, 'hex'));
    const identity = new Ed25519Identity(1, real.key);
    const enclaveIdentity = new Ed25519Identity(2, identityKeyOf(state)).publicKey;
    const peer = ed25519Peers(new Map([[2, enclaveIdentity]]));
    const a = acceptCosignerHello({ sessionId, workItemId: r.item.id, cosignerIdentity: enclaveIdentity, coordinatorIdentity: identity.publicKey }, helloFromJson(JSON.parse(r.hello)), peer, identity);
    const party = new FrostSignParty({ keyShare: deriveFrostKeyShare(coordinatorShare, msg.derivationPath).keyShare, sessionId, signers: [1, 2], message: Buffer.from(msg.content, 'hex') });
    const opening = party.start().map((x) => frameToJson(a.channel.seal(sealMpcMessage(x, identity))));
    return { channel: a.channel, party, hello: JSON.stringify(helloToJson(a.hello)), opening };
  }

  function answer(c: ReturnType<typeof coordinator>, sid: Uint8Array, frames: MpcFrameJson[]): MpcFrameJson[] {
    const identity = new Ed25519Identity(1, real.key);
    const peer = ed25519Peers(new Map([[2, new Ed25519Identity(2, identityKeyOf(state)).publicKey]]));
    return frames.flatMap((f) => c.party.receive(openMpcMessage(c.channel.open(frameFromJson(f)), { self: 1, sessionId: sid, peers: peer })))
      .map((x) => frameToJson(c.channel.seal(sealMpcMessage(x, identity))));
  }

  const step = (r: Run, peerHello: string | null, inbound: unknown[]) => r.m.step({ sessionId: r.sid, peerHello: peerHello === null ? null : JSON.parse(peerHello), inbound });

  function finish(r: Run): FrostSignature {
    const c = coordinator(r);
    const sid = new Uint8Array(Buffer.from(r.sid, 'hex'));
    let inbound: MpcFrameJson[] = c.opening;
    let peerHello: string | null = c.hello;
    for (let round = 0; round < 8 && !c.party.done; round++) {
      const out = step(r, peerHello, inbound);
      peerHello = null;
      inbound = answer(c, sid, out.outbound);
    }
    expect(c.party.done).to.equal(true);
    return c.party.result() as FrostSignature;
  }

  it('through the channel an approved item is signed: the signature verifies, and the frames never show a plaintext message', async () => {
    const r = await open();
    const c = coordinator(r);
    const first = step(r, c.hello, c.opening);
    expect(first.outbound.length).to.be.greaterThan(0);
    for (const f of first.outbound) expect(Buffer.from(f.ciphertext, 'base64').includes(Buffer.from('frost'))).to.equal(false);
    const sid = new Uint8Array(Buffer.from(r.sid, 'hex'));
    answer(c, sid, first.outbound);
    expect(c.party.done).to.equal(true);
    const sig = c.party.result() as FrostSignature;
    const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), sig.publicKey]), format: 'der', type: 'spki' });
    expect(edVerify(null, Buffer.from(r.item.payload.messages[0]!.content, 'hex'), pub, sig.signature)).to.equal(true);
  });

  it('a hello the parent signed itself, a second hello, or a frame before any hello: refused, the session aborted, nothing signed', async () => {
    const r1 = await open();
    const forgedRun = { ...r1 };
    const impostor = coordinator({ ...r1 }); // built with the real key; re-sign its hello with the parent's own key
    const parentSigned = acceptCosignerHello(
      { sessionId: new Uint8Array(Buffer.from(r1.sid, 'hex')), workItemId: r1.item.id, cosignerIdentity: new Ed25519Identity(2, identityKeyOf(state)).publicKey, coordinatorIdentity: new Ed25519Identity(1, fake.key).publicKey },
      helloFromJson(JSON.parse(r1.hello)), { verify: () => true }, new Ed25519Identity(1, fake.key));
    expectCosignerError(() => step(forgedRun, JSON.stringify(helloToJson(parentSigned.hello)), []), 'MPC_INVALID_MESSAGE', /pinned service key/);
    expectCosignerError(() => step(r1, impostor.hello, impostor.opening), 'MPC_STATE', /no open MPC session/);

    const r2 = await open(r1.m);
    const c2 = coordinator(r2);
    step(r2, c2.hello, []);
    expectCosignerError(() => step(r2, c2.hello, []), 'MPC_INVALID_MESSAGE', /second hello/);

    const r3 = await open(r1.m);
    const c3 = coordinator(r3);
    expectCosignerError(() => step(r3, null, c3.opening), 'MPC_INVALID_MESSAGE', /hello must come before/);
    // The enclave keeps serving honest requests afterwards.
    expect((await finish(await open(r1.m))).signature).to.have.length(64);
  });

  it('a frame replayed, altered, or moved from another session: refused, the session aborted; honest sessions go on', async () => {
    const m = sessions(state);
    const a = await open(m);
    const b = await open(m);
    const ca = coordinator(a);
    const cb = coordinator(b);
    const aFirst = step(a, ca.hello, []).outbound; // a's commitment, released by the hello
    step(b, cb.hello, []);
    // a's frame into b: another session (its session id is in the frame, and b's key would not open it).
    expectCosignerError(() => step(b, null, [{ ...ca.opening[0]!, sessionId: b.sid }]), 'MPC_INVALID_MESSAGE', /does not decrypt/);
    const c = await open(m);
    const cc = coordinator(c);
    step(c, cc.hello, cc.opening);
    expectCosignerError(() => step(c, null, cc.opening), 'MPC_INVALID_MESSAGE', /replayed/);
    const d = await open(m);
    const cd = coordinator(d);
    const bad = Buffer.from(cd.opening[0]!.ciphertext, 'base64');
    bad[3]! ^= 0x80;
    expectCosignerError(() => step(d, cd.hello, [{ ...cd.opening[0]!, ciphertext: bad.toString('base64') }]), 'MPC_INVALID_MESSAGE', /does not decrypt/);
    // Each refused session is gone: the genuine frames find nothing.
    for (const [r, x] of [[b, cb], [c, cc], [d, cd]] as const) expectCosignerError(() => step(r, null, x.opening), 'MPC_STATE', /no open MPC session/);
    // a, untouched, completes; and a new item signs.
    const sid = new Uint8Array(Buffer.from(a.sid, 'hex'));
    const aSecond = step(a, null, ca.opening).outbound;
    // Dropped frames are noticed by the coordinator too: a's share without its commitment before it.
    expect(() => answer(ca, sid, aSecond)).to.throw(/frame 1 arrived before frame 0/);
    answer(ca, sid, [...aFirst, ...aSecond]);
    expect(ca.party.done).to.equal(true);
    expect((await finish(await open(m))).signature).to.have.length(64);
  });
});
