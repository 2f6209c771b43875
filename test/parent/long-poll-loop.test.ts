// The parent's long-poll loop against a real coordinator (paired through the real pairing route,
// attestation from the NSM emulator), through a TCP proxy the tests use to cut connections and
// take the coordinator down: wake-up, heartbeats past the lease, a result reported once across a
// cut answer and a failing apply, backoff with full jitter and recovery, token renewal, a revoked
// pairing, a lost lease, and stop() during a held poll.
import { expect } from 'chai';
import { verifyWorkItem } from '../../shared/cosigner-api/work-item-signature.js';
import { EmulatedEnclave } from '../coordinator/support/cosigner.js';
import { LongPollLoop, realClock, backoffDelay, LONG_POLL_WAIT_MS, BACKOFF_CAP_MS, BACKOFF_BASE_MS, type LongPollLoopOptions, type WorkContext, type WorkHandler } from '../../parent/coordinator/long-poll-loop.js';
import type { WorkItem } from '../../parent/coordinator/cosigner-api-client.js';
import { eventually, sleep, startHarness, type Harness } from './support/paired-parent.js';

describe('parent: long-poll loop against the coordinator', function () {
  this.timeout(30_000);
  let enclave: EmulatedEnclave;
  let h: Harness | undefined;
  const loops: LongPollLoop[] = [];

  before(() => {
    enclave = EmulatedEnclave.create();
  });
  after(() => enclave?.close());
  afterEach(async () => {
    for (const l of loops.splice(0)) await l.stop();
    if (h) {
      const leaked = h.logs.raw.filter((l) => /csa_|csr_/.test(l));
      await h.close();
      h = undefined;
      expect(leaked, 'no token in any log line').to.deep.equal([]);
    }
  });

  const setup = async (opts: Parameters<typeof startHarness>[1] = {}) => (h = await startHarness(enclave, { cosignerLeaseMs: 1500, ...opts }));
  const loopOf = (hh: Harness, handler: WorkHandler, over: Partial<LongPollLoopOptions> = {}) => {
    const l = new LongPollLoop({ client: hh.client(), handler, stateReport: hh.stateReport, logger: hh.logs.logger, random: () => 0, ...over });
    loops.push(l);
    return l;
  };
  const polls = (hh: Harness) => hh.proxy.requestsMatching(/^GET \/cosigner\/v1\/work$/).length;
  const results = (hh: Harness) => hh.proxy.requestsMatching(/^POST \/cosigner\/v1\/work\/[^/]+\/result$/).length;
  const heartbeats = (hh: Harness) => hh.proxy.requestsMatching(/\/heartbeat$/).length;
  const signing = (calls: Array<{ item: WorkItem; signature: string }>, ms = 0): WorkHandler => ({
    async handle(item, signature, ctx) {
      calls.push({ item, signature });
      if (ms) await sleep(ms);
      if (ctx.signal.aborted) throw new Error('aborted');
      return { signature: `sig-${item.id}` };
    },
  });

  it('an item enqueued during a held poll reaches the handler at once, exactly as the coordinator signed it, and its result is recorded', async () => {
    const hh = await setup();
    const calls: Array<{ item: WorkItem; signature: string }> = [];
    void loopOf(hh, signing(calls)).start();
    await eventually(() => polls(hh) === 1, 5_000, 'the first poll');
    await sleep(400); // the poll is held by now
    const t = Date.now();
    const id = await hh.add({ n: 1 });
    await eventually(() => calls.length === 1, 5_000, 'the handler gets the item');
    expect(Date.now() - t, 'woken, not the 30 s hold').to.be.lessThan(2_000);
    await eventually(() => results(hh) === 1, 5_000, 'the result reported');
    const beforeResult = hh.proxy.requests.slice(0, hh.proxy.requests.findIndex((r) => r.endsWith('/result')));
    expect(beforeResult.filter((r) => r === 'GET /cosigner/v1/work'), 'delivered on the held poll').to.have.length(1);
    const { item, signature } = calls[0]!;
    expect(item).to.include({ id, workspaceId: hh.c.workspace.id, kind: 'SIGN', attempt: 1 });
    const sk = (await (await fetch(`${hh.c.baseUrl}/cosigner/v1/service-key`)).json()) as { publicKeySpki: string; sha256: string };
    expect(verifyWorkItem(item, signature, new Uint8Array(Buffer.from(sk.publicKeySpki, 'base64')), sk.sha256), 'signature verifies over the item as handed over').to.equal(true);
    await eventually(() => hh.applied.length === 1, 5_000, 'the result applied');
    expect(hh.applied).to.deep.equal([{ id, result: { signature: `sig-${id}` } }]);
    expect((await hh.itemRow(id)).state).to.equal('DONE');
  });

  it('heartbeats keep the lease past its length while the handler runs slowly: another co-signer polling meanwhile gets nothing', async () => {
    const hh = await setup(); // lease 1.5 s
    const calls: Array<{ item: WorkItem; signature: string }> = [];
    const leaseSeen: number[] = [];
    const handler: WorkHandler = {
      async handle(item, _sig, ctx: WorkContext) {
        calls.push({ item, signature: _sig });
        for (let i = 0; i < 9; i++) {
          await sleep(500);
          leaseSeen.push(ctx.leaseExpiresAt());
        }
        if (ctx.signal.aborted) throw new Error('lease lost');
        return { signature: 'slow' };
      },
    };
    const id = await hh.add({ n: 1 });
    void loopOf(hh, handler).start();
    await eventually(() => calls.length === 1, 5_000, 'the item handed over');
    const other = await hh.another();
    const meanwhile = await other.poll(3_500); // the lease (1.5 s) would have expired twice over
    expect(meanwhile.status).to.equal(200);
    expect(meanwhile.json.item, 'the item stays leased to the looping co-signer').to.equal(null);
    await eventually(() => hh.applied.length === 1, 10_000, 'the result applied');
    expect(hh.applied[0]).to.deep.equal({ id, result: { signature: 'slow' } });
    const row = await hh.itemRow(id);
    expect(row).to.include({ state: 'DONE', lease_owner: hh.cosigner.cosignerId, attempts: 1 });
    expect(heartbeats(hh), 'about every lease/3 over 4.5 s').to.be.within(6, 14);
    expect(leaseSeen[leaseSeen.length - 1]!, 'the handler sees the lease extended').to.be.greaterThan(calls[0]!.item.leaseExpiresAt + 2_000);
  });

  it('reports a result once when the answer to the first report is lost: the retry is acknowledged as a duplicate, the coordinator applied it once, the handler ran once', async () => {
    const hh = await setup();
    const calls: Array<{ item: WorkItem; signature: string }> = [];
    hh.proxy.cutAnswerTo(/\/result$/);
    const id = await hh.add({ n: 1 });
    void loopOf(hh, signing(calls)).start();
    await eventually(() => hh.logs.find(/^result reported/).length === 1, 10_000, 'the result acknowledged');
    expect(hh.proxy.cuts, 'the first answer was swallowed').to.equal(1);
    // The retry is the client's own (a reset kept-alive connection is retried once at once) or the loop's.
    expect(results(hh), 'reported twice over the wire').to.equal(2);
    expect(hh.logs.find(/^result reported/)[0]).to.include({ status: 'duplicate', workItem: id });
    expect(hh.applied, 'applied once').to.deep.equal([{ id, result: { signature: `sig-${id}` } }]);
    expect(calls.length, 'the handler is not run again').to.equal(1);
    await sleep(300);
    expect(results(hh), 'no further reports').to.equal(2);
  });

  it('retries a report the coordinator fails (500: its apply threw) until recorded, and applies it once', async () => {
    const hh = await setup();
    hh.failApply.times = 2;
    const id = await hh.add({ n: 1 });
    void loopOf(hh, signing([])).start();
    await eventually(() => hh.logs.find(/^result reported/).length === 1, 10_000, 'the result acknowledged');
    expect(hh.applied).to.have.length(1);
    expect(results(hh)).to.equal(3);
    expect(hh.logs.find(/^result reported/)[0]).to.include({ status: 'recorded', attempts: 3 });
    expect(hh.logs.find(/result not acknowledged; retrying/).length).to.equal(2);
    expect((await hh.itemRow(id)).state).to.equal('DONE');
  });

  it('coordinator down: backs off exponentially with full jitter (1 s base, 30 s cap), recovers when it is back, and starts again from the base after a success', async () => {
    const hh = await setup();
    const randoms = [0.25, 0.75, 0.5, 0.1, 0.9, 0.6, 0.3, 0.99];
    let next = 0;
    const drawn: number[] = [];
    const random = () => {
      const r = randoms[next++ % randoms.length]!;
      drawn.push(r);
      return r;
    };
    const backoffs: number[] = [];
    let recording = true;
    const clock = {
      now: () => Date.now(),
      // Backoffs are recorded and shortened; heartbeat waits (no item here while recording) are not.
      sleep: (ms: number, signal: AbortSignal) => {
        if (recording) backoffs.push(ms);
        return realClock.sleep(recording ? Math.min(ms, 30) : ms, signal);
      },
    };
    await hh.proxy.down();
    const calls: Array<{ item: WorkItem; signature: string }> = [];
    void loopOf(hh, signing(calls), { clock, random }).start();
    await eventually(() => backoffs.length >= 8, 10_000, 'eight backoffs');
    const ceiling = (n: number) => Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** n);
    const first = backoffs.slice(0, 8);
    expect(first).to.deep.equal(first.map((_, n) => Math.floor(drawn[n]! * ceiling(n))));
    expect(first).to.deep.equal([250, 1500, 2000, 800, 14400, 18000, 9000, 29700]);
    expect(hh.logs.find(/^poll failed; retrying/)[0]).to.include({ status: 0 });

    recording = false;
    await hh.proxy.up();
    const id = await hh.add({ n: 1 });
    await eventually(() => hh.logs.find(/^result reported/).length === 1, 10_000, 'recovered: the item handled and its report acknowledged');
    expect(calls[0]!.item.id).to.equal(id);
    expect(hh.applied).to.have.length(1);
    await eventually(() => polls(hh) > 0 && hh.logs.find(/^long poll/).length > 0, 1_000, 'polling again');
    await sleep(100); // the next poll is held

    // Down again: the first backoff is from the base again (the success reset it).
    backoffs.length = 0;
    drawn.length = 0;
    recording = true;
    await hh.proxy.down(); // cuts the held poll too
    await eventually(() => backoffs.length >= 2, 10_000, 'backoffs after the second outage');
    expect(backoffs.slice(0, 2)).to.deep.equal([Math.floor(drawn[0]! * 1_000), Math.floor(drawn[1]! * 2_000)]);
  });

  it('keeps its access token fresh across expiry (short TTL): renewed ahead, never refused, while heartbeats and the report go on', async () => {
    const hh = await setup({ cosignerAccessTokenTtlMs: 1_000 });
    const id = await hh.add({ n: 1 });
    void loopOf(hh, signing([], 3_500)).start();
    await eventually(() => hh.applied.length === 1, 10_000, 'the result applied');
    expect(hh.applied[0]!.id).to.equal(id);
    const tokens = hh.proxy.requestsMatching(/^POST \/cosigner\/v1\/token$/).length;
    expect(tokens, 'renewed several times over ~4 s with 1 s tokens').to.be.at.least(4);
    expect(hh.logs.find(/access token refused/), 'renewed before expiry, not after a 401').to.deep.equal([]);
    expect(heartbeats(hh)).to.be.at.least(5);
  });

  it('a revoked pairing ends the loop (error logged, handler told to stop), even mid-item', async () => {
    const hh = await setup();
    let aborted = false;
    let started = false;
    const handler: WorkHandler = {
      async handle(_item, _sig, ctx) {
        started = true;
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted = true;
        throw new Error('stopped');
      },
    };
    await hh.add({ n: 1 });
    const loop = loopOf(hh, handler);
    const done = loop.start();
    await eventually(() => started, 5_000, 'the handler runs');
    await hh.revoke();
    const exit = await Promise.race([done, sleep(5_000).then(() => 'still running' as const)]);
    expect(exit).to.not.equal('still running');
    expect(exit).to.deep.include({ reason: 'revoked' });
    expect((exit as { error: { apiCode: number } }).error.apiCode).to.equal(1605);
    expect(aborted, 'the handler signal aborted').to.equal(true);
    expect(hh.logs.lines.filter((l) => l.level === 50 && /pairing revoked/.test(String(l.msg)))).to.have.length(1);
    const pollsAtEnd = polls(hh);
    await sleep(500);
    expect(polls(hh), 'no polling after the end').to.equal(pollsAtEnd);
  });

  it('a revoked pairing ends the loop at its next poll (here after a network blip cuts the held poll)', async () => {
    const hh = await setup();
    const loop = loopOf(hh, signing([]));
    const done = loop.start();
    await eventually(() => polls(hh) === 1, 5_000, 'the first poll');
    await sleep(200);
    await hh.revoke();
    hh.proxy.cutAll();
    const exit = await Promise.race([done, sleep(5_000).then(() => 'still running' as const)]);
    expect(exit).to.deep.include({ reason: 'revoked' });
  });

  it('a lease lost to another co-signer (409/1610 on heartbeat) aborts the handler and drops its result', async () => {
    const hh = await setup({ cosignerLeaseMs: 3_000 }); // heartbeats every second
    let started = false;
    const handler: WorkHandler = {
      async handle(item) {
        started = true;
        await sleep(4_000);
        return { signature: `late-${item.id}` };
      },
    };
    const id = await hh.add({ n: 1 });
    void loopOf(hh, handler).start();
    await eventually(() => started, 5_000, 'the handler runs');
    // The lease runs out (as if heartbeats had not made it) and another co-signer takes the item.
    await hh.c.db.updateTable('work_items').set({ lease_expires_at: Date.now() - 1 }).where('id', '=', id).execute();
    const other = await hh.another();
    const taken = await other.poll(1_000);
    expect(taken.json.item?.id).to.equal(id);
    expect((await other.result(id, { signature: 'theirs' })).json.status).to.equal('recorded');
    await eventually(() => hh.logs.find(/lease lost/).length > 0, 3_000, 'the loop notices');
    expect(hh.logs.find(/heartbeat: lease lost/)[0]).to.include({ apiCode: 1610 });
    await eventually(() => hh.logs.find(/result dropped/).length > 0, 6_000, 'the handler returns');
    await sleep(200);
    expect(results(hh), 'the late result is not reported').to.equal(0);
    expect(hh.applied).to.deep.equal([{ id, result: { signature: 'theirs' } }]);
  });

  it('a handler that throws reports nothing: the lease runs out and the item comes back (attempt 2) to be handled and reported once', async () => {
    const hh = await setup(); // lease 1.5 s
    const attempts: number[] = [];
    const handler: WorkHandler = {
      async handle(item) {
        attempts.push(item.attempt);
        if (attempts.length === 1) throw new Error('enclave busy (test)');
        return { signature: `sig-${item.attempt}` };
      },
    };
    const id = await hh.add({ n: 1 });
    void loopOf(hh, handler).start();
    await eventually(() => hh.logs.find(/^result reported/).length === 1, 10_000, 'the second attempt reported');
    expect(attempts).to.deep.equal([1, 2]);
    expect(hh.logs.find(/the handler failed/)).to.have.length(1);
    expect(results(hh), 'only the second attempt reported').to.equal(1);
    expect(hh.applied).to.deep.equal([{ id, result: { signature: 'sig-2' } }]);
  });

  it('stop() while the handler runs aborts its signal and resolves once it has returned, reporting nothing', async () => {
    const hh = await setup();
    let started = false;
    let returned = false;
    const handler: WorkHandler = {
      async handle(_item, _sig, ctx) {
        started = true;
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
        await sleep(200); // winding down
        returned = true;
        return { signature: 'too late' };
      },
    };
    await hh.add({ n: 1 });
    const loop = loopOf(hh, handler);
    const done = loop.start();
    await eventually(() => started, 5_000, 'the handler runs');
    await loop.stop();
    expect(returned, 'stop() waited for the handler').to.equal(true);
    expect(await done).to.deep.equal({ reason: 'stopped' });
    expect(results(hh)).to.equal(0);
    const n = polls(hh);
    await sleep(300);
    expect(polls(hh)).to.equal(n);
  });

  it('stop() during a held poll returns at once; the coordinator gives the poll up, so the next item goes to another co-signer untouched', async () => {
    const hh = await setup();
    const loop = loopOf(hh, signing([]));
    const done = loop.start();
    await eventually(() => polls(hh) === 1, 5_000, 'the first poll');
    await sleep(300);
    const t = Date.now();
    await loop.stop();
    expect(Date.now() - t, 'prompt').to.be.lessThan(300);
    expect(await done).to.deep.equal({ reason: 'stopped' });
    await sleep(100);
    const id = await hh.add({ n: 1 });
    const other = await hh.another();
    const got = await other.poll(2_000);
    expect(got.json.item?.id).to.equal(id);
    expect(got.json.item?.attempt, 'the stopped poll leased nothing').to.equal(1);
  });
});

describe('parent: long-poll loop constants and backoff', () => {
  it('polls for 30 s, and draws backoffs uniformly below min(30 s, 1 s·2^n), also after very many failures', () => {
    expect(LONG_POLL_WAIT_MS).to.equal(30_000);
    expect([0, 1, 2, 3, 4, 5, 6, 50, 5000].map((n) => backoffDelay(n, () => 0.999999))).to.deep.equal([999, 1999, 3999, 7999, 15999, 29999, 29999, 29999, 29999]);
    expect([0, 7, 5000].map((n) => backoffDelay(n, () => 0))).to.deep.equal([0, 0, 0]);
  });
});
