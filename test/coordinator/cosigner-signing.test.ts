// The whole coordinator side of signing over the co-signer API, as a paired co-signer sees it:
// pairing with an attested identity, signed work items by long poll, key generation and RAW
// signing through the MPC relay (the engine's co-signer parties on the far side, authenticated by
// the keys pairing pinned), and the co-signer's reports: SIGNED, REJECTED (by its callback
// handler: the transaction is rejected) and FAILED (the work is issued again).
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { generatePaillierKeyPair } from '../../shared/mpc/paillier/paillier.js';
import { verifyWorkItem } from '../../shared/cosigner-api/work-item-signature.js';
import { decodePairingToken } from '../../shared/cosigner-api/pairing-token.js';
import { KeyLockJournal } from '../../coordinator/mpc/key-lock-journal.js';
import { requestMasterKeys, type KeygenItemPayload, type SignItemPayload } from '../../coordinator/mpc/signing-requests.js';
import type { MpcPartyEndpoint } from '../../coordinator/mpc/party-endpoint.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';
import { EmulatedEnclave, TestCosigner, pairingTokenFor } from './support/cosigner.js';
import { EngineCosigner } from './support/engine-cosigner.js';
import { httpRelay } from './support/http-relay.js';
import { TEST_RING_PEDERSEN_BITS } from '../support/ecdsa-keys.js';


