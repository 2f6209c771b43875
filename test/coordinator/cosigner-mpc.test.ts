// The MPC relay over HTTP with a test double of the coordinator's MPC party (the seam of
// coordinator/mpc/party-endpoint.ts; routes, storage and authentication are the real ones):
// exactly-once delivery per round, replayed answers, conflicts, and only the lease holder speaks.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { toHex } from '../../shared/bytes.js';
import { CosignerError } from '../../shared/errors.js';
import { frameFromJson, frameToJson, helloFromJson, helloToJson, type MpcFrame, type MpcHello } from '../../shared/cosigner-api/mpc-channel.js';
import type { MpcOpening, MpcPartyEndpoint, MpcSessionRef } from '../../coordinator/mpc/party-endpoint.js';
import { signedFetch, startCoordinator, type TestCoordinator } from './support/build-app.js';
import { EmulatedEnclave, TestCosigner, pairingTokenFor } from './support/cosigner.js';

/** The relay carries frames it cannot read: opaque bytes here, so only the relay's own behaviour is under test. */
const opaque = (sessionId: Uint8Array, seq: number, body: Uint8Array | string): MpcFrame => ({
  sessionId: new Uint8Array(sessionId), seq, ciphertext: new Uint8Array(typeof body === 'string' ? Buffer.from(body.padEnd(16, '.')) : body),
});

/** Answers each round with one frame of the next sequence number, and counts what it was given. */
class FakeParty implements MpcPartyEndpoint {
  readonly received: Array<{ ref: MpcSessionRef; messages: MpcFrame[] }> = [];
  readonly hellos: MpcHello[] = [];
  openings = 0;

  async opening(ref: MpcSessionRef, hello: MpcHello): Promise<MpcOpening> {
    this.openings++;
    this.hellos.push(hello);
    return { hello: { ephemeralPublicKey: new Uint8Array(randomBytes(32)), signature: new Uint8Array(randomBytes(64)) }, messages: [opaque(ref.sessionId, 0, 'opening')] };
  }

  /** Set to make the next receive() fail. */
  failWith: Error | null = null;

  async receive(ref: MpcSessionRef, messages: MpcFrame[]): Promise<MpcFrame[]> {
    this.received.push({ ref, messages });
    const f = this.failWith;
    this.failWith = null;
    if (f) throw f;
    return [opaque(ref.sessionId, messages[0]!.seq, `answer ${this.received.length} ${toHex(randomBytes(8))}`)];
  }
}

