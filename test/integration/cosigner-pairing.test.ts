// Pairing the real enclave process with the coordinator (issue 9): the NSM and KMS emulators, the
// enclave and the parent daemon run as `npm start` runs them (loopback vsock); this test plays the
// parent's pairing step through the production module (parent/pairing/) against a coordinator whose
// pairing route checks the enclave's attestation under the NSM emulator's root. Then: state versions
// that grow and are confirmed by the parent, state reports the coordinator accepts, a rolled-back
// sealed file the coordinator refuses, crashes between the steps, and a hostile parent's moves.
import { expect } from 'chai';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { signPairingRecord, type SignedPairingRecord } from '../../shared/cosigner-api/pairing-record.js';
import { LocalStack } from '../../scripts/stack.js';
import { RpcClient } from '../../shared/channel/rpc.js';
import { EnclaveMessages } from '../../shared/messages.js';
import { createLogger } from '../../shared/log.js';
import { decodePairingToken } from '../../shared/cosigner-api/pairing-token.js';
import { SealedStore } from '../../parent/sealed-store.js';
import { PairingRecords } from '../../parent/pairing/pairing-records.js';
import { pairWithCoordinator } from '../../parent/pairing/pair-with-coordinator.js';
import { storeStateChange } from '../../parent/state-sync.js';
import { startCoordinator, type TestCoordinator, type TestUser } from '../coordinator/support/build-app.js';
import { pairingTokenFor } from '../coordinator/support/cosigner.js';
import { expectCosignerRejection } from '../support/expect-error.js';
import { startCosignerStack, type CosignerStack } from './support/cosigner-stack.js';



