// The co-signer's work over HTTP: long poll held and woken, given up when the co-signer hangs up,
// leases handed over between two paired co-signers, heartbeats, idempotent results through the
// kind's registered handler, signed work items, and state versions that may not go back.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { toHex } from '../../shared/bytes.js';
import { CosignerError } from '../../shared/errors.js';
import { decodePairingToken } from '../../shared/cosigner-api/pairing-token.js';
import { verifyWorkItem, type SignableWorkItem } from '../../shared/cosigner-api/work-item-signature.js';
import { signStateReport } from '../../shared/cosigner-api/state-report.js';
import type { WorkKind } from '../../coordinator/work-queue/work-queue.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';
import { EmulatedEnclave, TestCosigner, pairingTokenFor } from './support/cosigner.js';

describe('co-signer API: work', function () {
  this.timeout(60_000);
  let enclave: EmulatedEnclave;
  let c: TestCoordinator;
  let admin: TestUser;
  let a: TestCosigner;
  let b: TestCosigner;
  let token: string;
  let applied: Array<{ id: string; result: unknown }>;

  before(() => {
    enclave = EmulatedEnclave.create();
  });
  after(() => enclave?.close());
  beforeEach(async () => {
    c = await startCoordinator({ attestationRoot: enclave.rootPem, cosignerLeaseMs: 1500 });
    admin = await c.user('ADMIN');
    const signer = await c.user('SIGNER', 'signer');
    await signedFetch(c, admin, 'PUT', '/v1/cosigner-attestation-policy', { pcr0: enclave.pcr(0) });
    token = await pairingTokenFor(c, admin, signer.row.id);
    a = await new TestCosigner(c, enclave).pair(token);
    b = await new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, signer.row.id));
    applied = [];
    c.app.workResults.register('SIGN', {
      parse: (r) => {
        if (typeof (r as { signature?: unknown })?.signature !== 'string') throw new CosignerError('SCHEMA_VIOLATION', 'a SIGN result is {signature}');
        return r;
      },
      apply: async (_trx, item, result) => void applied.push({ id: item.id, result }),
    });
  });
  afterEach(async () => {
    await c?.close();
  });

  const add = async (payload: unknown, kind: WorkKind = 'SIGN') => {
    const id = await c.db.transaction().execute((trx) => c.app.workQueue.enqueue(trx, c.workspace.id, kind, payload));
    c.app.workQueue.wake(c.workspace.id);
    return id;
  };
  const itemRow = (id: string) => c.db.selectFrom('work_items').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('holds a poll while there is no work, and answers the moment an item is added, signed with the service key', async () => {
    const t0 = Date.now();
    const empty = await a.poll(300);
    expect(empty.status, JSON.stringify(empty.json)).to.equal(200);
    expect(empty.json).to.deep.equal({ item: null, signature: null });
    expect(Date.now() - t0, 'held for waitMs').to.be.greaterThanOrEqual(250);

    const waiting = a.poll(20_000);
    await new Promise((r) => setTimeout(r, 100));
    const id = await add({ n: 1, sessionId: toHex(randomBytes(32)) });
    const t1 = Date.now();
    const got = await waiting;
    expect(Date.now() - t1, 'woken by the add, not by the 20 s hold').to.be.lessThan(10_000);
    expect(got.status).to.equal(200);
    const item = got.json.item as SignableWorkItem;
    expect(item).to.include({ id, workspaceId: c.workspace.id, kind: 'SIGN', attempt: 1 });
    expect((await itemRow(id)).lease_owner).to.equal(a.cosignerId);

    // The enclave checks the signature with the key it pinned from the pairing token.
    const pinned = decodePairingToken(token).serviceKeySha256;
    const sk = (await (await fetch(`${c.baseUrl}/cosigner/v1/service-key`)).json()) as { publicKeySpki: string };
    const spki = new Uint8Array(Buffer.from(sk.publicKeySpki, 'base64'));
    expect(verifyWorkItem(item, got.json.signature, spki, pinned)).to.equal(true);
    const changed: SignableWorkItem[] = [
      { ...item, id: `${item.id.slice(0, -1)}0` === item.id ? `${item.id.slice(0, -1)}1` : `${item.id.slice(0, -1)}0` },
      { ...item, workspaceId: 'another' },
      { ...item, kind: 'KEYGEN' },
      { ...item, payload: { n: 2, sessionId: (item.payload as { sessionId: string }).sessionId } },
      { ...item, attempt: 2 },
      { ...item, leaseExpiresAt: item.leaseExpiresAt + 1 },
    ];
    for (const x of changed) expect(verifyWorkItem(x, got.json.signature, spki, pinned), JSON.stringify(x)).to.equal(false);
    expect(verifyWorkItem(item, got.json.signature, spki, '0'.repeat(64)), 'another pinned key').to.equal(false);
  });

  it('gives up a held poll when the co-signer hangs up, so the next item goes to a poll that is still there', async () => {
    const ac = new AbortController();
    const gone = a.pollThenHangUp(20_000, ac.signal);
    await new Promise((r) => setTimeout(r, 150));
    ac.abort();
    expect(await gone).to.equal('aborted');
    await new Promise((r) => setTimeout(r, 150));
    const id = await add({ n: 1 });
    const got = await b.poll(5_000);
    expect(got.json.item?.id).to.equal(id);
    expect(got.json.item?.attempt, 'nobody leased it before').to.equal(1);
    expect((await itemRow(id)).lease_owner).to.equal(b.cosignerId);
  });

  it('closing the coordinator answers held polls with no item instead of holding them for their 30 s', async function () {
    this.timeout(20_000);
    const held = a.poll(30_000);
    await new Promise((r) => setTimeout(r, 150));
    const closing = c.close();
    const r = await held;
    expect(r.status).to.equal(200);
    expect(r.json).to.deep.equal({ item: null, signature: null });
    await closing;
    c = undefined as unknown as TestCoordinator;
  });

  it('a co-signer that stops heartbeating loses its lease to the other; results are idempotent and refused from the old holder', async () => {
    const id = await add({ n: 1 });
    const first = await a.poll(1_000);
    expect(first.json.item.id).to.equal(id);
    const hb = await a.heartbeat(id);
    expect(hb.status, JSON.stringify(hb.json)).to.equal(200);
    expect(hb.json.leaseExpiresAt).to.be.greaterThan(Date.now());
    const notHers = await b.heartbeat(id);
    expect(notHers.status).to.equal(409);
    expect(notHers.json.code).to.equal(1610);

    const second = await b.poll(10_000); // woken by the lease's expiry
    expect(second.json.item?.id).to.equal(id);
    expect(second.json.item?.attempt).to.equal(2);
    const lost = await a.heartbeat(id);
    expect(lost.status).to.equal(409);
    expect(lost.json.code).to.equal(1610);
    const late = await a.result(id, { signature: 'aa' });
    expect(late.status).to.equal(409);
    expect(late.json.code).to.equal(1610);

    const r1 = await b.result(id, { signature: 'bb' });
    expect(r1.status, JSON.stringify(r1.json)).to.equal(200);
    expect(r1.json.status).to.equal('recorded');
    const r2 = await b.result(id, { signature: 'bb' });
    expect(r2.json.status).to.equal('duplicate');
    const r3 = await b.result(id, { signature: 'cc' });
    expect(r3.status).to.equal(409);
    expect(applied).to.deep.equal([{ id, result: { signature: 'bb' } }]);
    expect((await itemRow(id)).state).to.equal('DONE');
    const malformed = await b.result(id, { nope: 1 });
    expect(malformed.status).to.equal(400);
    expect(malformed.json.message).to.match(/a SIGN result is/);
  });

  it('refuses results of a kind with no handler (nothing recorded), and items of other workspaces', async () => {
    const id = await add({ n: 1 }, 'KEYGEN');
    expect((await a.poll(1_000)).json.item.id).to.equal(id);
    const r = await a.result(id, { x: 1 });
    expect(r.status).to.equal(501);
    expect(r.json.code).to.equal(1615);
    expect((await itemRow(id)).state).to.equal('LEASED');
    const missing = await a.result('00000000-0000-0000-0000-000000000000', { x: 1 });
    expect(missing.status).to.equal(404);
  });

  it('records the highest state version and refuses an older one, a forked digest, and a report not signed by the co-signer', async () => {
    a.stateVersion = 5;
    expect((await a.poll(0)).status).to.equal(200);
    expect(Number((await c.db.selectFrom('cosigners').select('state_version').where('id', '=', a.cosignerId).executeTakeFirstOrThrow()).state_version)).to.equal(5);
    const older = await a.poll(0, { version: 4 });
    expect(older.status).to.equal(409);
    expect(older.json.code).to.equal(1608);
    const id = await add({ n: 1 });
    expect((await a.poll(0, { version: 4 })).status, 'no work to an older state').to.equal(409);
    expect((await itemRow(id)).state).to.equal('READY');
    const fork = await a.call('GET', a.pollPath(0, 5, toHex(randomBytes(32))));
    expect(fork.status).to.equal(409);
    expect(fork.json.code).to.equal(1608);
    // b's identity key signing a's report
    const s = signStateReport({ stateVersion: 6, stateDigest: a.stateDigest, at: Date.now() }, { cosignerId: a.cosignerId, purpose: 'poll' }, b.identity);
    const forged = await a.call('GET', `/cosigner/v1/work?waitMs=0&stateVersion=6&stateDigest=${s.stateDigest}&stateAt=${s.at}&stateSignature=${encodeURIComponent(s.signature)}`);
    expect(forged.status).to.equal(400);
    expect(forged.json.code).to.equal(1609);
    // a poll's report is not a result's
    const pollReport = a.state('poll');
    const moved = await a.call('POST', `/cosigner/v1/work/${id}/result`, { result: { signature: 'x' }, state: pollReport });
    expect(moved.status).to.equal(400);
    a.stateVersion = 6;
    const got = await a.poll(1_000);
    expect(got.json.item.id).to.equal(id);
    const oldResult = await a.result(id, { signature: 'x' }, 5);
    expect(oldResult.status).to.equal(409);
    expect(applied).to.deep.equal([]);
    expect((await a.result(id, { signature: 'x' })).json.status).to.equal('recorded');
    // another co-signer's versions are its own
    expect((await b.poll(0, { version: 1 })).status).to.equal(200);
  });

  it('the MPC relay answers 503 with a code when no MPC party is configured', async () => {
    // a hello of the right shape: the answer is about the missing party, not the body
    const hello = { ephemeralPublicKey: randomBytes(32).toString('base64'), signature: randomBytes(64).toString('base64') };
    const r = await a.call('POST', `/cosigner/v1/mpc/${toHex(randomBytes(32))}/opening`, { hello });
    expect(r.status).to.equal(503);
    expect(r.json.code).to.equal(1611);
  });
});
