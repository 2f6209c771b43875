// The enclave's checks against the real coordinator: KEYGEN and SIGN items built by the
// coordinator's own code (requestMasterKeys, enqueueSign, the EVM serialiser the transfer pipeline
// uses), taken by long poll as a paired co-signer takes them, signed by the coordinator's service
// key, pass checkWorkItem with the key pinned from the pairing token — and the TRANSFER item passes
// checkEvmTransfer against the transfer it describes.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { decodePairingToken } from '../../shared/cosigner-api/pairing-token.js';
import { checkWorkItem, ConsumedRequests, type WorkItemCheckContext } from '../../enclave/signing/work-item-check.js';
import { checkEvmTransfer } from '../../enclave/signing/evm-transfer.js';
import { checkRawMessages } from '../../enclave/signing/raw-check.js';
import { enqueueSign, newSessionId, requestMasterKeys } from '../../coordinator/mpc/signing-requests.js';
import type { MasterKeys } from '../../coordinator/mpc/master-keys.js';
import type { TransactionsTable } from '../../coordinator/storage/schema.js';
import { serializeUnsigned } from '../../coordinator/chains/evm/evm-transaction.js';
import { signedFetch, startCoordinator, type TestCoordinator } from '../coordinator/support/build-app.js';
import { EmulatedEnclave, TestCosigner, pairingTokenFor } from '../coordinator/support/cosigner.js';
import { expectCosignerError } from '../support/expect-error.js';
import { CHAIN_ID, DESTINATION, hash32, SOURCE } from './fixtures.js';

describe('enclave checks on work items from the real coordinator', function () {
  this.timeout(60_000);
  let enclave: EmulatedEnclave;
  let c: TestCoordinator;
  let cosigner: TestCosigner;
  let ctx: WorkItemCheckContext;

  before(async () => {
    enclave = EmulatedEnclave.create();
    c = await startCoordinator({ attestationRoot: enclave.rootPem });
    const admin = await c.user('ADMIN');
    const signer = await c.user('SIGNER');
    await signedFetch(c, admin, 'PUT', '/v1/cosigner-attestation-policy', { pcr0: enclave.pcr(0) });
    const token = await pairingTokenFor(c, admin, signer.row.id);
    cosigner = await new TestCosigner(c, enclave).pair(token);
    const key = await cosigner.call('GET', '/cosigner/v1/service-key', undefined, { token: null });
    ctx = {
      serviceKeySpki: new Uint8Array(Buffer.from(key.json.publicKeySpki, 'base64')),
      pinnedServiceKeySha256: decodePairingToken(token).serviceKeySha256,
      pairedWorkspaces: new Set([c.workspace.id]),
      now: Date.now(),
      consumed: new ConsumedRequests(),
    };
  });
  after(async () => {
    await c?.close();
    enclave?.close();
  });

  async function poll(kind: string) {
    const r = await cosigner.poll(5_000);
    expect(r.status, JSON.stringify(r.json)).to.equal(200);
    expect(r.json.item?.kind).to.equal(kind);
    return r.json as { item: unknown; signature: string };
  }
  const txRow = () => ({ id: randomUUID(), workspace_id: c.workspace.id }) as TransactionsTable;

  it('KEYGEN items from requestMasterKeys pass, one per algorithm', async () => {
    const noKeys = { has: async () => false } as unknown as MasterKeys;
    const ids = await c.db.transaction().execute((trx) => requestMasterKeys(trx, c.app.workQueue, noKeys, c.workspace.id));
    expect(ids).to.have.length(3);
    const algorithms = [];
    for (let i = 0; i < 3; i++) {
      const { item, signature } = await poll('KEYGEN');
      const checked = checkWorkItem(item, signature, { ...ctx, now: Date.now() });
      expect(checked.kind).to.equal('KEYGEN');
      algorithms.push(checked.kind === 'KEYGEN' && checked.payload.algorithm);
    }
    expect(algorithms.sort()).to.deep.equal(['MPC_BIP340_SECP256K1', 'MPC_ECDSA_SECP256K1', 'MPC_EDDSA_ED25519']);
  });

  it('a RAW SIGN item from enqueueSign passes, and its messages pass the RAW check against what was asked', async () => {
    const contents = [hash32(), hash32()];
    const messages = contents.map((content, index) => ({ index, sessionId: newSessionId(), content, derivationPath: [44, 1, 0, 0, index] }));
    await c.db.transaction().execute((trx) => enqueueSign(trx, c.app.workQueue, txRow(), 'MPC_ECDSA_SECP256K1', messages));
    const { item, signature } = await poll('SIGN');
    const checked = checkWorkItem(item, signature, { ...ctx, now: Date.now() });
    if (checked.kind !== 'SIGN') throw new Error('expected SIGN');
    const approved = contents.map((h) => new Uint8Array(Buffer.from(h, 'hex')));
    expect(checkRawMessages(checked.payload.algorithm, checked.payload.messages, approved)).to.have.length(2);
    // The same signed item again in this boot is refused.
    expectCosignerError(() => checkWorkItem(item, signature, { ...ctx, now: Date.now() }), 'REQUEST_REPLAYED');
  });

  it('a TRANSFER SIGN item built as the transfer pipeline builds it passes, and so does its transaction', async () => {
    const u = serializeUnsigned(SOURCE, { chainId: CHAIN_ID, nonce: 4, to: DESTINATION, value: 10n ** 17n, data: '0x', gas: 21_000n, maxFeePerGas: 2n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n });
    await c.db.transaction().execute((trx) => enqueueSign(trx, c.app.workQueue, txRow(), 'MPC_ECDSA_SECP256K1',
      [{ index: 0, sessionId: newSessionId(), content: u.signingHash.slice(2), derivationPath: [44, 1, 0, 0, 0] }],
      { assetId: 'ETH_TEST5', chainId: u.chainId, from: u.from, serializedUnsigned: u.serializedUnsigned, to: DESTINATION, amount: (10n ** 17n).toString() }));
    const { item, signature } = await poll('SIGN');
    const checked = checkWorkItem(item, signature, { ...ctx, now: Date.now() });
    if (checked.kind !== 'SIGN' || !checked.payload.transfer) throw new Error('expected a TRANSFER SIGN');
    const t = checked.payload.transfer;
    const hash = checkEvmTransfer(t.serializedUnsigned, { chainId: t.chainId, asset: { kind: 'NATIVE' }, to: t.to, amount: t.amount }, checked.payload.messages[0]!.content);
    expect('0x' + Buffer.from(hash).toString('hex')).to.equal(u.signingHash);
  });
});
