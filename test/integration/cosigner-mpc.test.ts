// Key generation and signing through the real enclave process (issue 9): NSM and KMS emulators,
// the enclave and the parent daemon as `npm start` runs them; the parent's production pieces —
// pairing, the long-poll loop, the enclave work handler — against a coordinator running its MPC
// party. Pairing asks for the workspace's three master keys; the enclave generates its shares by
// DKG through the relay and seals them (a state version each); RAW ECDSA and Ed25519 requests are
// signed and verify; a forged or altered work item is refused by the enclave with a typed error;
// after a crash the enclave signs with the shares it unsealed.
import { expect } from 'chai';
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { LocalStack } from '../../scripts/stack.js';
import { RpcClient } from '../../shared/channel/rpc.js';
import { EnclaveMessages } from '../../shared/messages.js';
import { createLogger } from '../../shared/log.js';
import { generatePaillierKeyPair } from '../../shared/mpc/paillier/paillier.js';
import { SealedStore } from '../../parent/sealed-store.js';
import { PairingRecords } from '../../parent/pairing/pairing-records.js';
import { pairWithCoordinator } from '../../parent/pairing/pair-with-coordinator.js';
import { CosignerApiClient } from '../../parent/coordinator/cosigner-api-client.js';
import { LongPollLoop } from '../../parent/coordinator/long-poll-loop.js';
import { EnclaveWorkHandler } from '../../parent/mpc/enclave-work-handler.js';
import { KeyLockJournal } from '../../coordinator/mpc/key-lock-journal.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from '../coordinator/support/build-app.js';
import { pairingTokenFor } from '../coordinator/support/cosigner.js';
import { expectCosignerRejection } from '../support/expect-error.js';
import { until } from '../support/net.js';
import { startCosignerStack, type CosignerStack } from './support/cosigner-stack.js';




