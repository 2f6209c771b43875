import { expect } from 'chai';
import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import { CosignerError } from '../../shared/errors.js';
import { struct, text } from '../../shared/schema.js';
import { LoopbackTransport } from '../../shared/channel/loopback-transport.js';
import { RpcClient, RpcServer, type CallContext, type MessageCatalog } from '../../shared/channel/rpc.js';
import type { VsockListener } from '../../shared/channel/transport.js';
import { SECRET_IN_CRASH, testCatalog, testHandlers, type TestCatalog } from './fixtures/test-catalog.js';
import { RawPeer, header, outcome, quietLogger, rejectsWith, tempSocketDir } from './fixtures/helpers.js';
import { encodeFrame } from '../../shared/channel/frame.js';

const PORT = 5000;

describe('channel RPC (in process, over the loopback emulator)', () => {
  let dir: string;
  let transport: LoopbackTransport;
  let servers: RpcServer<TestCatalog>[];
  let clients: RpcClient<TestCatalog>[];

  beforeEach(() => {
    dir = tempSocketDir();
    transport = new LoopbackTransport({ dir });
    servers = [];
    clients = [];
  });

  afterEach(async () => {
    for (const c of clients) await c.close();
    for (const s of servers) await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function startServer(cid = 16, opts: ConstructorParameters<typeof RpcServer>[2] = {}, handlers = testHandlers()) {
    const server = new RpcServer(testCatalog, handlers, { logger: quietLogger(), ...opts });
    servers.push(server);
    const listener = await server.listen(transport, cid, PORT);
    return { server, listener, handlers };
  }

  function client(cid: () => number = () => 16, opts: Partial<ConstructorParameters<typeof RpcClient>[1]> = {}) {
    const c = new RpcClient(testCatalog, {
      connect: () => transport.connect(cid(), PORT),
      reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
      logger: quietLogger(),
      ...opts,
    });
    clients.push(c);
    return c;
  }

  it('makes typed calls and checks their responses', async () => {
    await startServer();
    const c = client();
    expect(await c.call('add', { a: 2, b: 40 })).to.deep.equal({ sum: 42 });
    expect(await c.call('echo', { text: 'héllo' })).to.deep.equal({ text: 'héllo' });
    expect(c.state).to.equal('connected');
  });

  it('keeps many calls in flight and matches each response to its call by id', async () => {
    await startServer();
    const c = client();
    const n = 500;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => c.call('add', { a: i, b: 1000 * i })));
    results.forEach((r, i) => expect(r.sum).to.equal(1001 * i));
  });

  it('delivers responses that arrive out of order to the right calls', async () => {
    await startServer();
    const c = client();
    const keys = ['k1', 'k2', 'k3', 'k4', 'k5'];
    const order: string[] = [];
    const holds = keys.map((key) => c.call('hold', { key }).then((r) => (order.push(r.key), r)));
    // Requests on one connection are dispatched in order, so `held` sees all five holds.
    expect(await c.call('held', {})).to.deep.equal({ count: 5 });
    for (const key of [...keys].reverse()) expect(await c.call('release', { key })).to.deep.equal({ released: true });
    const got = await Promise.all(holds);
    expect(got.map((r) => r.key)).to.deep.equal(keys);
    expect(order).to.deep.equal([...keys].reverse());
  });

  it('returns a handler CosignerError as a typed error response', async () => {
    await startServer();
    const c = client();
    const e = await rejectsWith(c.call('fail', { message: 'session not started' }), 'MPC_STATE');
    expect(e.message).to.equal('session not started');
    expect(e.details).to.deep.equal({ remote: true });
    expect(await c.call('add', { a: 1, b: 1 })).to.deep.equal({ sum: 2 }); // same connection still fine
  });

  it('turns any other handler exception into INTERNAL without leaking its message', async () => {
    const seen: unknown[] = [];
    await startServer(16, { onHandlerError: (_type, err) => seen.push(err) });
    const c = client();
    const e = await rejectsWith(c.call('crash', {}), 'INTERNAL');
    expect(e.message).to.equal('internal error');
    expect(JSON.stringify({ m: e.message, d: e.details })).not.to.include(SECRET_IN_CRASH);
    expect((seen[0] as Error).message).to.equal(SECRET_IN_CRASH); // the application hook sees it
  });

  it('never sends a handler response that breaks the catalog (INTERNAL instead)', async () => {
    await startServer();
    const c = client();
    await rejectsWith(c.call('badResponse', {}), 'INTERNAL');
  });

  it('checks its own request against the catalog before sending', async () => {
    const handlers = testHandlers();
    let adds = 0;
    const counting = { ...handlers, add: (b: { a: number; b: number }, ctx: CallContext) => (adds++, handlers.add(b, ctx)) } as typeof handlers;
    await startServer(16, {}, counting);
    const c = client();
    const e = await rejectsWith(c.call('add', { a: 1, b: 'two' } as unknown as { a: number; b: number }), 'SCHEMA_VIOLATION');
    expect(e.message).to.include('body.b');
    await rejectsWith(c.call('add', { a: 1, b: 2, c: 3 } as unknown as { a: number; b: number }), 'SCHEMA_VIOLATION');
    await rejectsWith(c.call('nope' as 'add', { a: 1, b: 2 }), 'UNKNOWN_MESSAGE_TYPE');
    expect(await c.call('add', { a: 1, b: 2 })).to.deep.equal({ sum: 3 });
    expect(adds).to.equal(1);
  });

  it('refuses a request too large for one frame without sending it', async () => {
    await startServer();
    const c = client(undefined, { maxFrameBytes: 1000 });
    await rejectsWith(c.call('echo', { text: 'x'.repeat(2000) }), 'FRAME_TOO_LARGE');
    expect(await c.call('echo', { text: 'small' })).to.deep.equal({ text: 'small' });
  });

  it('times out a call (RPC_TIMEOUT), drops the late response, and keeps the connection', async () => {
    await startServer();
    const c = client();
    const before = await c.call('whoami', {});
    const e = await rejectsWith(c.call('hold', { key: 'slow' }, { timeoutMs: 30 }), 'RPC_TIMEOUT');
    expect(e.details).to.include({ sent: true });
    expect(await c.call('release', { key: 'slow' })).to.deep.equal({ released: true }); // its late answer is dropped
    expect(await c.call('whoami', {})).to.deep.equal(before); // same connection
  });

  it('waits for a connection before sending, within the call timeout', async () => {
    const c = client();
    const pending = c.call('add', { a: 20, b: 22 }, { timeoutMs: 30_000 });
    // Let some connect attempts fail first (nobody listening yet).
    await rejectsWith(c.waitConnected(30), 'RPC_TIMEOUT');
    await startServer();
    expect(await pending).to.deep.equal({ sum: 42 });
  });

  it('abandons a connect() that hangs after connectTimeoutMs and tries again', async () => {
    await startServer();
    let attempts = 0;
    const c = client(undefined, {
      connectTimeoutMs: 20,
      connect: () => (++attempts === 1 ? new Promise<never>(() => undefined) : transport.connect(16, PORT)),
    });
    expect(await c.call('add', { a: 1, b: 1 })).to.deep.equal({ sum: 2 });
    expect(attempts).to.equal(2);
  });

  it('close() during a hanging connect returns at once and destroys a stream that arrives later', async () => {
    await startServer();
    let deliver!: (s: Duplex) => void;
    const c = client(undefined, { connect: () => new Promise<Duplex>((r) => (deliver = r)) });
    c.start();
    expect(c.state).to.equal('connecting');
    await c.close();
    expect(c.state).to.equal('closed');
    const late = await transport.connect(16, PORT);
    const closed = new Promise<void>((r) => late.once('close', () => r()));
    deliver(late);
    await closed;
    expect(late.destroyed).to.equal(true);
  });

  it('waitConnected resolves once connected, and times out with the last connect error', async () => {
    const c = client();
    const e = await rejectsWith(c.waitConnected(40), 'RPC_TIMEOUT');
    expect(e.message).to.include('TRANSPORT_ERROR');
    await startServer();
    await c.waitConnected(30_000);
    expect(c.state).to.equal('connected');
    await c.waitConnected(1); // already connected
  });

  it('close() rejects pending and later calls with CHANNEL_CLOSED and emits disconnected', async () => {
    await startServer();
    const c = client();
    await c.waitConnected(30_000);
    const events: string[] = [];
    c.on('disconnected', (r) => events.push(`disconnected:${r.code}`));
    const inFlight = [outcome(c.call('hold', { key: 'a' })), outcome(c.call('hold', { key: 'b' }))];
    expect(await c.call('held', {})).to.deep.equal({ count: 2 });
    await c.close();
    for (const p of inFlight) expect((await rejectsWith(p, 'CHANNEL_CLOSED')).details).to.include({ sent: true });
    expect((await rejectsWith(c.call('add', { a: 1, b: 1 }), 'CHANNEL_CLOSED')).details).to.include({ sent: false });
    await rejectsWith(c.waitConnected(1000), 'CHANNEL_CLOSED');
    expect(events).to.deep.equal(['disconnected:CHANNEL_CLOSED']);
    expect(c.state).to.equal('closed');
    await c.close(); // idempotent
  });

  it('close() while waiting for a connection rejects queued calls as not sent', async () => {
    const c = client();
    const queued = c.call('add', { a: 1, b: 2 }, { timeoutMs: 30_000 });
    await c.close();
    expect((await rejectsWith(queued, 'CHANNEL_CLOSED')).details).to.include({ sent: false });
  });

  it('reconnects after the server drops it, re-resolving the address; in-flight calls reject CHANNEL_CLOSED', async () => {
    let cid = 16;
    const first = await startServer(16);
    const c = client(() => cid);
    const events: string[] = [];
    c.on('connected', () => events.push('connected'));
    c.on('disconnected', (r) => events.push(`disconnected:${r.code}`));
    await c.waitConnected(30_000);
    const inFlight = outcome(c.call('hold', { key: 'lost' }));
    expect(await c.call('held', {})).to.deep.equal({ count: 1 });

    // The "enclave" restarts with a new CID: the old server goes away entirely.
    cid = 17;
    await first.server.close();
    const e = await rejectsWith(inFlight, 'CHANNEL_CLOSED');
    expect(e.details).to.include({ sent: true });
    await startServer(17);
    await c.waitConnected(30_000);
    expect(await c.call('add', { a: 5, b: 6 })).to.deep.equal({ sum: 11 });
    expect(events[0]).to.equal('connected');
    expect(events).to.include('disconnected:CHANNEL_CLOSED');
    expect(events.at(-1)).to.equal('connected');
  });

  it('serves several connections at once, each with its own calls', async () => {
    await startServer();
    const a = client();
    const b = client();
    const held = a.call('hold', { key: 'from-a' });
    expect(await b.call('held', {})).to.deep.equal({ count: 1 });
    expect((await a.call('whoami', {})).connection).not.to.equal((await b.call('whoami', {})).connection);
    expect(await b.call('release', { key: 'from-a' })).to.deep.equal({ released: true });
    expect(await held).to.deep.equal({ key: 'from-a' });
  });

  it('limits the connections it serves at once; a further one is closed, the others keep working', async () => {
    const { server } = await startServer(16, { maxConnections: 2 });
    const a = client();
    const b = client();
    expect(await a.call('add', { a: 1, b: 1 })).to.deep.equal({ sum: 2 });
    expect(await b.call('add', { a: 1, b: 2 })).to.deep.equal({ sum: 3 });
    const extra = await RawPeer.connect(transport.socketPath(16, PORT));
    await extra.closed;
    expect(server.connectionCount).to.equal(2);
    expect(await a.call('add', { a: 2, b: 2 })).to.deep.equal({ sum: 4 });
  });

  it('limits requests handled at once per connection; the rest wait their turn', async () => {
    await startServer(16, { maxInFlightPerConnection: 2 });
    const a = client();
    const b = client();
    const holds = ['h1', 'h2', 'h3', 'h4'].map((key) => a.call('hold', { key }));
    // Poll from another connection until the server has picked up what it may: exactly 2.
    const deadline = Date.now() + 20_000;
    let count = 0;
    while (count < 2 && Date.now() < deadline) {
      count = (await b.call('held', {})).count;
      if (count < 2) await new Promise((r) => setTimeout(r, 5));
    }
    expect(count).to.equal(2);
    expect(await b.call('release', { key: 'h3' })).to.deep.equal({ released: false }); // not started yet
    expect(await b.call('release', { key: 'h1' })).to.deep.equal({ released: true });
    // h3 starts once h1 finished; release it (retry until it is registered).
    let released = false;
    while (!released && Date.now() < deadline) {
      released = (await b.call('release', { key: 'h3' })).released;
      if (!released) await new Promise((r) => setTimeout(r, 5));
    }
    expect(released).to.equal(true);
    expect((await b.call('held', {})).count).to.equal(2); // h2 and h4
    for (const key of ['h2', 'h4']) await b.call('release', { key });
    expect((await Promise.all(holds)).map((r) => r.key)).to.deep.equal(['h1', 'h2', 'h3', 'h4']);
  });

  it('closes a connection whose peer starts a frame and stalls (FRAME_TRUNCATED notice)', async () => {
    await startServer(16, { frameTimeoutMs: 40 });
    const peer = await RawPeer.connect(transport.socketPath(16, PORT));
    peer.write(new Uint8Array([...header(100), 1, 2, 3])); // 3 of 100 body bytes, then nothing
    await peer.closed;
    expect(peer.frames).to.have.length(1);
    expect(peer.frames[0]).to.deep.include({ id: 0, ok: false });
    expect((peer.frames[0] as { error: { code: string } }).error.code).to.equal('FRAME_TRUNCATED');
    const c = client();
    expect(await c.call('add', { a: 1, b: 2 })).to.deep.equal({ sum: 3 });
  });

  it('times out a frame whose complete header arrived but whose body never does', async () => {
    await startServer(16, { frameTimeoutMs: 40 });
    const peer = await RawPeer.connect(transport.socketPath(16, PORT));
    peer.write(header(100)); // the whole length header, then silence: nothing is buffered
    await peer.closed;
    expect(peer.frames).to.have.length(1);
    expect((peer.frames[0] as { error: { code: string; message: string } }).error).to.deep.include({ code: 'FRAME_TRUNCATED' });
  });

  it('answers the requests decoded before a bad frame in the same write, then closes with the notice', async () => {
    await startServer();
    const peer = await RawPeer.connect(transport.socketPath(16, PORT));
    const good = encodeFrame({ id: 1, type: 'add', body: { a: 2, b: 3 } });
    const good2 = encodeFrame({ id: 2, type: 'echo', body: { text: 'x' } });
    const garbage = new Uint8Array([...header(2), 0xff, 0xff]);
    peer.write(new Uint8Array([...good, ...good2, ...garbage, ...encodeFrame({ id: 3, type: 'add', body: { a: 1, b: 1 } })]));
    await peer.closed;
    const byId = (id: number) => peer.frames.find((f) => (f as { id: number }).id === id);
    expect(byId(1)).to.deep.equal({ id: 1, ok: true, body: { sum: 5 } });
    expect(byId(2)).to.deep.equal({ id: 2, ok: true, body: { text: 'x' } });
    expect(byId(3), 'nothing after the bad frame is read').to.equal(undefined);
    const notice = peer.frames[peer.frames.length - 1] as { id: number; error: { code: string } };
    expect(notice.id).to.equal(0);
    expect(notice.error.code).to.equal('FRAME_NOT_CBOR');
  });

  it('bounds work across connections: a flood on one connection leaves others a slot as soon as one frees', async () => {
    await startServer(16, { maxInFlightTotal: 2, priorityTypes: ['release', 'held'] });
    const flooder = client();
    const holds = ['h1', 'h2', 'h3'].map((key) => flooder.call('hold', { key }));
    const other = client();
    await flooder.waitConnected(30_000);
    while ((await other.call('held', {})).count < 2) await new Promise((r) => setTimeout(r, 5));
    let answered = false;
    const add = other.call('add', { a: 1, b: 1 }).then((r) => ((answered = true), r));
    await new Promise((r) => setTimeout(r, 50));
    expect(answered, 'both server-wide slots are taken').to.equal(false);
    expect((await other.call('held', {})).count, 'h3 waits too').to.equal(2);
    await other.call('release', { key: 'h1' });
    expect(await add).to.deep.equal({ sum: 2 });
    for (const key of ['h2', 'h3']) {
      while (!(await other.call('release', { key })).released) await new Promise((r) => setTimeout(r, 5));
    }
    expect((await Promise.all(holds)).map((r) => r.key)).to.deep.equal(['h1', 'h2', 'h3']);
  });

  it('abandons the work of a connection that closes: queued requests never start, running ones see the abort', async () => {
    await startServer(16, { maxInFlightPerConnection: 2 });
    for (let round = 0; round < 5; round++) {
      const peer = await RawPeer.connect(transport.socketPath(16, PORT));
      for (let i = 1; i <= 20; i++) peer.send({ id: i, type: 'untilAborted', body: {} });
      await new Promise((r) => setTimeout(r, 20));
      peer.socket.destroy();
      await peer.closed;
    }
    const c = client();
    let stats = await c.call('abortStats', {});
    for (let i = 0; i < 100 && stats.aborted < stats.started; i++) {
      await new Promise((r) => setTimeout(r, 10));
      stats = await c.call('abortStats', {});
    }
    expect(stats.started, 'only the in-flight two of each round ever ran').to.equal(10);
    expect(stats.aborted).to.equal(10);
    expect(servers[0]!.inFlight).to.equal(0);
    expect(await c.call('add', { a: 1, b: 2 })).to.deep.equal({ sum: 3 });
  });

  it('server close() drops every connection and stops listening', async () => {
    const { server } = await startServer();
    const c = client();
    await c.waitConnected(30_000);
    expect(server.connectionCount).to.equal(1);
    await server.close();
    expect(server.connectionCount).to.equal(0);
    await rejectsWith(transport.connect(16, PORT), 'TRANSPORT_ERROR');
  });

  it('refuses a server whose handlers do not cover the catalog', () => {
    const catalog = { a: { request: struct({}), response: struct({ t: text() }) } } satisfies MessageCatalog;
    expect(() => new RpcServer(catalog, {} as never)).to.throw(CosignerError).with.property('code', 'CONFIG_INVALID');
  });

  it('refuses invalid timeouts and frame sizes up front (CONFIG_INVALID)', async () => {
    const connect = () => transport.connect(16, PORT);
    for (const bad of [{ timeoutMs: 0 }, { connectTimeoutMs: -1 }, { frameTimeoutMs: 2 ** 31 }, { maxFrameBytes: 0 }, { reconnect: { initialDelayMs: Number.NaN } }]) {
      expect(() => new RpcClient(testCatalog, { connect, ...bad }), JSON.stringify(bad)).to.throw(CosignerError).with.property('code', 'CONFIG_INVALID');
    }
    for (const bad of [{ frameTimeoutMs: 0 }, { maxFrameBytes: -5 }, { maxInFlightPerConnection: 0 }]) {
      expect(() => new RpcServer(testCatalog, testHandlers(), bad), JSON.stringify(bad)).to.throw(CosignerError).with.property('code', 'CONFIG_INVALID');
    }
    await startServer();
    const c = client();
    await rejectsWith(c.call('add', { a: 1, b: 1 }, { timeoutMs: -1 }), 'CONFIG_INVALID');
    expect(await c.call('add', { a: 1, b: 1 })).to.deep.equal({ sum: 2 });
  });

  it('survives event listeners and handler hooks that throw', async () => {
    await startServer(16, {
      onHandlerError: () => {
        throw new Error('hook broke');
      },
    });
    const c = client();
    let connectedSeen = 0;
    c.on('connected', () => {
      throw new Error('listener broke');
    });
    c.once('connected', () => connectedSeen++);
    await c.waitConnected(30_000);
    expect(connectedSeen).to.equal(1);
    await rejectsWith(c.call('crash', {}), 'INTERNAL');
    expect(await c.call('add', { a: 1, b: 1 })).to.deep.equal({ sum: 2 });
    expect(c.listenerCount('connected')).to.equal(1); // the once() listener removed itself
  });

  it('calls handlers as methods of their object', async () => {
    class Handlers {
      private readonly base = 1000;
      add({ a, b }: { a: number; b: number }) {
        return { sum: this.base + a + b };
      }
    }
    const h = Object.assign(new Handlers(), { ...testHandlers(), add: Handlers.prototype.add });
    await startServer(16, {}, h as unknown as ReturnType<typeof testHandlers>);
    expect(await client().call('add', { a: 1, b: 2 })).to.deep.equal({ sum: 1003 });
  });

  it('lets a listener close without closing the server', async () => {
    const { listener } = await startServer();
    const c = client();
    await c.waitConnected(30_000);
    await (listener as VsockListener).close();
    expect(await c.call('add', { a: 1, b: 1 })).to.deep.equal({ sum: 2 });
  });
});