describe('co-signer API: MPC relay', function () {
  this.timeout(60_000);
  let enclave: EmulatedEnclave;
  let c: TestCoordinator;
  let party: FakeParty;
  let a: TestCosigner;
  let b: TestCosigner;
  let sessionId: string;
  let itemId: string;

  before(() => {
    enclave = EmulatedEnclave.create();
  });
  after(() => enclave?.close());
  beforeEach(async () => {
    party = new FakeParty();
    c = await startCoordinator({ attestationRoot: enclave.rootPem, mpcParty: party, cosignerLeaseMs: 1500 });
    const admin = await c.user('ADMIN');
    const signer = await c.user('SIGNER', 'signer');
    await signedFetch(c, admin, 'PUT', '/v1/cosigner-attestation-policy', { pcr0: enclave.pcr(0) });
    a = await new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, signer.row.id));
    b = await new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, signer.row.id));
    sessionId = toHex(randomBytes(32));
    itemId = await c.db.transaction().execute(async (trx) => {
      const id = await c.app.workQueue.enqueue(trx, c.workspace.id, 'SIGN', { sessionId });
      // The session as the coordinator records it with the item that names it (mpc/signing-requests.ts).
      const t = Date.now();
      await trx.insertInto('mpc_sessions').values({
        id: sessionId, workspace_id: c.workspace.id, kind: 'SIGN', algorithm: 'MPC_EDDSA_ED25519', work_item_id: id, transaction_id: null, message_index: null,
        params: '{}', cosigner_id: null, state: 'OPEN', result: null, failure: null, created_at: t, updated_at: t,
      }).execute();
      return id;
    });
    c.app.workQueue.wake(c.workspace.id);
    const got = await a.poll(1_000);
    expect(got.json.item?.id).to.equal(itemId);
  });
  afterEach(async () => {
    await c?.close();
  });

  const msg = (seq: number, body: Uint8Array | string = `frame ${seq}`, sid = sessionId) => frameToJson(opaque(Buffer.from(sid, 'hex'), seq, body));
  const hello = () => helloToJson({ ephemeralPublicKey: new Uint8Array(randomBytes(32)), signature: new Uint8Array(randomBytes(64)) });
  const send = (cs: TestCosigner, messages: unknown[], sid = sessionId) => cs.call('POST', `/cosigner/v1/mpc/${sid}/messages`, { messages });

  it('relays the channel hello and a round to the party and back, byte for byte', async () => {
    const mine = hello();
    const opening = await a.call('POST', `/cosigner/v1/mpc/${sessionId}/opening`, { hello: mine });
    expect(opening.status, JSON.stringify(opening.json)).to.equal(200);
    expect(helloToJson(party.hellos[0]!), 'the hello delivered as sent').to.deep.equal(mine);
    expect(helloFromJson(opening.json.hello).ephemeralPublicKey).to.have.length(32);
    expect(opening.json.messages).to.have.length(1);
    expect(frameFromJson(opening.json.messages[0]).seq).to.equal(0);
    const sent = msg(0, 'party');
    const r = await send(a, [sent]);
    expect(r.status, JSON.stringify(r.json)).to.equal(200);
    expect(party.received).to.have.length(1);
    expect(party.received[0]!.ref).to.deep.include({ workspaceId: c.workspace.id, cosignerId: a.cosignerId });
    expect(toHex(party.received[0]!.ref.sessionId)).to.equal(sessionId);
    expect(frameToJson(party.received[0]!.messages[0]!), 'delivered byte for byte').to.deep.equal(sent);
    const back = frameFromJson(r.json.messages[0]);
    expect(back.seq).to.equal(0);
    expect(Buffer.from(back.ciphertext).toString()).to.match(/^answer 1 /);
  });

  it('a retried identical POST gets the stored answer without a second receive(); another POST for that round is 409', async () => {
    const round = [msg(2)];
    const first = await send(a, round);
    expect(first.status).to.equal(200);
    const again = await send(a, round);
    expect(again.status).to.equal(200);
    expect(again.json).to.deep.equal(first.json);
    expect(again.headers.get('mpc-replayed')).to.equal('true');
    expect(party.received).to.have.length(1);
    const different = await send(a, [msg(2, 'other bytes')]);
    expect(different.status).to.equal(409);
    expect(different.json.code).to.equal(1613);
    expect(party.received).to.have.length(1);
    const next = await send(a, [msg(4)]);
    expect(next.status).to.equal(200);
    expect(party.received).to.have.length(2);
  });

  it('a typed refusal of the party is the round\'s stored answer; an unexpected failure frees the round for a retry', async () => {
    party.failWith = new CosignerError('MPC_INVALID_MESSAGE', 'bad proof in round 2');
    const refused = await send(a, [msg(2)]);
    expect(refused.status).to.equal(422);
    expect(refused.json.code).to.equal(1614);
    const again = await send(a, [msg(2)]);
    expect(again.status).to.equal(422);
    expect(again.json.message).to.equal(refused.json.message);
    expect(party.received).to.have.length(1);

    party.failWith = new Error('party crashed');
    const crashed = await send(a, [msg(4)]);
    expect(crashed.status).to.equal(500);
    expect(JSON.stringify(crashed.json)).to.not.include('crashed');
    const retried = await send(a, [msg(4)]);
    expect(retried.status).to.equal(200);
    expect(party.received).to.have.length(3);
  });

  it('only the co-signer holding the session\'s work item may use it; after hand-over, only the new holder', async () => {
    for (const [what, r] of [
      ['opening', await b.call('POST', `/cosigner/v1/mpc/${sessionId}/opening`, { hello: hello() })],
      ['messages', await send(b, [msg(2)])],
      ['unknown session', await send(a, [msg(2, 'x', toHex(randomBytes(32)))], toHex(randomBytes(32)))],
    ] as const) {
      expect(r.status, what).to.equal(403);
      expect(r.json.code, what).to.equal(1612);
    }
    const noToken = await a.call('POST', `/cosigner/v1/mpc/${sessionId}/messages`, { messages: [msg(2)] }, { token: null });
    expect(noToken.status).to.equal(401);
    expect(party.received).to.have.length(0);
    expect(party.openings).to.equal(0);

    const taken = await b.poll(10_000); // a's lease expires
    expect(taken.json.item?.id).to.equal(itemId);
    expect((await send(a, [msg(2)])).status).to.equal(403);
    expect((await send(b, [msg(2)])).status).to.equal(200);
    // finished: its last holder may still fetch the answers of a round it retries
    expect((await b.result(itemId, {})).status).to.equal(501); // no SIGN handler registered here
    c.app.workResults.register('SIGN', { parse: (x) => x, apply: async () => undefined });
    expect((await b.result(itemId, {})).json.status).to.equal('recorded');
    const retry = await send(b, [msg(2)]);
    expect(retry.status).to.equal(200);
    expect(retry.headers.get('mpc-replayed')).to.equal('true');
    expect((await send(a, [msg(2)])).status).to.equal(403);
  });

  it('carries a round as large as key generation\'s (300 KiB of payload) over the default body limit', async () => {
    const big = msg(2, new Uint8Array(randomBytes(300 * 1024)));
    const r = await send(a, [big]);
    expect(r.status, JSON.stringify(r.json)).to.equal(200);
    expect(frameToJson(party.received[0]!.messages[0]!)).to.deep.equal(big);
  });

  it('refuses malformed relay requests (400) without calling the party', async () => {
    const good = msg(2);
    const cases: unknown[] = [
      { messages: [] },
      { messages: [{ ...good, sessionId: toHex(randomBytes(32)) }] },
      { messages: [{ ...good, ciphertext: Buffer.alloc(10).toString('base64') }] },
      { messages: [{ ...good, ciphertext: 'not base64!' }] },
      { messages: [{ ...good, seq: -1 }] },
      { messages: [{ ...good, seq: 1.5 }] },
      { messages: [{ ...good, extra: 1 }] },
      { messages: [good], extra: 1 },
      { messages: 'x' },
    ];
    for (const body of cases) {
      const r = await a.call('POST', `/cosigner/v1/mpc/${sessionId}/messages`, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).to.equal(400);
      expect(r.json.code).to.be.a('number');
    }
    expect((await a.call('POST', `/cosigner/v1/mpc/nothex/messages`, { messages: [good] })).status).to.equal(400);
    for (const body of [{}, { hello: { ...hello(), signature: 'short' } }, { hello: { ...hello(), extra: 1 } }, { hello: hello(), extra: 1 }]) {
      const r = await a.call('POST', `/cosigner/v1/mpc/${sessionId}/opening`, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).to.equal(400);
    }
    expect(party.openings).to.equal(0);
    expect(party.received).to.have.length(0);
    expect(Number((await c.db.selectFrom('mpc_relay_answers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)).to.equal(0);
  });
});
