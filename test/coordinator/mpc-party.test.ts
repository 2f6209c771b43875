// The coordinator's MPC party (issue 8): master keys by DKG with a co-signer, wallets and public
// keys derived from them, RAW signing (ECDSA and Ed25519) completed through a test co-signer that
// drives the engine, the durable terminal lock across a restart, and no second signature.
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { HDKey } from '@scure/bip32';
import { Ed25519Identity } from '../../shared/mpc/authenticated-message.js';
import { ecdsaKeyId } from '../../shared/mpc/ecdsa/key-lock-store.js';
import { uintToWire } from '../../shared/mpc/bigint/wire.js';
import type { MpcMessage } from '../../shared/mpc/party.js';
import { deriveEcdsaChild, type EcdsaKeyShareP2 } from '../../shared/mpc/ecdsa/index.js';
import { generatePaillierKeyPair, type PaillierSecretKey } from '../../shared/mpc/paillier/paillier.js';
import { buildApp } from '../../coordinator/app.js';
import { KeyLockJournal } from '../../coordinator/mpc/key-lock-journal.js';
import { requestMasterKeys, type KeygenItemPayload, type SignItemPayload } from '../../coordinator/mpc/signing-requests.js';
import { evmAddressFromPublicKey, masterXpub } from '../../coordinator/assets/index.js';
import type { CoordinatorMpcParty } from '../../coordinator/mpc/coordinator-party.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';
import { EngineCosigner } from './support/engine-cosigner.js';
import { TEST_RING_PEDERSEN_BITS } from '../support/ecdsa-keys.js';
import { expectCosignerRejection } from '../support/expect-error.js';
import type { FastifyInstance } from 'fastify';
import { createWorkspace } from '../../coordinator/workspaces/workspaces.js';
import { MAX_KEYGEN_ATTEMPTS } from '../../coordinator/mpc/work-results.js';

