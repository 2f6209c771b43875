// Configuration changes through the co-signer's Configuration Change Key, coordinator side: a
// change waits as a CONFIG_CHANGE_APPROVAL item carrying the Admin's signed request; it applies only
// with a CCK signature that verifies under the key pinned at pairing for the co-signer that held
// the lease, over the item as stored; REJECT, IGNORE and FAILED are recorded and apply nothing.
// (The co-signer here is the test stand-in with a real Ed25519 CCK; the enclave's own checks are
// in test/signing/config-change-check.test.ts and, end to end, in the local stack's demo.)
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { changeApproval, signChangeApproval, type ConfigChangePayload } from '../../shared/cosigner-api/config-change.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';
import { EmulatedEnclave, TestCosigner, pairingTokenFor } from './support/cosigner.js';

const ALLOW_RAW = { rules: [{ name: 'raw', operations: ['RAW'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] };
const ALLOW_WHITELISTED = { rules: [{ name: 'whitelisted only', operations: ['TRANSFER'], initiators: '*', assets: '*', source: '*', destination: { type: 'EXTERNAL_WALLET' }, action: 'ALLOW' }] };

describe('coordinator: configuration changes approved by the co-signer\'s CCK', function () {
  this.timeout(60_000);
  let enclave: EmulatedEnclave;
  let c: TestCoordinator;
  let admin: TestUser;
  let signer: TestUser;
  let a: TestCosigner;

  before(() => {
    enclave = EmulatedEnclave.create();
  });
  after(() => enclave?.close());
  beforeEach(async () => {
    c = await startCoordinator({ attestationRoot: enclave.rootPem });
    admin = await c.user('ADMIN');
    signer = await c.user('SIGNER', 'signer');
    await signedFetch(c, admin, 'PUT', '/v1/cosigner-attestation-policy', { pcr0: enclave.pcr(0) });
  });
  afterEach(async () => {
    await c?.close();
  });

  const pair = async (userId = admin.row.id) => new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, userId));
  /** The next CONFIG_CHANGE_APPROVAL item (skipping the KEYGEN items pairing queued). */
  const nextChange = async (cs: TestCosigner) => {
    for (;;) {
      const r = await cs.poll(2_000);
      expect(r.status, JSON.stringify(r.json)).to.equal(200);
      expect(r.json.item, 'a configuration change item').to.not.equal(null);
      if (r.json.item.kind === 'CONFIG_CHANGE_APPROVAL') return r.json.item as { id: string; workspaceId: string; payload: ConfigChangePayload };
    }
  };
  const approve = (cs: TestCosigner, item: { id: string; workspaceId: string; payload: ConfigChangePayload }, cck = cs.cck) =>
    cs.result(item.id, { action: 'APPROVE', signature: signChangeApproval(changeApproval(item, item.payload), cck) });
  const change = async (id: string) => (await signedFetch(c, admin, 'GET', `/v1/config_changes/${id}`)).json;
  const assetStatus = async (walletId: string) => (await c.db.selectFrom('external_wallet_assets').select('status').where('wallet_id', '=', walletId).executeTakeFirstOrThrow()).status;
  const whitelist = async (name: string, address = '0x52908400098527886e0f7030069857d2e4169ee7') => {
    const w = await admin.v5.createExternalWallet(name);
    const asset = await admin.v5.createExternalWalletAsset(w.id, 'ETH_TEST5', address);
    expect(asset.status).to.equal('WAITING_FOR_APPROVAL');
    return w.id;
  };
  const changeIdOf = async (itemId: string) => (await c.db.selectFrom('config_changes').select('id').where('work_item_id', '=', itemId).executeTakeFirstOrThrow()).id;

  it('before any co-signer pairs, a TAP applies at once (200); afterwards it waits for the CCK (202) and applies once approved', async () => {
    const first = await signedFetch(c, admin, 'POST', '/v1/tap/policy', ALLOW_RAW);
    expect(first.status, JSON.stringify(first.json)).to.equal(200);
    expect(first.json.version).to.equal(1);
    a = await pair();

    const queued = await signedFetch(c, admin, 'POST', '/v1/tap/policy', ALLOW_WHITELISTED);
    expect(queued.status, JSON.stringify(queued.json)).to.equal(202);
    expect(queued.json.status).to.equal('WAITING_FOR_APPROVAL');
    expect((await signedFetch(c, admin, 'GET', '/v1/tap/policy')).json.version, 'not yet').to.equal(1);
    // A policy that does not validate is refused now, not after an approval.
    const bad = await signedFetch(c, admin, 'POST', '/v1/tap/policy', { rules: [{ name: 'x' }] });
    expect(bad.status).to.equal(400);

    const item = await nextChange(a);
    // The item carries the Admin's request exactly as sent: the enclave verifies this JWT itself.
    expect(item.payload).to.include({ type: 'PUBLISH_TAP', initiatorId: admin.row.id, changeId: queued.json.changeId });
    expect(item.payload.request).to.include({ method: 'POST', path: '/v1/tap/policy', body: JSON.stringify(ALLOW_WHITELISTED) });
    const jwtClaims = JSON.parse(Buffer.from(item.payload.request.jwt.split('.')[1]!, 'base64url').toString('utf8'));
    expect(jwtClaims).to.include({ sub: admin.row.api_key, uri: '/v1/tap/policy', bodyHash: createHash('sha256').update(item.payload.request.body).digest('hex') });

    expect((await approve(a, item)).json.status).to.equal('recorded');
    expect(await change(queued.json.changeId)).to.include({ status: 'APPROVED', type: 'PUBLISH_TAP', decidedBy: a.cosignerId, initiatorId: admin.row.id });
    const now = (await signedFetch(c, admin, 'GET', '/v1/tap/policy')).json;
    expect([now.version, now.policy.rules[0].name, now.publishedBy]).to.deep.equal([2, 'whitelisted only', admin.row.id]);
  });

  it('whitelisting: approved by the CCK of the paired co-signer, the address is APPROVED and a transfer to it counts as whitelisted', async () => {
    await signedFetch(c, admin, 'POST', '/v1/tap/policy', ALLOW_WHITELISTED);
    await signedFetch(c, admin, 'POST', '/v1/vault/accounts', { name: 'v' });
    a = await pair();
    const walletId = await whitelist('exchange');
    const item = await nextChange(a);
    expect(item.payload).to.include({ type: 'ADD_WHITELISTED_ADDRESS', displayInfo: 'wallet exchange' });
    expect(item.payload.request.path).to.equal(`/v1/external_wallets/${walletId}/ETH_TEST5`);
    expect(await change(await changeIdOf(item.id))).to.include({ status: 'WAITING_FOR_APPROVAL' });
    expect((await approve(a, item)).json.status).to.equal('recorded');
    expect(await assetStatus(walletId)).to.equal('APPROVED');
    expect(await change(await changeIdOf(item.id))).to.include({ status: 'APPROVED', reason: null });

    const tx = await admin.v5.createTransaction({ operation: 'TRANSFER', assetId: 'ETH_TEST5', amount: '0.1', source: { type: 'VAULT_ACCOUNT', id: '0' }, destination: { type: 'EXTERNAL_WALLET', id: walletId } } as never);
    expect(tx.status).to.equal('QUEUED');
    const shown = await admin.v5.getTransactionById(tx.id);
    expect([shown.addressType, shown.destinationAddress]).to.deep.equal(['WHITELISTED', '0x52908400098527886E0F7030069857D2E4169EE7']);

    // A wallet whose address was never approved is not whitelisted: the rule does not match.
    const w2 = await whitelist('unapproved');
    const blocked = await admin.v5.createTransaction({ operation: 'TRANSFER', assetId: 'ETH_TEST5', amount: '0.1', source: { type: 'VAULT_ACCOUNT', id: '0' }, destination: { type: 'EXTERNAL_WALLET', id: w2 } } as never);
    expect(blocked.status).to.equal('BLOCKED');
    const dup = await signedFetch(c, admin, 'POST', `/v1/external_wallets/${w2}/ETH_TEST5`, { address: '0x52908400098527886e0f7030069857d2e4169ee7' });
    expect([dup.status, dup.json.code]).to.deep.equal([409, 1409]);
    const bad = await signedFetch(c, admin, 'POST', `/v1/external_wallets/${w2}/SOL_TEST`, { address: 'not-base58-0OIl' });
    expect(bad.status).to.equal(400);
  });

  it('a signature by another co-signer\'s CCK is refused: FAILED with the reason, nothing applied', async () => {
    a = await pair();
    const other = await pair(signer.row.id);
    const walletId = await whitelist('exchange');
    const item = await nextChange(a);
    const r = await approve(a, item, other.cck);
    expect(r.status, JSON.stringify(r.json)).to.equal(200);
    expect(await assetStatus(walletId)).to.equal('FAILED');
    const ch = await change(await changeIdOf(item.id));
    expect(ch.status).to.equal('FAILED');
    expect(ch.reason).to.match(/^CCK_SIGNATURE_INVALID/);
    // The leaseholder's report is final: a second, well-signed report is a duplicate, not a change of mind.
    const again = await approve(a, item);
    expect(await assetStatus(walletId), JSON.stringify(again.json)).to.equal('FAILED');
  });

  it('a payload changed after approval (another address in the stored item) is refused: FAILED, nothing applied', async () => {
    a = await pair();
    const walletId = await whitelist('exchange');
    const item = await nextChange(a);
    const signature = signChangeApproval(changeApproval(item, item.payload), a.cck);
    // Someone with the database rewrites what the co-signer approved.
    const tampered = { ...item.payload, request: { ...item.payload.request, body: JSON.stringify({ address: '0x' + '66'.repeat(20) }) } };
    await c.db.updateTable('work_items').set({ payload: JSON.stringify(tampered) }).where('id', '=', item.id).execute();
    expect((await a.result(item.id, { action: 'APPROVE', signature })).status).to.equal(200);
    expect(await assetStatus(walletId)).to.equal('FAILED');
    expect((await change(await changeIdOf(item.id))).reason).to.match(/^CCK_SIGNATURE_INVALID/);
  });

  it('the callback handler\'s REJECT and IGNORE, and a co-signer that could not decide: REJECTED, CANCELLED, FAILED; nothing applied', async () => {
    a = await pair();
    for (const [action, status] of [['REJECT', 'REJECTED'], ['IGNORE', 'CANCELLED'], ['FAILED', 'FAILED']] as const) {
      const walletId = await whitelist(`w-${action}`);
      const item = await nextChange(a);
      const r = await a.result(item.id, { action, ...(action === 'IGNORE' ? {} : { rejectionReason: `said ${action}` }) });
      expect(r.status, JSON.stringify(r.json)).to.equal(200);
      expect(await assetStatus(walletId)).to.equal(status);
      expect(await change(await changeIdOf(item.id))).to.include({ status, decidedBy: a.cosignerId });
    }
    const queued = await signedFetch(c, admin, 'POST', '/v1/tap/policy', ALLOW_RAW);
    const item = await nextChange(a);
    await a.result(item.id, { action: 'REJECT', rejectionReason: 'no' });
    expect((await change(queued.json.changeId)).status).to.equal('REJECTED');
    expect((await signedFetch(c, admin, 'GET', '/v1/tap/policy')).status, 'never published').to.equal(404);
  });

  it('refuses malformed results (400) and records nothing: an APPROVE without a signature, a REJECT with one', async () => {
    a = await pair();
    const walletId = await whitelist('exchange');
    const item = await nextChange(a);
    const sig = signChangeApproval(changeApproval(item, item.payload), a.cck);
    for (const bad of [{ action: 'APPROVE' }, { action: 'REJECT', signature: sig }, { action: 'MAYBE' }]) {
      const r = await a.result(item.id, bad);
      expect(r.status, JSON.stringify(bad)).to.equal(400);
    }
    expect(await assetStatus(walletId)).to.equal('WAITING_FOR_APPROVAL');
    expect((await change(await changeIdOf(item.id))).status).to.equal('WAITING_FOR_APPROVAL');
  });

  it('enclave policy: 409 with no paired co-signer, 400 when malformed; shown only once the CCK approved it', async () => {
    const doc = { assets: [{ assetId: 'ETH_TEST5', maxAmountPerTransaction: '1', window: { seconds: 86400, maxAmount: '5' } }], users: [] };
    expect((await signedFetch(c, admin, 'POST', '/v1/cosigner_policy', doc)).status).to.equal(409);
    a = await pair();
    expect((await signedFetch(c, admin, 'POST', '/v1/cosigner_policy', { assets: [{ assetId: 'ETH_TEST5', maxAmountPerTransaction: '-1' }], users: [] })).status).to.equal(400);
    expect((await signedFetch(c, signer, 'POST', '/v1/cosigner_policy', doc)).json.code, 'a signer may not').to.equal(-8);
    const queued = await signedFetch(c, admin, 'POST', '/v1/cosigner_policy', doc);
    expect(queued.status, JSON.stringify(queued.json)).to.equal(202);
    expect((await signedFetch(c, admin, 'GET', '/v1/cosigner_policy')).status).to.equal(404);
    const item = await nextChange(a);
    expect(item.payload.type).to.equal('SET_ENCLAVE_POLICY');
    await approve(a, item);
    const shown = await signedFetch(c, admin, 'GET', '/v1/cosigner_policy');
    expect(shown.status).to.equal(200);
    expect(shown.json).to.deep.include({ changeId: queued.json.changeId, approvedBy: a.cosignerId });
    expect(shown.json.policy.assets[0]).to.deep.include({ assetId: 'ETH_TEST5', maxAmountPerTransaction: '1' });
  });
});
