import { expect } from 'chai';
import type { Duplex } from 'node:stream';
import { ANY_CID } from '../../shared/channel/transport.js';
import { MAX_UNREAD_BYTES, NativeVsockTransport, loadVsockBinding } from '../../shared/channel/vsock-transport.js';
import { isCosignerError } from '../../shared/errors.js';
import { RpcClient, RpcServer } from '../../shared/channel/rpc.js';
import { pairedBinding, scriptedBinding, type ScriptedBinding } from './fixtures/scripted-vsock-binding.js';
import { testCatalog, testHandlers } from './fixtures/test-catalog.js';
import { outcome, quietLogger, rejectsWith } from './fixtures/helpers.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('AF_VSOCK transport (native binding wrapper)', () => {
  describe('with the real addon', () => {
    it('loads node-vsock-linux-x64-gnu and finds the methods the wrapper uses', () => {
      const cls = loadVsockBinding();
      for (const m of ['listen', 'connect', 'shutdown', 'close', 'startRecv', 'writeBuffer', 'setMaxConnectionAttempts']) {
        expect(typeof (cls.prototype as unknown as Record<string, unknown>)[m], m).to.equal('function');
      }
    });

    it('turns a connect nobody answers into TRANSPORT_ERROR, without crashing', async function () {
      // CID 1 (VMADDR_CID_LOCAL) with no listener: refused, timed out (no vsock_loopback), or
      // socket() itself fails where AF_VSOCK is missing. All must surface as TRANSPORT_ERROR.
      this.timeout(20_000);
      const t = new NativeVsockTransport({ logger: quietLogger() });
      const e = await rejectsWith(t.connect(1, 0x7ff3_c0de), 'TRANSPORT_ERROR');
      expect(e.message).to.match(/^vsock /);
    });
  });

  describe('error paths of loading and constructing', () => {
    it('a missing addon is TRANSPORT_ERROR', async () => {
      const t = new NativeVsockTransport({
        loadBinding: () => {
          throw Object.assign(new Error("Cannot find module 'node-vsock-linux-x64-gnu'"), { code: 'MODULE_NOT_FOUND' });
        },
      });
      const e = await rejectsWith(t.connect(16, 5000), 'TRANSPORT_ERROR');
      expect(e.message).to.include('could not be loaded');
      await rejectsWith(t.listen(ANY_CID, 5000, () => undefined), 'TRANSPORT_ERROR');
    });

    it('an addon of the wrong shape is TRANSPORT_ERROR', () => {
      expect(() => loadVsockBinding(() => ({}))).to.throw().with.property('code', 'TRANSPORT_ERROR');
      expect(() => loadVsockBinding(() => ({ VsockSocket: class {} }))).to.throw(/missing listen, connect/);
    });

    it('socket(AF_VSOCK) failing (kernel without vsock) is TRANSPORT_ERROR', async () => {
      const b = scriptedBinding();
      b.constructError = new Error('operation failed, errno: EAFNOSUPPORT: Address family not supported by protocol');
      const t = new NativeVsockTransport({ loadBinding: () => ({ VsockSocket: b.cls }) });
      const e = await rejectsWith(t.connect(16, 5000), 'TRANSPORT_ERROR');
      expect(e.message).to.include('EAFNOSUPPORT');
      await rejectsWith(t.listen(ANY_CID, 5000, () => undefined), 'TRANSPORT_ERROR');
    });

    it('rejects out-of-range addresses and listening on a specific CID', async () => {
      const b = scriptedBinding();
      const t = new NativeVsockTransport({ loadBinding: () => ({ VsockSocket: b.cls }) });
      await rejectsWith(t.connect(2 ** 32, 5000), 'CONFIG_INVALID');
      await rejectsWith(t.listen(16, 5000, () => undefined), 'CONFIG_INVALID');
      expect(b.sockets).to.have.length(0);
    });
  });

  describe('driven by the addon events (scripted binding)', () => {
    let b: ScriptedBinding;
    let t: NativeVsockTransport;

    beforeEach(() => {
      b = scriptedBinding();
      t = new NativeVsockTransport({ loadBinding: () => ({ VsockSocket: b.cls }), connectTimeoutMs: 5000, logger: quietLogger() });
    });

    async function connected(): Promise<{ stream: Duplex; native: ScriptedBinding['sockets'][number] }> {
      const p = t.connect(16, 5000);
      const native = b.sockets.at(-1)!;
      native.fire('_connect');
      return { stream: await p, native };
    }

    it('connects with one native attempt on a fresh socket, then starts receiving', async () => {
      const { native } = await connected();
      expect(native.calls.slice(0, 3)).to.deep.equal([['setMaxConnectionAttempts', 1], ['connect', 16, 5000], ['startRecv']]);
      const second = t.connect(17, 5001);
      expect(b.sockets).to.have.length(2); // a new native socket per attempt
      b.sockets[1]!.fire('_connect');
      await second;
    });

    it('ignores the stale connect error the addon emits after a successful connect (bug 2)', async () => {
      const { stream, native } = await connected();
      const errors: unknown[] = [];
      stream.on('error', (e) => errors.push(e));
      native.fireError('Connect socket failed: ECONNRESET: Connection reset by peer');
      await tick();
      expect(errors).to.deep.equal([]);
      expect(stream.destroyed).to.equal(false);
      stream.write(Buffer.from('still usable'));
      await tick();
      expect(native.calls.find((c) => c[0] === 'writeBuffer')?.[1]).to.deep.equal(Buffer.from('still usable'));
    });

    it('closes a connection whose peer keeps sending while we do not read (the addon cannot pause)', async () => {
      const { stream, native } = await connected();
      const errors: unknown[] = [];
      stream.on('error', (e) => errors.push(e));
      stream.pause();
      const chunk = Buffer.alloc(64 * 1024, 7);
      for (let sent = 0; sent <= MAX_UNREAD_BYTES && !stream.destroyed; sent += chunk.length) native.fire('_data', chunk);
      await tick();
      expect(stream.destroyed).to.equal(true);
      expect(errors).to.have.length(1);
      expect(isCosignerError(errors[0], 'TRANSPORT_ERROR')).to.equal(true);
      expect((errors[0] as Error).message).to.match(/not read yet/);
    });

    it('presents received bytes as stream data and writes with writeBuffer', async () => {
      const { stream, native } = await connected();
      const got: Buffer[] = [];
      stream.on('data', (d: Buffer) => got.push(d));
      native.fire('_data', Buffer.from('abc'));
      native.fire('_data', Buffer.from('def'));
      await tick();
      expect(Buffer.concat(got).toString()).to.equal('abcdef');
      stream.write(new Uint8Array([1, 2, 3]));
      await tick();
      expect(native.calls.filter((c) => c[0] === 'writeBuffer').map((c) => [...(c[1] as Buffer)])).to.deep.equal([[1, 2, 3]]);
    });

    it('a failed connect is TRANSPORT_ERROR and the fd is closed only after the connect thread reported', async () => {
      const p = outcome(t.connect(16, 5000));
      const native = b.sockets[0]!;
      expect(native.called('close')).to.equal(0);
      native.fireError('Connect socket failed: ECONNREFUSED: Connection refused');
      const e = await rejectsWith(p, 'TRANSPORT_ERROR');
      expect(e.message).to.include('ECONNREFUSED');
      expect(native.called('close')).to.equal(1);
      expect(native.called('startRecv')).to.equal(0);
    });

    it('a connect that times out waits for the addon thread before closing the fd', async () => {
      const quick = new NativeVsockTransport({ loadBinding: () => ({ VsockSocket: b.cls }), connectTimeoutMs: 10, logger: quietLogger() });
      await rejectsWith(quick.connect(16, 5000), 'TRANSPORT_ERROR');
      const native = b.sockets[0]!;
      expect(native.called('close')).to.equal(0); // the connect thread may still use the fd
      native.fire('_connect'); // it finally connects: nobody wants it any more
      expect(native.called('startRecv')).to.equal(0);
      expect(native.called('shutdown')).to.equal(1);
      expect(native.called('close')).to.equal(1);
    });

    it('destroy() shuts down first and closes only after the receive thread ended (bug 3)', async () => {
      const { stream, native } = await connected();
      stream.destroy();
      await tick();
      expect(native.called('shutdown')).to.equal(1);
      expect(native.called('close')).to.equal(0);
      native.fire('end'); // recv() returned 0 after the shutdown
      expect(native.called('close')).to.equal(1);
      native.fire('_data', Buffer.from('late')); // ignored, no throw
    });

    it('the peer closing ends the stream and releases the fd', async () => {
      const { stream, native } = await connected();
      const ended = new Promise<void>((r) => stream.once('end', () => r()));
      const closed = new Promise<void>((r) => stream.once('close', () => r()));
      stream.resume();
      native.fire('end');
      await ended;
      await closed;
      expect(native.called('close')).to.equal(1);
    });

    it('a read error destroys the stream with TRANSPORT_ERROR and releases the fd', async () => {
      const { stream, native } = await connected();
      const err = new Promise<unknown>((r) => stream.once('error', r));
      native.fireError('read data failed: ECONNRESET: Connection reset by peer');
      expect(await err).to.have.property('code', 'TRANSPORT_ERROR');
      await tick();
      expect(native.called('close')).to.equal(1);
    });

    it('a failing writeBuffer surfaces as a TRANSPORT_ERROR stream error', async () => {
      const { stream } = await connected();
      b.writeError = new Error('send data failed EPIPE');
      const err = new Promise<unknown>((r) => stream.once('error', r));
      stream.write(Buffer.from('x'));
      expect(await err).to.have.property('code', 'TRANSPORT_ERROR');
    });

    it('listens once per port, never closes the native listener, and stops dispatching on close (bug 1)', async () => {
      const got: Duplex[] = [];
      const l1 = await t.listen(ANY_CID, 7000, (s) => got.push(s));
      const listener = b.sockets[0]!;
      expect(listener.calls).to.deep.equal([['listen', 7000]]);
      await rejectsWith(t.listen(ANY_CID, 7000, () => undefined), 'TRANSPORT_ERROR'); // in use

      listener.fire('_connection', 41);
      expect(got).to.have.length(1);
      const accepted = b.sockets[1]!;
      expect(accepted.fd).to.equal(41);
      expect(accepted.calls).to.deep.equal([['startRecv']]);

      await l1.close();
      listener.fire('_connection', 42); // arrives after close: closed on arrival, not dispatched
      expect(got).to.have.length(1);
      const refused = b.sockets[2]!;
      expect(refused.fd).to.equal(42);
      expect(refused.called('shutdown')).to.equal(1);
      refused.fire('end');
      expect(refused.called('close')).to.equal(1);
      expect(listener.called('close')).to.equal(0); // the native listener is never closed

      const again: Duplex[] = [];
      await t.listen(ANY_CID, 7000, (s) => again.push(s)); // reuses the same native listener
      expect(b.sockets.filter((s) => s.called('listen') > 0)).to.have.length(1);
      listener.fire('_connection', 43);
      expect(again).to.have.length(1);
      expect(got).to.have.length(1);
      listener.fireError('Accept connection failed: EMFILE'); // logged, nothing breaks
    });
  });
});