describe('coordinator MPC party: master keys, wallets and RAW signing with a co-signer', function () {
  this.timeout(180_000);
  let c: TestCoordinator;
  let admin: TestUser;
  let signer: TestUser;
  let cosigner: EngineCosigner;
  let journalDir: string;
  let journal: KeyLockJournal;
  let paillier: PaillierSecretKey;
  const identity = Ed25519Identity.generate(1);
  const party = (app: FastifyInstance = c.app) => app.mpcParty as CoordinatorMpcParty;

  const mpcOptions = () => ({
    lockStore: journal, identity, paillier: () => paillier, minRingPedersenBits: TEST_RING_PEDERSEN_BITS,
    cosignerIdentity: async (_ws: string, id: string) => {
      if (id !== cosigner.id) throw new Error('unknown co-signer');
      return cosigner.identity.publicKey;
    },
  });

  async function leaseNext(kind: string) {
    const item = await c.app.workQueue.tryLease([c.workspace.id], cosigner.id);
    expect(item, `a ${kind} item`).to.not.equal(null);
    expect(item!.kind).to.equal(kind);
    return item!;
  }

  async function rawTx(algorithm: string, content: string, derivationPath = [44, 1, 0, 0, 0]) {
    const r = await signer.v5.createTransaction({
      operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' },
      extraParameters: { rawMessageData: { algorithm, messages: [{ content, derivationPath }] } },
    } as never);
    expect(r.status).to.equal('QUEUED');
    return r.id;
  }

  before(async () => {
    paillier = generatePaillierKeyPair(2048).secretKey;
    journalDir = mkdtempSync(join(tmpdir(), 'mpc-locks-'));
    journal = KeyLockJournal.open(join(journalDir, 'mpc-key-locks.sqlite'));
    cosigner = new EngineCosigner(identity.publicKey);
    c = await startCoordinator({ mpc: mpcOptions() });
    admin = await c.user('ADMIN');
    signer = await c.user('SIGNER');
    await admin.v5.createVaultAccount('treasury');
    const p = await signedFetch(c, admin, 'POST', '/v1/tap/policy', { rules: [{ name: 'raw', operations: ['RAW'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] });
    expect(p.status).to.equal(200);
  });

  after(async () => {
    await c?.close();
    journal?.close();
    if (journalDir) rmSync(journalDir, { recursive: true, force: true });
  });

  it('refuses wallets and RAW signing before any master key exists', async () => {
    const w = await signedFetch(c, signer, 'POST', '/v1/vault/accounts/0/ETH_TEST5');
    expect(w.status).to.equal(400);
    expect(w.json.message).to.match(/no MPC_ECDSA_SECP256K1 master key/);
    const t = await signedFetch(c, signer, 'POST', '/v1/transactions', { operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' }, extraParameters: { rawMessageData: { algorithm: 'MPC_EDDSA_ED25519', messages: [{ content: 'dead', derivationPath: [44, 1, 0, 0, 0] }] } } });
    expect(t.status).to.equal(400);
    expect((await c.db.selectFrom('transactions').select('id').execute()).length, 'nothing stored').to.equal(0);
  });

  it('makes one master key per algorithm by DKG with the co-signer; keys match on both sides and are stored sealed', async () => {
    const ids = await c.db.transaction().execute((trx) => requestMasterKeys(trx, c.app.workQueue, c.app.masterKeys, c.workspace.id));
    expect(ids).to.have.length(3);
    expect(await c.db.transaction().execute((trx) => requestMasterKeys(trx, c.app.workQueue, c.app.masterKeys, c.workspace.id)), 'asked again: nothing new').to.have.length(0);
    let failedOnce = false;
    for (let done = 0; done < 3; ) {
      const item = await leaseNext('KEYGEN');
      const { algorithm } = item.payload as KeygenItemPayload;
      await cosigner.generate(party(), c.workspace.id, item.id, item.payload as KeygenItemPayload);
      // The coordinator's share waits for the co-signer to say it stored its own.
      expect(await c.app.masterKeys.publicKeys(c.workspace.id), 'pending until GENERATED').to.not.have.property(algorithm);
      if (!failedOnce) {
        // Nothing is signed with a pending key.
        const t = await signedFetch(c, signer, 'POST', '/v1/transactions', { operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' }, extraParameters: { rawMessageData: { algorithm, messages: [{ content: 'ab'.repeat(32), derivationPath: [44, 1, 0, 0, 0] }] } } });
        expect(t.status, JSON.stringify(t.json)).to.equal(400);
        expect(t.json.message).to.match(/no .* master key yet/);
        // The co-signer could not keep its share (its enclave restarted before storing it): the
        // pending key is dropped and a new key generation asked for.
        failedOnce = true;
        cosigner.shares.delete(algorithm);
        expect(await cosigner.report(c.app, item.id, { outcome: 'FAILED', reason: 'the enclave restarted before its share was stored' })).to.equal('recorded');
        expect(await c.app.masterKeys.publicKeys(c.workspace.id)).to.not.have.property(algorithm);
        expect(await c.db.selectFrom('mpc_keys').select('status').where('workspace_id', '=', c.workspace.id).where('algorithm', '=', algorithm).execute()).to.deep.equal([]);
        continue;
      }
      expect(await cosigner.report(c.app, item.id, { outcome: 'GENERATED' })).to.equal('recorded');
      done++;
    }
    expect(await c.app.workQueue.tryLease([c.workspace.id], cosigner.id), 'no key generation left').to.equal(null);
    const keys = await c.app.masterKeys.publicKeys(c.workspace.id);
    const ecdsa = cosigner.shares.get('MPC_ECDSA_SECP256K1') as EcdsaKeyShareP2;
    expect(Buffer.from(keys.MPC_ECDSA_SECP256K1!.publicKey).toString('hex')).to.equal(Buffer.from(ecdsa.publicKey).toString('hex'));
    expect(keys.MPC_EDDSA_ED25519!.publicKey).to.have.length(32);
    expect(keys.MPC_BIP340_SECP256K1!.publicKey).to.have.length(33);
    const rows = await c.db.selectFrom('mpc_keys').selectAll().execute();
    expect(rows).to.have.length(3);
    for (const r of rows) expect(r.sealed_share, 'no share in the clear').to.not.include(r.public_key);
    const sessions = await c.db.selectFrom('mpc_sessions').select(['state', 'cosigner_id']).where('kind', '=', 'KEYGEN').execute();
    expect(sessions.every((s) => s.state === 'DONE' && s.cosigner_id === cosigner.id)).to.equal(true);
  });

  it('a key generation the co-signer REJECTED is not asked again; one that keeps FAILING is asked again at most MAX_KEYGEN_ATTEMPTS times', async () => {
    const ws = await createWorkspace(c.db, `keygen-failures-${Date.now()}`);
    const ask = () => c.db.transaction().execute((trx) => requestMasterKeys(trx, c.app.workQueue, c.app.masterKeys, ws.id, ['MPC_EDDSA_ED25519']));
    expect(await ask()).to.have.length(1);
    const first = (await c.app.workQueue.tryLease([ws.id], cosigner.id))!;
    await cosigner.report(c.app, first.id, { outcome: 'REJECTED', reason: 'this enclave already holds another key share' });
    expect(await c.app.workQueue.tryLease([ws.id], cosigner.id), 'REJECTED: not asked again').to.equal(null);
    expect(await ask()).to.have.length(1);
    let items = 0;
    for (let item = await c.app.workQueue.tryLease([ws.id], cosigner.id); item; item = await c.app.workQueue.tryLease([ws.id], cosigner.id)) {
      items++;
      expect(items, 'bounded').to.be.at.most(MAX_KEYGEN_ATTEMPTS + 1);
      await cosigner.report(c.app, item.id, { outcome: 'FAILED', reason: 'could not store its share' });
    }
    // The REJECTED one counts among the failed sessions: MAX_KEYGEN_ATTEMPTS failures in all.
    expect(items).to.equal(MAX_KEYGEN_ATTEMPTS - 1);
    expect(await c.app.masterKeys.publicKeys(ws.id)).to.deep.equal({});
  });

  it('creates wallets whose addresses and public keys equal what a standard wallet library derives from the xpub', async () => {
    const eth = await signer.v5.createVaultAsset('0', 'ETH_TEST5');
    const keys = await c.app.masterKeys.publicKeys(c.workspace.id);
    const child = HDKey.fromExtendedKey(masterXpub(keys.MPC_ECDSA_SECP256K1!)).derive('m/44/1/0/0/0');
    expect(eth.address).to.equal(evmAddressFromPublicKey(child.publicKey!));
    expect((await signer.v5.getDepositAddresses('0', 'ETH_TEST5'))[0]!.address).to.equal(eth.address);
    const paged = await signer.ts.vaults.getVaultAccountAssetAddressesPaginated({ vaultAccountId: '0', assetId: 'ETH_TEST5' });
    expect(paged.data.addresses![0]!.address).to.equal(eth.address);
    expect(paged.data.addresses![0]!.bip44AddressIndex).to.equal(0);
    const info = await signer.v5.getPublicKeyInfoForVaultAccount({ vaultAccountId: 0, assetId: 'ETH_TEST5', change: 0, addressIndex: 0, compressed: true });
    expect(info.publicKey).to.equal(Buffer.from(child.publicKey!).toString('hex'));
    const raw = await signer.ts.vaults.getPublicKeyInfo({ algorithm: 'MPC_ECDSA_SECP256K1', derivationPath: '[44, 1, 0, 0, 0]', compressed: true });
    expect(raw.data.publicKey).to.equal(info.publicKey);
    const sol = await signer.ts.vaults.createVaultAccountAsset({ vaultAccountId: '0', assetId: 'SOL_TEST' });
    expect(sol.data.address).to.match(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
    const btc = await signer.v5.createVaultAsset('0', 'BTC_TEST');
    expect(btc.address).to.match(/^tb1p[02-9ac-hj-np-z]{58}$/);
    const again = await signedFetch(c, signer, 'POST', '/v1/vault/accounts/0/ETH_TEST5');
    expect(again.status, 'a second wallet of the same asset').to.equal(409);
    const balance = await signedFetch(c, signer, 'GET', '/v1/vault/accounts/0/ETH_TEST5');
    expect(balance.status, 'no chain node configured in this app').to.equal(503);
  });

  it('RAW ECDSA by derivation path: signed with the co-signer, COMPLETED, the signature verifies and recovers the derived key', async () => {
    const hash = createHash('sha256').update('pay alice').digest('hex');
    const txId = await rawTx('MPC_ECDSA_SECP256K1', hash);
    const item = await leaseNext('SIGN');
    const payload = item.payload as SignItemPayload;
    expect(payload.transactionId).to.equal(txId);
    await cosigner.run(party(), cosigner.ref(c.workspace.id, payload.messages[0]!.sessionId, item.id), cosigner.signParty(payload, 0));
    const tx = await signer.ts.transactions.getTransaction({ txId });
    expect(tx.data.status).to.equal('COMPLETED');
    const m = tx.data.signedMessages![0]!;
    const derived = deriveEcdsaChild(cosigner.shares.get('MPC_ECDSA_SECP256K1') as EcdsaKeyShareP2, [44, 1, 0, 0, 0]);
    expect(m.publicKey).to.equal(Buffer.from(derived.publicKey).toString('hex'));
    expect(m.derivationPath).to.deep.equal([44, 1, 0, 0, 0]);
    const sig = secp256k1.Signature.fromHex(m.signature!.fullSig!, 'compact');
    expect(secp256k1.verify(sig.toBytes('compact'), Buffer.from(hash, 'hex'), derived.publicKey, { prehash: false })).to.equal(true);
    const recovered = sig.addRecoveryBit(m.signature!.v!).recoverPublicKey(Buffer.from(hash, 'hex'));
    expect(recovered.toHex(true)).to.equal(m.publicKey);
    expect(m.signature!.r! + m.signature!.s!).to.equal(m.signature!.fullSig);
  });

  it('RAW Ed25519 (FROST): COMPLETED with an RFC 8032 signature under the derived key', async () => {
    const content = Buffer.from('a Solana message').toString('hex');
    const txId = await rawTx('MPC_EDDSA_ED25519', content, [44, 1, 0, 0, 3]);
    const item = await leaseNext('SIGN');
    const payload = item.payload as SignItemPayload;
    await cosigner.run(party(), cosigner.ref(c.workspace.id, payload.messages[0]!.sessionId, item.id), cosigner.signParty(payload, 0));
    const tx = await signer.v5.getTransactionById(txId);
    expect(tx.status).to.equal('COMPLETED');
    const m = tx.signedMessages![0]!;
    const info = await signer.v5.getPublicKeyInfo({ algorithm: 'MPC_EDDSA_ED25519', derivationPath: [44, 1, 0, 0, 3], compressed: true });
    expect(m.publicKey).to.equal(info.publicKey);
    expect(ed25519.verify(Buffer.from(m.signature.fullSig, 'hex'), Buffer.from(content, 'hex'), Buffer.from(m.publicKey, 'hex'))).to.equal(true);
  });

  it('never signs a message twice: a finished session is closed, and a second session for the same message is refused', async () => {
    const signed = await c.db.selectFrom('mpc_sessions').selectAll().where('kind', '=', 'SIGN').where('state', '=', 'DONE').executeTakeFirstOrThrow();
    const signedRef = cosigner.ref(c.workspace.id, signed.id, signed.work_item_id);
    await expectCosignerRejection(() => party().opening(signedRef, cosigner.hello(signedRef)), 'MPC_STATE');
    // A duplicated request for the same transaction and message (as a replayed work item would carry).
    const copy = randomBytes(32).toString('hex');
    await c.db.insertInto('mpc_sessions').values({ ...signed, id: copy, state: 'OPEN', result: null, cosigner_id: null }).execute();
    const copyRef = cosigner.ref(c.workspace.id, copy, signed.work_item_id);
    await expectCosignerRejection(() => party().opening(copyRef, cosigner.hello(copyRef)), 'MPC_STATE');
    expect((await c.db.selectFrom('mpc_sessions').select('state').where('id', '=', copy).executeTakeFirstOrThrow()).state).to.equal('FAILED');
  });

  it('a session is continued only by the co-signer that opened it', async () => {
    const txId = await rawTx('MPC_ECDSA_SECP256K1', createHash('sha256').update('bob').digest('hex'));
    const item = await leaseNext('SIGN');
    const payload = item.payload as SignItemPayload;
    const ref = cosigner.ref(c.workspace.id, payload.messages[0]!.sessionId, item.id);
    await party().opening(ref, cosigner.hello(ref));
    await expectCosignerRejection(() => party().opening({ ...ref, cosignerId: 'another' }, cosigner.hello(ref)), 'MPC_STATE');
    await expectCosignerRejection(() => party().opening({ ...ref, workspaceId: 'another-workspace' }, cosigner.hello(ref)), 'NOT_FOUND');
    // Finish it properly (the co-signer's party starts from the opening it is given again).
    await cosigner.run(party(), ref, cosigner.signParty(payload, 0));
    expect((await signer.v5.getTransactionById(txId)).status).to.equal('COMPLETED');
  });

  it('a cheating co-signer locks the ECDSA key durably: the transaction fails, and after a restart the key still refuses to sign', async () => {
    const txId = await rawTx('MPC_ECDSA_SECP256K1', createHash('sha256').update('carol').digest('hex'));
    const item = await leaseNext('SIGN');
    const payload = item.payload as SignItemPayload;
    const ref = cosigner.ref(c.workspace.id, payload.messages[0]!.sessionId, item.id);
    const share2 = cosigner.shares.get('MPC_ECDSA_SECP256K1') as EcdsaKeyShareP2;
    // P2 adds 1 to its contribution in c3 (signed by it, as a malicious co-signer can): P1 decrypts, the signature fails.
    const breakC3 = (m: MpcMessage): MpcMessage => {
      if (m.round !== 4) return m;
      const c3 = BigInt('0x' + Buffer.from((m.payload as { c3: Uint8Array }).c3).toString('hex'));
      return { ...m, payload: { c3: uintToWire(share2.paillier.add(c3, share2.paillier.encrypt(1n).c)) } };
    };
    await expectCosignerRejection(() => cosigner.run(party(), ref, cosigner.signParty(payload, 0), breakC3), 'MPC_SIGNATURE_INVALID');
    const keyId = ecdsaKeyId(share2);
    expect(journal.isLocked(keyId)).to.equal(true);
    const tx = await signer.v5.getTransactionById(txId);
    expect(tx.status).to.equal('FAILED');
    expect(tx.subStatus).to.equal('SIGNING_ERROR');

    // A new coordinator process over the same database and a freshly opened journal file.
    const reopened = KeyLockJournal.open(join(journalDir, 'mpc-key-locks.sqlite'));
    const app2 = await buildApp({ db: c.db, masterKey: c.app.masterKey, assets: c.app.assets, logger: false, mpc: { ...mpcOptions(), lockStore: reopened } });
    try {
      await app2.ready();
      const next = await rawTx('MPC_ECDSA_SECP256K1', createHash('sha256').update('dave').digest('hex'));
      const item2 = await leaseNext('SIGN');
      const p2 = item2.payload as SignItemPayload;
      await expectCosignerRejection(() => party(app2).opening(cosigner.ref(c.workspace.id, p2.messages[0]!.sessionId, item2.id), cosigner.hello(cosigner.ref(c.workspace.id, p2.messages[0]!.sessionId, item2.id))), 'MPC_KEY_LOCKED');
      expect((await signer.v5.getTransactionById(next)).status).to.equal('FAILED');
    } finally {
      reopened.close();
    }
  });

  it('a session open when the coordinator restarts is not resumed (new nonces mid-protocol): its message is issued again in a new session and signed once', async () => {
    const content = Buffer.from('restart').toString('hex');
    const txId = await rawTx('MPC_EDDSA_ED25519', content);
    const item = await leaseNext('SIGN');
    const payload = item.payload as SignItemPayload;
    const ref = cosigner.ref(c.workspace.id, payload.messages[0]!.sessionId, item.id);
    await party().opening(ref, cosigner.hello(ref));
    const app2 = await buildApp({ db: c.db, masterKey: c.app.masterKey, assets: c.app.assets, logger: false, mpc: mpcOptions() });
    await app2.ready(); // finds the orphaned session
    await expectCosignerRejection(() => party(app2).receive(ref, []), 'MPC_STATE');
    expect((await signer.v5.getTransactionById(txId)).status).to.equal('PENDING_SIGNATURE');
    const againItem = await leaseNext('SIGN');
    const again = againItem.payload as SignItemPayload;
    expect(again.transactionId).to.equal(txId);
    expect(again.messages[0]!.sessionId).to.not.equal(payload.messages[0]!.sessionId);
    expect(again.messages[0]!.content).to.equal(content);
    await cosigner.run(party(app2), cosigner.ref(c.workspace.id, again.messages[0]!.sessionId, againItem.id), cosigner.signParty(again, 0));
    const tx = await signer.v5.getTransactionById(txId);
    expect(tx.status).to.equal('COMPLETED');
    expect(tx.signedMessages).to.have.length(1);
    const states = await c.db.selectFrom('mpc_sessions').select('state').where('transaction_id', '=', txId).orderBy('created_at').execute();
    expect(states.map((s) => s.state)).to.deep.equal(['FAILED', 'DONE']);
  });

  it('a session whose work item was handed to another co-signer is issued again, not continued by the newcomer', async () => {
    const txId = await rawTx('MPC_EDDSA_ED25519', Buffer.from('hand-over').toString('hex'));
    const first = await c.app.workQueue.tryLease([c.workspace.id], cosigner.id, 50);
    const payload = first!.payload as SignItemPayload;
    const firstRef = cosigner.ref(c.workspace.id, payload.messages[0]!.sessionId, first!.id);
    await party().opening(firstRef, cosigner.hello(firstRef));
    await new Promise((r) => setTimeout(r, 80)); // the first co-signer's lease expires
    const other = new EngineCosigner(identity.publicKey);
    const taken = await c.app.workQueue.tryLease([c.workspace.id], other.id);
    expect(taken!.id).to.equal(first!.id);
    const otherRef = other.ref(c.workspace.id, payload.messages[0]!.sessionId, first!.id);
    await expectCosignerRejection(() => party().opening(otherRef, other.hello(otherRef)), 'MPC_STATE', /issued again/);
    const reissuedItem = await leaseNext('SIGN');
    const reissued = reissuedItem.payload as SignItemPayload;
    expect(reissued.transactionId).to.equal(txId);
    await cosigner.run(party(), cosigner.ref(c.workspace.id, reissued.messages[0]!.sessionId, reissuedItem.id), cosigner.signParty(reissued, 0));
    expect((await signer.v5.getTransactionById(txId)).status).to.equal('COMPLETED');
  });
});