describe('coordinator signing with a paired co-signer over the co-signer API', function () {
  this.timeout(180_000);
  let enclave: EmulatedEnclave;
  let c: TestCoordinator;
  let signer: TestUser;
  let http: TestCosigner;
  let engine: EngineCosigner;
  let pinned: string;
  let journalDir: string;
  let journal: KeyLockJournal;

  /** The next work item by long poll, its service-key signature checked against the pinned fingerprint. */
  async function next(kind: string) {
    const r = await http.poll(5_000);
    expect(r.status, JSON.stringify(r.json)).to.equal(200);
    expect(r.json.item?.kind).to.equal(kind);
    const key = await http.call('GET', '/cosigner/v1/service-key', undefined, { token: null });
    expect(verifyWorkItem(r.json.item, r.json.signature, new Uint8Array(Buffer.from(key.json.publicKeySpki, 'base64')), pinned)).to.equal(true);
    return r.json.item as { id: string; payload: unknown };
  }

  async function rawTx(content: string) {
    const r = await signer.v5.createTransaction({ operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' }, extraParameters: { rawMessageData: { algorithm: 'MPC_ECDSA_SECP256K1', messages: [{ content, derivationPath: [44, 1, 0, 0, 0] }] } } } as never);
    expect(r.status).to.equal('QUEUED');
    return r.id;
  }

  before(async () => {
    enclave = EmulatedEnclave.create();
    journalDir = mkdtempSync(join(tmpdir(), 'mpc-locks-'));
    journal = KeyLockJournal.open(join(journalDir, 'locks.sqlite'));
    const paillier = generatePaillierKeyPair(2048).secretKey;
    c = await startCoordinator({ attestationRoot: enclave.rootPem, mpc: { lockStore: journal, paillier: () => paillier, minRingPedersenBits: TEST_RING_PEDERSEN_BITS } });
    const admin = await c.user('ADMIN');
    signer = await c.user('SIGNER');
    await signedFetch(c, admin, 'PUT', '/v1/cosigner-attestation-policy', { pcr0: enclave.pcr(0) });
    // Published before the co-signer pairs, so it applies at once (after, its CCK would have to approve).
    await signedFetch(c, admin, 'POST', '/v1/tap/policy', { rules: [{ name: 'raw', operations: ['RAW'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] });
    const token = await pairingTokenFor(c, admin, signer.row.id);
    pinned = decodePairingToken(token).serviceKeySha256;
    http = await new TestCosigner(c, enclave).pair(token);
    const serviceSpki = (await c.app.cosignerServiceKey()).publicKeySpki;
    engine = new EngineCosigner(serviceSpki.subarray(serviceSpki.length - 32), { id: http.cosignerId, identity: http.identity });
    await admin.v5.createVaultAccount('treasury');
  });

  after(async () => {
    await c?.close();
    journal?.close();
    enclave?.close();
    if (journalDir) rmSync(journalDir, { recursive: true, force: true });
  });

  it('key generation: pairing asked for the three master keys; the co-signer takes each KEYGEN item, runs DKG through the relay, reports GENERATED', async () => {
    expect(await c.db.transaction().execute((trx) => requestMasterKeys(trx, c.app.workQueue, c.app.masterKeys, c.workspace.id)), 'already requested at pairing').to.deep.equal([]);
    const algorithms: string[] = [];
    for (let i = 0; i < 3; i++) {
      const item = await next('KEYGEN');
      algorithms.push((item.payload as KeygenItemPayload).algorithm);
      await engine.generate(httpRelay(http), c.workspace.id, item.id, item.payload as KeygenItemPayload);
      expect((await http.result(item.id, { outcome: 'GENERATED' })).status).to.equal(200);
    }
    expect(algorithms.sort()).to.deep.equal(['MPC_BIP340_SECP256K1', 'MPC_ECDSA_SECP256K1', 'MPC_EDDSA_ED25519']);
    const keys = await c.app.masterKeys.publicKeys(c.workspace.id);
    expect(Buffer.from(keys.MPC_ECDSA_SECP256K1!.publicKey).toString('hex')).to.equal(Buffer.from((engine.shares.get('MPC_ECDSA_SECP256K1') as { publicKey: Uint8Array }).publicKey).toString('hex'));
  });

  it('RAW signing: SIGN item by long poll, MPC through the relay, reported SIGNED; the transaction is COMPLETED with a valid signature', async () => {
    const hash = createHash('sha256').update('over http').digest('hex');
    const txId = await rawTx(hash);
    const item = await next('SIGN');
    const p = item.payload as SignItemPayload;
    expect(p.transactionId).to.equal(txId);
    await engine.run(httpRelay(http), engine.ref(c.workspace.id, p.messages[0]!.sessionId, item.id), engine.signParty(p, 0));
    expect((await http.result(item.id, { outcome: 'SIGNED' })).status).to.equal(200);
    const tx = await signer.v5.getTransactionById(txId);
    expect(tx.status).to.equal('COMPLETED');
    const m = tx.signedMessages![0]!;
    expect(secp256k1.verify(Buffer.from(m.signature.fullSig, 'hex'), Buffer.from(hash, 'hex'), Buffer.from(m.publicKey, 'hex'), { prehash: false })).to.equal(true);
  });

  it('REJECTED by the co-signer (its callback handler said no): the transaction is REJECTED and nothing is signed', async () => {
    const txId = await rawTx(createHash('sha256').update('no').digest('hex'));
    const item = await next('SIGN');
    expect((await http.result(item.id, { outcome: 'REJECTED', reason: 'callback handler: REJECT (over limit)' })).status).to.equal(200);
    const tx = await signer.v5.getTransactionById(txId);
    expect(tx.status).to.equal('REJECTED');
    expect(tx.subStatus).to.equal('REJECTED_BY_COSIGNER');
    const sessions = await c.db.selectFrom('mpc_sessions').select('state').where('transaction_id', '=', txId).execute();
    expect(sessions.map((s) => s.state)).to.deep.equal(['FAILED']);
  });

  it('FAILED by the co-signer before it signed: the work is issued again and then signed once', async () => {
    const txId = await rawTx(createHash('sha256').update('again').digest('hex'));
    const first = await next('SIGN');
    expect((await http.result(first.id, { outcome: 'FAILED', reason: 'MPC_STATE: the enclave restarted mid-session' })).status).to.equal(200);
    const second = await next('SIGN');
    expect(second.id).to.not.equal(first.id);
    const p = second.payload as SignItemPayload;
    await engine.run(httpRelay(http), engine.ref(c.workspace.id, p.messages[0]!.sessionId, second.id), engine.signParty(p, 0));
    await http.result(second.id, { outcome: 'SIGNED' });
    expect((await signer.v5.getTransactionById(txId)).status).to.equal('COMPLETED');
  });

  it('FAILED and final (the callback gave no approval): the transaction fails at once, with the reason; nothing is issued again', async () => {
    const txId = await rawTx(createHash('sha256').update('no approval').digest('hex'));
    const first = await next('SIGN');
    expect((await http.result(first.id, { outcome: 'FAILED', reason: 'CALLBACK_TIMEOUT: the callback handler gave no complete answer within 30000 ms', final: true })).status).to.equal(200);
    const tx = await signer.v5.getTransactionById(txId);
    expect(tx).to.include({ status: 'FAILED', subStatus: 'SIGNING_ERROR' });
    expect(tx.errorDescription).to.match(/CALLBACK_TIMEOUT/);
    expect((await http.poll(300)).json.item ?? null, 'no new work for it').to.equal(null);
  });

  it('refuses a malformed MPC work result (400) and records nothing', async () => {
    await rawTx(createHash('sha256').update('bad report').digest('hex'));
    const item = await next('SIGN');
    for (const bad of [{}, { outcome: 'MAYBE' }, { outcome: 'SIGNED', reason: 'x'.repeat(600) }, { outcome: 'SIGNED', extra: 1 }]) {
      expect((await http.result(item.id, bad)).status, JSON.stringify(bad)).to.equal(400);
    }
    expect((await c.db.selectFrom('work_items').select('state').where('id', '=', item.id).executeTakeFirstOrThrow()).state).to.equal('LEASED');
  });
});
