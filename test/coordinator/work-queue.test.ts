// The co-signer work queue: long-poll hold and instant wake-up, lease expiry and hand-over,
// heartbeats, duplicate result reports, and whitelisting applied by a co-signer's decision.
import { expect } from 'chai';
import { parseConfigChangeResult, applyConfigChange } from '../../coordinator/external-wallets/config-change.js';
import { WorkQueue } from '../../coordinator/work-queue/work-queue.js';
import { expectCosignerRejection } from '../support/expect-error.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';

describe('coordinator work queue', function () {
  this.timeout(60_000);
  let c: TestCoordinator;
  let q: WorkQueue;
  let admin: TestUser;

  beforeEach(async () => {
    c = await startCoordinator();
    q = c.app.workQueue;
    admin = await c.user('ADMIN');
  });
  afterEach(async () => {
    await c?.close();
  });

  const add = async (payload: unknown) => {
    const id = await c.db.transaction().execute((trx) => q.enqueue(trx, c.workspace.id, 'SIGN', payload));
    q.wake(c.workspace.id);
    return id;
  };

  it('holds a poll while there is no work and answers the moment an item is added', async () => {
    const started = Date.now();
    const empty = await q.poll([c.workspace.id], 'cosigner-a', { holdMs: 150 });
    expect(empty).to.equal(null);
    expect(Date.now() - started).to.be.greaterThanOrEqual(140);
    const waiting = q.poll([c.workspace.id], 'cosigner-a', { holdMs: 20_000 });
    await new Promise((r) => setTimeout(r, 50));
    const id = await add({ n: 1 });
    const t0 = Date.now();
    const got = await waiting;
    expect(got?.id).to.equal(id);
    expect(got?.payload).to.deep.equal({ n: 1 });
    expect(Date.now() - t0, 'woken by the add, not by the 20 s hold').to.be.lessThan(5_000);
  });

  it('gives an item to one poller only, oldest first, and only within its workspaces', async () => {
    const a = await add({ n: 1 });
    const b = await add({ n: 2 });
    const [x, y, z] = await Promise.all([q.tryLease([c.workspace.id], 'p1'), q.tryLease([c.workspace.id], 'p2'), q.tryLease([c.workspace.id], 'p3')]);
    const ids = [x?.id, y?.id, z?.id].filter(Boolean).sort();
    expect(ids).to.deep.equal([a, b].sort());
    expect(await q.tryLease(['another-workspace'], 'p4')).to.equal(null);
  });

  it('a co-signer that stops heartbeating loses the lease; another gets the item; the first can no longer report', async () => {
    const id = await add({ n: 1 });
    const first = await q.tryLease([c.workspace.id], 'cosigner-a', 100);
    expect(first?.id).to.equal(id);
    expect(await q.heartbeat(id, 'cosigner-a', 100)).to.be.greaterThan(Date.now());
    await expectCosignerRejection(q.heartbeat(id, 'cosigner-b', 100), 'LEASE_LOST');
    expect(await q.tryLease([c.workspace.id], 'cosigner-b', 100), 'still leased').to.equal(null);
    // the poll wakes at the lease's expiry without anyone calling wake()
    const second = await q.poll([c.workspace.id], 'cosigner-b', { holdMs: 5_000, leaseMs: 10_000 });
    expect(second?.id).to.equal(id);
    expect(second?.attempt).to.equal(2);
    await expectCosignerRejection(q.heartbeat(id, 'cosigner-a'), 'LEASE_LOST');
    await expectCosignerRejection(q.complete(id, 'cosigner-a', { ok: 1 }, async () => undefined), 'LEASE_LOST');
    let applied = 0;
    expect(await q.complete(id, 'cosigner-b', { ok: 1, why: 'x' }, async () => void applied++)).to.equal('recorded');
    expect(await q.complete(id, 'cosigner-b', { ok: 1, why: 'x' }, async () => void applied++), 'a retried report').to.equal('duplicate');
    expect(await q.complete(id, 'cosigner-b', { why: 'x', ok: 1 }, async () => void applied++), 'the same report, its keys in another order').to.equal('duplicate');
    await expectCosignerRejection(q.complete(id, 'cosigner-b', { ok: 2, why: 'x' }, async () => void applied++), 'CONFLICT');
    expect(applied).to.equal(1);
    expect(await q.tryLease([c.workspace.id], 'cosigner-c')).to.equal(null);
  });

  it('a failing apply leaves the item unreported (the result and its effect commit together)', async () => {
    const id = await add({ n: 1 });
    await q.tryLease([c.workspace.id], 'cosigner-a');
    await q.complete(id, 'cosigner-a', { ok: 1 }, async () => {
      throw new Error('boom');
    }).catch(() => undefined);
    const row = await c.db.selectFrom('work_items').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.state).to.equal('LEASED');
    expect(row.result).to.equal(null);
  });

  it('whitelisting: the address waits for approval, a co-signer approves it through the queue, a transfer then counts as whitelisted', async () => {
    const wallet = await admin.v5.createExternalWallet('exchange');
    const asset = await admin.v5.createExternalWalletAsset(wallet.id, 'ETH_TEST5', '0x52908400098527886e0f7030069857d2e4169ee7');
    expect(asset.status).to.equal('WAITING_FOR_APPROVAL');
    expect((asset as { address?: string }).address).to.equal('0x52908400098527886E0F7030069857D2E4169EE7');
    const item = await q.poll([c.workspace.id], 'cosigner-a', { holdMs: 1000 });
    expect(item?.kind).to.equal('CONFIG_CHANGE_APPROVAL');
    expect(item?.payload).to.include({ type: 'ADD_WHITELISTED_ADDRESS', walletId: wallet.id, assetId: 'ETH_TEST5' });
    await q.complete(item!.id, 'cosigner-a', { action: 'APPROVE' }, (trx, row) => applyConfigChange(trx, row, parseConfigChangeResult({ action: 'APPROVE' })));
    const ts = (await admin.ts.externalWallets.getExternalWalletAsset({ walletId: wallet.id, assetId: 'ETH_TEST5' })).data;
    expect(ts.status).to.equal('APPROVED');
    expect((await admin.v5.getExternalWallets()).map((w) => w.id)).to.deep.equal([wallet.id]);

    await signedFetch(c, admin, 'POST', '/v1/vault/accounts', { name: 'v' });
    await signedFetch(c, admin, 'POST', '/v1/tap/policy', { rules: [{ name: 'whitelisted only', operations: ['TRANSFER'], initiators: '*', assets: '*', source: '*', destination: { type: 'EXTERNAL_WALLET' }, action: 'ALLOW' }] });
    const tx = await admin.v5.createTransaction({ operation: 'TRANSFER', assetId: 'ETH_TEST5', amount: '0.1', source: { type: 'VAULT_ACCOUNT', id: '0' }, destination: { type: 'EXTERNAL_WALLET', id: wallet.id } } as never);
    expect(tx.status).to.equal('QUEUED');
    const shown = await admin.v5.getTransactionById(tx.id);
    expect([shown.addressType, shown.destinationAddress]).to.deep.equal(['WHITELISTED', '0x52908400098527886E0F7030069857D2E4169EE7']);

    // A second wallet whose address was never approved is not whitelisted: the rule does not match.
    const w2 = await admin.v5.createExternalWallet('unapproved');
    await admin.v5.createExternalWalletAsset(w2.id, 'ETH_TEST5', '0x52908400098527886e0f7030069857d2e4169ee7');
    const blocked = await admin.v5.createTransaction({ operation: 'TRANSFER', assetId: 'ETH_TEST5', amount: '0.1', source: { type: 'VAULT_ACCOUNT', id: '0' }, destination: { type: 'EXTERNAL_WALLET', id: w2.id } } as never);
    expect(blocked.status).to.equal('BLOCKED');
    const dup = await signedFetch(c, admin, 'POST', `/v1/external_wallets/${w2.id}/ETH_TEST5`, { address: '0x52908400098527886e0f7030069857d2e4169ee7' });
    expect([dup.status, dup.json.code]).to.deep.equal([409, 1409]);
    const bad = await signedFetch(c, admin, 'POST', `/v1/external_wallets/${w2.id}/SOL_TEST`, { address: 'not-base58-0OIl' });
    expect(bad.status).to.equal(400);
  });
});