describe('RPC over the AF_VSOCK wrapper (in-memory addon pair)', () => {
  it('serves calls, survives a client reconnect, and releases every native fd it used', async () => {
    const b = pairedBinding();
    const t = new NativeVsockTransport({ loadBinding: () => ({ VsockSocket: b.cls }), logger: quietLogger() });
    const server = new RpcServer(testCatalog, testHandlers(), { logger: quietLogger() });
    const listener = await server.listen(t, ANY_CID, 5000);
    const client = new RpcClient(testCatalog, { connect: () => t.connect(16, 5000), reconnect: { initialDelayMs: 1, maxDelayMs: 10 }, logger: quietLogger() });

    const sums = await Promise.all(Array.from({ length: 50 }, (_, i) => client.call('add', { a: i, b: i })));
    expect(sums.map((s) => s.sum)).to.deep.equal(Array.from({ length: 50 }, (_, i) => 2 * i));
    expect(await client.call('echo', { text: 'y'.repeat(100_000) })).to.deep.equal({ text: 'y'.repeat(100_000) });

    // The server drops the connection: the client's in-flight call fails, it reconnects, calls work.
    const held = outcome(client.call('hold', { key: 'k' }));
    expect(await client.call('held', {})).to.deep.equal({ count: 1 });
    await listener.close();
    await server.close();
    await rejectsWith(held, 'CHANNEL_CLOSED');
    const server2 = new RpcServer(testCatalog, testHandlers(), { logger: quietLogger() });
    await server2.listen(t, ANY_CID, 5000); // same port: the native listener is reused
    await client.waitConnected(10_000);
    expect(await client.call('add', { a: 1, b: 2 })).to.deep.equal({ sum: 3 });

    await client.close();
    await server2.close();
    for (let i = 0; i < 20; i++) await tick(); // let the in-memory "threads" deliver the last 'end's
    const streams = b.sockets.filter((s) => !s.isListener);
    expect(streams.length).to.be.greaterThanOrEqual(4); // two connections, both ends
    for (const s of streams) expect({ fd: s.fd, closed: s.closed }).to.deep.equal({ fd: s.fd, closed: true });
    expect(b.sockets.filter((s) => s.isListener).map((s) => s.closed)).to.deep.equal([false]);
  });
});