describe('co-signer pairing: the real enclave process with the coordinator', function () {
  this.timeout(300_000);
  let cs: CosignerStack;
  let work: string;
  let stack: LocalStack;
  let c: TestCoordinator;
  let admin: TestUser;
  let client: RpcClient<typeof EnclaveMessages>;
  let store: SealedStore;
  let records: PairingRecords;
  const log = createLogger('test-pairing');

  const deps = () => ({ client, store, records, log });
  const stateVersion = async () => (await client.call('Pairings', {})).stateVersion;

  const waitReady = (from: number, outcome: string) => cs.waitReady(from, outcome);

  /** Access token for a pairing, then one poll with a fresh state report from the enclave. */
  async function poll(record: { cosignerId: string; refreshToken: string }): Promise<{ status: number; json: any }> {
    const t = await fetch(`${c.baseUrl}/cosigner/v1/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: record.refreshToken }) });
    const { accessToken } = (await t.json()) as { accessToken: string };
    const r = await client.call('StateReport', { cosignerId: record.cosignerId, purpose: 'poll' });
    const q = new URLSearchParams({ waitMs: '0', stateVersion: String(r.stateVersion), stateDigest: r.stateDigest, stateAt: String(r.at), stateSignature: r.signature });
    const res = await fetch(`${c.baseUrl}/cosigner/v1/work?${q}`, { headers: { authorization: `Bearer ${accessToken}` } });
    return { status: res.status, json: await res.json() };
  }

  async function restartEnclave(): Promise<void> {
    const mark = stack.lineCount('parent');
    await stack.stopProcess('enclave', 'SIGKILL');
    await stack.waitFor('parent', /enclave connection lost/, 30_000, mark);
    stack.startEnclave();
    await waitReady(mark, 'unsealed');
  }

  before(async () => {
    cs = await startCosignerStack('cosigner-pairing-');
    ({ work, stack } = cs);
    c = await startCoordinator({ attestationRoot: readFileSync(stack.nsmRootPem, 'utf8'), allowAnyPcrs: true });
    admin = await c.user('ADMIN', 'admin');
    client = cs.enclaveClient();
    store = new SealedStore(stack.sealedFile);
    records = new PairingRecords(join(work, 'harness')); // not the daemon's folder: this test is the parent here
  });

  after(async () => {
    await c?.close();
    await cs?.close();
  });

  let first: Awaited<ReturnType<typeof pairWithCoordinator>>;
  let firstUser: TestUser;

  it('pairs: the coordinator pins the attested identity key, the enclave pins the token\'s service key, each step a new confirmed state version', async () => {
    expect(await stateVersion()).to.equal(1);
    firstUser = await c.user('SIGNER', 'signer-1');
    const token = await pairingTokenFor(c, admin, firstUser.row.id);
    first = await pairWithCoordinator(token, deps());
    expect(first.userId).to.equal(firstUser.row.id);
    expect(first.workspaceId).to.equal(c.workspace.id);

    const row = await c.db.selectFrom('cosigners').selectAll().where('id', '=', first.cosignerId).executeTakeFirstOrThrow();
    const att = await client.call('PairingAttestation', { pairingToken: token });
    expect(row.identity_public_key).to.equal(Buffer.from(att.identityPublicKey).toString('base64'));

    const { pairings, stateVersion: v } = await client.call('Pairings', {});
    expect(v, 'begin and complete are one state version each').to.equal(3);
    expect(pairings).to.have.length(1);
    const key = (await (await fetch(`${c.baseUrl}/cosigner/v1/service-key`)).json()) as { sha256: string };
    expect(pairings[0]).to.include({ status: 'active', cosignerId: first.cosignerId, workspaceId: c.workspace.id, userId: firstUser.row.id, serviceKeySha256: key.sha256, coordinatorUrl: c.baseUrl });
    // The API user's key, from the coordinator's signed record: the one that must sign callback changes.
    expect(pairings[0]!.userKeySha256).to.equal(createHash('sha256').update(createPublicKey(firstUser.row.public_key_pem).export({ format: 'der', type: 'spki' })).digest('hex'));
    expect(existsSync(store.previousPath), 'the replaced file is kept').to.equal(true);
    expect((await poll(first)).status).to.equal(200);

    // The state survives a crash of the enclave: it boots from what the parent stored.
    await restartEnclave();
    expect(await stateVersion()).to.equal(3);
    expect((await poll(first)).status).to.equal(200);
  });

  it('running setup again with the same token changes nothing; the spent token cannot pair another co-signer', async () => {
    const before = readFileSync(stack.sealedFile);
    const token = await pairingTokenFor(c, admin, (await c.user('SIGNER', 'signer-x')).row.id);
    const again = await pairWithCoordinator(token, deps());
    const bytes = readFileSync(stack.sealedFile);
    expect(bytes.equals(before)).to.equal(false); // a new pairing: that one changed state
    const repeat = await pairWithCoordinator(token, deps());
    expect(repeat.cosignerId).to.equal(again.cosignerId);
    expect(readFileSync(stack.sealedFile).equals(bytes), 'a repeat writes nothing').to.equal(true);
    const res = await fetch(`${c.baseUrl}/cosigner/v1/pair`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pairingToken: token, attestationDocument: 'AA==', identityPublicKey: 'AA==', cckPublicKey: 'AA==', callbackPublicKey: 'AA==' }) });
    expect(res.status).to.be.within(400, 499);
  });

  it('a crash between sealing and storing loses nothing: the enclave boots from the old file and pairing runs again', async () => {
    const v = await stateVersion();
    const user = await c.user('SIGNER', 'signer-crash');
    const token = await pairingTokenFor(c, admin, user.row.id);
    const spki = Buffer.from(((await (await fetch(`${c.baseUrl}/cosigner/v1/service-key`)).json()) as { publicKeySpki: string }).publicKeySpki, 'base64');
    const begun = await client.call('BeginPairing', { pairingToken: token, serviceKeySpki: new Uint8Array(spki), callback: null });
    expect(begun.stateVersion).to.equal(v + 1);
    // Uncounted until stored: the enclave still reports the old version, and takes no other change.
    expect(await stateVersion()).to.equal(v);
    const other = await pairingTokenFor(c, admin, user.row.id);
    await expectCosignerRejection(client.call('BeginPairing', { pairingToken: other, serviceKeySpki: new Uint8Array(spki), callback: null }), 'STATE_CHANGE_PENDING', /waits for the parent/);
    await restartEnclave(); // the parent never stored it
    expect(await stateVersion()).to.equal(v);
    const rec = await pairWithCoordinator(token, deps());
    expect(await stateVersion()).to.equal(v + 2);
    expect((await poll(rec)).status).to.equal(200);
  });

  it('a crash after storing, before confirming: the parent shows the new file at the next boot and it counts', async () => {
    const v = await stateVersion();
    const user = await c.user('SIGNER', 'signer-store');
    const token = await pairingTokenFor(c, admin, user.row.id);
    const spki = Buffer.from(((await (await fetch(`${c.baseUrl}/cosigner/v1/service-key`)).json()) as { publicKeySpki: string }).publicKeySpki, 'base64');
    const begun = await client.call('BeginPairing', { pairingToken: token, serviceKeySpki: new Uint8Array(spki), callback: null });
    await store.replace(begun.toStore); // stored, but the ConfirmState is never sent
    await restartEnclave();
    expect(await stateVersion()).to.equal(v + 1);
    expect((await client.call('Pairings', {})).pairings.find((p) => p.tokenId === decodePairingToken(token).tokenId)?.status).to.equal('pending');
    await pairWithCoordinator(token, deps());
    expect(await stateVersion()).to.equal(v + 2);
  });

  it('a parent that restores an older sealed file is refused work by the coordinator (STATE_ROLLBACK, 1608)', async () => {
    expect((await poll(first)).status).to.equal(200); // the coordinator records the current version
    const old = join(work, 'rolled-back.cbor');
    copyFileSync(store.previousPath, old);
    const mark = stack.lineCount('parent');
    await stack.stopProcess('enclave', 'SIGKILL');
    await stack.waitFor('parent', /enclave connection lost/, 30_000, mark);
    copyFileSync(old, stack.sealedFile);
    stack.startEnclave();
    await waitReady(mark, 'unsealed');
    const res = await poll(first);
    expect(res.status).to.equal(409);
    expect(res.json.code).to.equal(1608);
  });

  it("a hostile parent that alters the coordinator's signed pairing record (an API user key of its own) or signs one itself: refused, nothing sealed; the genuine record completes", async () => {
    const user = await c.user('SIGNER', 'signer-record');
    const token = await pairingTokenFor(c, admin, user.row.id);
    const tokenId = decodePairingToken(token).tokenId;
    const own = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    let genuine: SignedPairingRecord | undefined;
    // The parent carries the coordinator's answer: here it swaps the API user key in the record.
    const hostile: typeof fetch = async (url, init) => {
      const res = await fetch(url, init);
      if (!String(url).endsWith('/cosigner/v1/pair')) return res;
      const answer = (await res.json()) as { pairingRecord: SignedPairingRecord };
      genuine = answer.pairingRecord;
      const altered = { ...answer, pairingRecord: { ...genuine, claims: { ...genuine.claims, userPublicKey: own } } };
      return new Response(JSON.stringify(altered), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    await expectCosignerRejection(pairWithCoordinator(token, { ...deps(), records: new PairingRecords(join(work, 'hostile-records')), fetch: hostile }), 'PAIRING_INVALID', /not signed by the pinned coordinator service key/);
    const v = await stateVersion();
    const forged = signPairingRecord({ ...genuine!.claims, userPublicKey: own, cosignerId: 'cs-evil' }, generateKeyPairSync('ed25519').privateKey);
    await expectCosignerRejection(client.call('CompletePairing', { tokenId, record: JSON.stringify(forged) }), 'PAIRING_INVALID', /not signed by the pinned coordinator service key/);
    await expectCosignerRejection(client.call('CompletePairing', { tokenId, record: 'not json' }), 'SCHEMA_VIOLATION');
    const pending = (await client.call('Pairings', {})).pairings.find((p) => p.tokenId === tokenId);
    expect(pending?.status).to.equal('pending');
    expect(await stateVersion(), 'nothing sealed').to.equal(v);
    const done = await client.call('CompletePairing', { tokenId, record: JSON.stringify(genuine) });
    await storeStateChange(client, store, done.toStore, log);
    const active = (await client.call('Pairings', {})).pairings.find((p) => p.tokenId === tokenId);
    expect(active).to.include({ status: 'active', userId: user.row.id, userKeySha256: createHash('sha256').update(createPublicKey(user.row.public_key_pem).export({ format: 'der', type: 'spki' })).digest('hex') });
  });

  it("a hostile parent: another service key, a file that is not the enclave's, a report for a co-signer not paired here, a change before its first file is stored", async () => {
    const v = await stateVersion();
    const user = await c.user('SIGNER', 'signer-hostile');
    const token = await pairingTokenFor(c, admin, user.row.id);
    const own = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
    await expectCosignerRejection(client.call('BeginPairing', { pairingToken: token, serviceKeySpki: new Uint8Array(own), callback: null }), 'PAIRING_INVALID', /not the one the pairing token names/);
    await expectCosignerRejection(client.call('PairingAttestation', { pairingToken: token }), 'NOT_PAIRED', /no sealed pairing/);
    await expectCosignerRejection(client.call('CompletePairing', { tokenId: decodePairingToken(token).tokenId, record: '{}' }), 'NOT_PAIRED', /no pending pairing/);
    const stored = await store.read();
    await expectCosignerRejection(client.call('ConfirmState', { stored: { ...stored!, sealed: new Uint8Array(stored!.sealed.length).fill(7) } }), 'STATE_MISMATCH', /neither the current state nor the change/);
    await expectCosignerRejection(client.call('StateReport', { cosignerId: 'not-paired-here', purpose: 'poll' }), 'NOT_PAIRED', /no active pairing/);
    expect(await stateVersion(), 'nothing changed').to.equal(v);
    // And it keeps serving honest requests.
    const rec = await pairWithCoordinator(token, deps());
    expect(rec.userId).to.equal(user.row.id);
    expect(await storeStateChange(client, store, (await store.read())!, log)).to.equal(v + 2);
  });
});
