// The co-signer work queue: long-poll hold and instant wake-up, lease expiry and hand-over,
// heartbeats, duplicate result reports (whitelisting by a co-signer's CCK: config-changes.test.ts).
import { expect } from 'chai';
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

});