describe('co-signer MPC: key generation and signing through the real enclave process', function () {
  this.timeout(600_000);
  let cs: CosignerStack;
  let work: string;
  let stack: LocalStack;
  let c: TestCoordinator;
  let signer: TestUser;
  let client: RpcClient<typeof EnclaveMessages>;
  let store: SealedStore;
  let journal: KeyLockJournal;
  let loop: LongPollLoop;
  let cosignerId: string;
  const log = createLogger('test-mpc');

  const waitReady = (from: number, outcome: string) => cs.waitReady(from, outcome);

  async function raw(algorithm: string, content: string): Promise<string> {
    const r = await signer.v5.createTransaction({ operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' }, extraParameters: { rawMessageData: { algorithm, messages: [{ content, derivationPath: [44, algorithm === 'MPC_EDDSA_ED25519' ? 501 : 60, 0, 0, 0] }] } } } as never);
    expect(r.status, JSON.stringify(r)).to.equal('QUEUED');
    return r.id;
  }

  async function completed(txId: string) {
    return until(`transaction ${txId} COMPLETED`, async () => {
      const tx = await signer.v5.getTransactionById(txId);
      if (tx.status === 'FAILED' || tx.status === 'REJECTED') throw new Error(`transaction ${tx.status}/${tx.subStatus}`);
      return tx.status === 'COMPLETED' ? tx : null;
    }, 150_000);
  }

  before(async () => {
    cs = await startCosignerStack('cosigner-mpc-');
    ({ work, stack } = cs);
    journal = KeyLockJournal.open(join(work, 'locks.sqlite'));
    const paillier = generatePaillierKeyPair(2048).secretKey;
    c = await startCoordinator({ attestationRoot: readFileSync(stack.nsmRootPem, 'utf8'), allowAnyPcrs: true, mpc: { lockStore: journal, paillier: () => paillier } });
    const admin = await c.user('ADMIN', 'admin');
    signer = await c.user('SIGNER', 'signer');
    await admin.v5.createVaultAccount('treasury');
    await signedFetch(c, admin, 'POST', '/v1/tap/policy', { rules: [{ name: 'raw', operations: ['RAW'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] });
    client = cs.enclaveClient();
    store = new SealedStore(stack.sealedFile);
    const record = await pairWithCoordinator(await pairingTokenFor(c, admin, signer.row.id), { client, store, records: new PairingRecords(join(work, 'harness')), log });
    cosignerId = record.cosignerId;
    refreshToken = record.refreshToken;
    startLoop();
  });

  let refreshToken: string;
  /** The parent's long poll for the pairing, with the enclave work handler (a loop runs once: stop() ends it). */
  function startLoop(): void {
    loop = new LongPollLoop({
      client: new CosignerApiClient({ baseUrl: c.baseUrl, refreshToken, logger: log }),
      handler: new EnclaveWorkHandler({ enclave: client, store, cosignerId, log }),
      stateReport: (purpose) => client.call('StateReport', { cosignerId, purpose }),
      logger: log,
    });
    void loop.start();
  }

  after(async () => {
    await loop?.stop();
    await c?.close();
    journal?.close();
    await cs?.close();
  });

  it('generates the three master keys by DKG with the enclave; each share is sealed as a new state version', async () => {
    const keys = await until('three master keys', async () => {
      const k = await c.app.masterKeys.publicKeys(c.workspace.id);
      return Object.keys(k).length === 3 ? k : null;
    }, 300_000);
    const v = await until('the enclave to count its third share', async () => {
      const p = await client.call('Pairings', {});
      return p.stateVersion >= 6 ? p.stateVersion : null;
    }, 60_000);
    expect(v, 'pairing (2) + three key shares').to.equal(6);
    const items = await c.db.selectFrom('work_items').select(['kind', 'state']).where('kind', '=', 'KEYGEN').execute();
    expect(items.map((i) => i.state)).to.deep.equal(['DONE', 'DONE', 'DONE']);
    expect(Object.keys(keys).sort()).to.deep.equal(['MPC_BIP340_SECP256K1', 'MPC_ECDSA_SECP256K1', 'MPC_EDDSA_ED25519']);
  });

  it('signs a RAW ECDSA hash and a RAW Ed25519 message; both verify under the derived public keys', async () => {
    const hash = createHash('sha256').update('through the enclave').digest('hex');
    const ecdsa = await completed(await raw('MPC_ECDSA_SECP256K1', hash));
    const m = ecdsa.signedMessages![0]!;
    expect(secp256k1.verify(Buffer.from(m.signature.fullSig, 'hex'), Buffer.from(hash, 'hex'), Buffer.from(m.publicKey, 'hex'), { prehash: false })).to.equal(true);

    const message = Buffer.from('an Ed25519 RAW message').toString('hex');
    const ed = await completed(await raw('MPC_EDDSA_ED25519', message));
    const e = ed.signedMessages![0]!;
    const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(e.publicKey, 'hex')]), format: 'der', type: 'spki' });
    expect(edVerify(null, Buffer.from(message, 'hex'), pub, Buffer.from(e.signature.fullSig, 'hex'))).to.equal(true);
  });

  it('a hostile parent: a work item or MPC message it altered or forged is refused by the enclave, and honest work goes on', async () => {
    await loop.stop();
    const hash = createHash('sha256').update('altered').digest('hex');
    const txId = await raw('MPC_ECDSA_SECP256K1', hash);
    const api = new CosignerApiClient({ baseUrl: c.baseUrl, refreshToken, logger: log });
    const stateReport = await client.call('StateReport', { cosignerId, purpose: 'poll' });
    const polled = await api.poll(5_000, stateReport);
    expect(polled.item?.kind).to.equal('SIGN');
    const item = polled.item!;
    const p = item.payload as { transactionId: string; messages: Array<{ content: string }> };
    expect(p.transactionId).to.equal(txId);
    const other = createHash('sha256').update('something else').digest('hex');
    const altered = { ...item, payload: { ...p, messages: [{ ...p.messages[0]!, content: other }] } };
    await expectCosignerRejection(client.call('MpcStart', { cosignerId, itemJson: JSON.stringify(altered), signature: polled.signature! }), 'WORK_ITEM_SIGNATURE_INVALID');
    await expectCosignerRejection(client.call('MpcStart', { cosignerId, itemJson: JSON.stringify({ ...item, workspaceId: 'another-workspace' }), signature: polled.signature! }), 'WORK_ITEM_SIGNATURE_INVALID');
    await expectCosignerRejection(client.call('MpcStart', { cosignerId: 'not-paired', itemJson: JSON.stringify(item), signature: polled.signature! }), 'NOT_PAIRED');
    // The genuine item still goes through (nothing was consumed by the refusals); once only.
    const started = await client.call('MpcStart', { cosignerId, itemJson: JSON.stringify(item), signature: polled.signature! });
    expect(started.sessions).to.have.length(1);
    await expectCosignerRejection(client.call('MpcStart', { cosignerId, itemJson: JSON.stringify(item), signature: polled.signature! }), 'REQUEST_REPLAYED');
    // The coordinator party's first frame, altered on its way: it does not decrypt, and the session
    // is dead after it (terminal abort): the genuine frame no longer reaches a party.
    const sid = started.sessions[0]!.sessionId;
    const opened = await api.mpcOpening(sid, JSON.parse(started.sessions[0]!.hello));
    const opening = opened.messages;
    expect(opening).to.have.length.greaterThan(0);
    const ciphertext = Buffer.from(opening[0]!.ciphertext, 'base64');
    ciphertext[ciphertext.length - 1]! ^= 1;
    const altered1 = { ...opening[0]!, ciphertext: ciphertext.toString('base64') };
    const peerHello = JSON.stringify(opened.hello);
    await expectCosignerRejection(client.call('MpcStep', { sessionId: sid, peerHello, inbound: [JSON.stringify(altered1)] }), 'MPC_INVALID_MESSAGE', /does not decrypt/);
    await expectCosignerRejection(client.call('MpcStep', { sessionId: sid, peerHello, inbound: [JSON.stringify(opening[0])] }), 'MPC_STATE', /no open MPC session/);
    api.close();
    startLoop();
    // The lease of the item taken by hand runs out and the coordinator issues it again; the enclave
    // drops its unfinished session for the re-issue, signs once.
    const tx = await completed(txId);
    expect(tx.signedMessages).to.have.length(1);
  });

  it('after a crash the enclave unseals its shares and signs again', async () => {
    const mark = stack.lineCount('parent');
    await stack.stopProcess('enclave', 'SIGKILL');
    await stack.waitFor('parent', /enclave connection lost/, 30_000, mark);
    stack.startEnclave();
    await waitReady(mark, 'unsealed');
    const hash = createHash('sha256').update('after the crash').digest('hex');
    const tx = await completed(await raw('MPC_ECDSA_SECP256K1', hash));
    const m = tx.signedMessages![0]!;
    expect(secp256k1.verify(Buffer.from(m.signature.fullSig, 'hex'), Buffer.from(hash, 'hex'), Buffer.from(m.publicKey, 'hex'), { prehash: false })).to.equal(true);
  });
});
