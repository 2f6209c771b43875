// RPC against a server running in its own process: reconnection across a kill and restart, and
// every malformed frame sent as raw bytes (the server process survives and keeps serving).
import { expect } from 'chai';
import fs from 'node:fs';
import { encodeCbor } from '../../shared/cbor.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../shared/channel/frame.js';
import { LoopbackTransport } from '../../shared/channel/loopback-transport.js';
import { RpcClient } from '../../shared/channel/rpc.js';
import { testCatalog, type TestCatalog } from './fixtures/test-catalog.js';
import { RawPeer, ServerProcess, header, outcome, quietLogger, rawFrame, rejectsWith, tempSocketDir } from './fixtures/helpers.js';

const CID = 16;
const PORT = 5005;

describe('channel RPC against a server process', function () {
  this.timeout(60_000);
  let dir: string;
  let transport: LoopbackTransport;
  let procs: ServerProcess[];
  let clients: RpcClient<TestCatalog>[];

  beforeEach(() => {
    dir = tempSocketDir();
    transport = new LoopbackTransport({ dir });
    procs = [];
    clients = [];
  });

  afterEach(async () => {
    for (const c of clients) await c.close();
    for (const p of procs) await p.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function startProcess(): Promise<ServerProcess> {
    const p = await ServerProcess.start(dir, CID, PORT);
    procs.push(p);
    return p;
  }

  function client(): RpcClient<TestCatalog> {
    const c = new RpcClient(testCatalog, {
      connect: () => transport.connect(CID, PORT),
      reconnect: { initialDelayMs: 10, maxDelayMs: 200 },
      logger: quietLogger(),
    });
    clients.push(c);
    return c;
  }

  it('reconnects after the server process is killed and restarted; calls in flight at the kill reject CHANNEL_CLOSED', async () => {
    let server = await startProcess();
    const c = client();
    const states: string[] = [];
    c.on('connected', () => states.push('connected'));
    c.on('disconnected', (r) => states.push(`disconnected:${r.code}`));
    expect(await c.call('whoami', {})).to.have.property('pid', server.pid);

    for (let round = 1; round <= 2; round++) {
      const inFlight = ['a', 'b', 'c'].map((key) => outcome(c.call('hold', { key }, { timeoutMs: 30_000 })));
      expect(await c.call('held', {})).to.deep.equal({ count: 3 }); // all three reached the server
      await server.kill('SIGKILL'); // leaves its socket file behind
      for (const p of inFlight) expect((await rejectsWith(p, 'CHANNEL_CLOSED')).details).to.include({ sent: true });
      expect(c.state).to.not.equal('connected');

      // A call made while the server is down is held back, then sent once (not doubled) after reconnecting.
      const whileDown = c.call('add', { a: round, b: 100 }, { timeoutMs: 30_000 });
      server = await startProcess();
      await c.waitConnected(30_000);
      expect(await whileDown).to.deep.equal({ sum: 100 + round });
      const who = await c.call('whoami', {});
      expect(who.pid).to.equal(server.pid);
      expect(await c.call('held', {})).to.deep.equal({ count: 0 }); // nothing was re-sent
    }
    expect(states).to.deep.equal(['connected', 'disconnected:CHANNEL_CLOSED', 'connected', 'disconnected:CHANNEL_CLOSED', 'connected']);
  });

  describe('malformed frames sent to the server', () => {
    // One server process for the whole group: it has to survive every case in turn.
    let server: ServerProcess;
    let serverDir: string;
    const file = () => transport.socketPath(CID, PORT);

    before(async () => {
      serverDir = tempSocketDir();
      server = await ServerProcess.start(serverDir, CID, PORT);
    });
    after(async () => {
      await server.kill();
      fs.rmSync(serverDir, { recursive: true, force: true });
    });
    beforeEach(() => {
      transport = new LoopbackTransport({ dir: serverDir });
    });

    async function expectNoticeAndClose(bytes: Uint8Array, code: string): Promise<void> {
      const peer = await RawPeer.connect(file());
      peer.write(bytes);
      await peer.closed;
      expect(peer.frames).to.have.length(1);
      expect(peer.frames[0]).to.deep.include({ id: 0, ok: false });
      expect((peer.frames[0] as { error: { code: string } }).error.code).to.equal(code);
    }

    async function expectServerStillServes(): Promise<void> {
      expect(server.alive).to.equal(true);
      const c = client();
      expect(await c.call('add', { a: 2, b: 3 })).to.deep.equal({ sum: 5 });
      expect((await c.call('whoami', {})).pid).to.equal(server.pid);
    }

    const closing: Array<[string, () => Uint8Array, string]> = [
      ['a length header far above the maximum', () => header(0x7fffffff), 'FRAME_TOO_LARGE'],
      ['a length one byte above the maximum, with body bytes following', () => new Uint8Array([...header(DEFAULT_MAX_FRAME_BYTES + 1), ...new Uint8Array(5000)]), 'FRAME_TOO_LARGE'],
      ['a zero-length frame', () => header(0), 'FRAME_NOT_CBOR'],
      ['a body that is not CBOR', () => rawFrame(new Uint8Array([0xff, 0xfe, 0xfd])), 'FRAME_NOT_CBOR'],
      ['a valid request followed by trailing bytes in the same frame', () => rawFrame(new Uint8Array([...encodeCbor({ id: 1, type: 'add', body: { a: 1, b: 2 } }), 0x00])), 'FRAME_NOT_CBOR'],
      ['a CBOR array instead of an envelope', () => rawFrame(encodeCbor([1, 'add', { a: 1, b: 2 }])), 'SCHEMA_VIOLATION'],
      ['an envelope without id', () => rawFrame(encodeCbor({ type: 'add', body: { a: 1, b: 2 } })), 'SCHEMA_VIOLATION'],
      ['a text id', () => rawFrame(encodeCbor({ id: '1', type: 'add', body: { a: 1, b: 2 } })), 'SCHEMA_VIOLATION'],
      ['a negative id', () => rawFrame(encodeCbor({ id: -1, type: 'add', body: { a: 1, b: 2 } })), 'SCHEMA_VIOLATION'],
      ['the reserved id 0', () => rawFrame(encodeCbor({ id: 0, type: 'add', body: { a: 1, b: 2 } })), 'SCHEMA_VIOLATION'],
      ['an id above 2^32-1', () => rawFrame(encodeCbor({ id: 2 ** 40, type: 'add', body: { a: 1, b: 2 } })), 'SCHEMA_VIOLATION'],
    ];
    for (const [name, bytes, code] of closing) {
      it(`${name}: notice ${code}, connection closed, server keeps serving`, async () => {
        await expectNoticeAndClose(bytes(), code);
        await expectServerStillServes();
      });
    }

    it('logs why it closed a connection', async () => {
      await expectNoticeAndClose(header(0x7fffffff), 'FRAME_TOO_LARGE');
      await expectServerStillServes();
      const line = await server.waitForLog((l) => l.code === 'FRAME_TOO_LARGE');
      expect(line.msg).to.match(/closing rpc connection/);
    });

    it('a stream that ends inside a frame: connection closed, FRAME_TRUNCATED logged, server keeps serving', async () => {
      for (const partial of [new Uint8Array([0, 0]), new Uint8Array([...header(100), ...new Uint8Array(10)])]) {
        const peer = await RawPeer.connect(file());
        peer.socket.end(partial);
        await peer.closed;
        // If anything arrives it can only be the notice about the truncation.
        for (const f of peer.frames) expect(f).to.deep.include({ id: 0, ok: false, error: { code: 'FRAME_TRUNCATED', message: (f as { error: { message: string } }).error.message } });
      }
      await expectServerStillServes();
      await server.waitForLog((l) => l.code === 'FRAME_TRUNCATED');
    });

    it('a peer that vanishes mid-frame does not disturb the server', async () => {
      const peer = await RawPeer.connect(file());
      peer.write(new Uint8Array([...header(1000), 1, 2, 3]));
      peer.destroy();
      await peer.closed;
      await expectServerStillServes();
    });

    it('envelope and body errors with a readable id: typed error response, connection stays open', async () => {
      const peer = await RawPeer.connect(file());
      const cases: Array<[unknown, string, RegExp?]> = [
        [{ id: 10, type: 'nope', body: {} }, 'UNKNOWN_MESSAGE_TYPE'],
        [{ id: 11, type: '__proto__', body: {} }, 'UNKNOWN_MESSAGE_TYPE'],
        [{ id: 12, type: 'constructor', body: {} }, 'UNKNOWN_MESSAGE_TYPE'],
        [{ id: 13, type: 'toString', body: {} }, 'UNKNOWN_MESSAGE_TYPE'],
        [{ id: 14, type: 'add', body: { a: 1, b: 2 }, extra: true }, 'SCHEMA_VIOLATION', /unexpected field "extra"/],
        [{ id: 15, type: 'add', body: { a: 1, b: 2, c: 3 } }, 'SCHEMA_VIOLATION', /body: unexpected field "c"/],
        [{ id: 16, type: 5, body: { a: 1, b: 2 } }, 'SCHEMA_VIOLATION', /type: expected text/],
        [{ id: 17, type: 'add' }, 'SCHEMA_VIOLATION', /missing field "body"/],
        [{ id: 18, type: 'add', body: { a: '1', b: 2 } }, 'SCHEMA_VIOLATION', /body\.a: expected unsigned integer/],
        [{ id: 19, type: 'add', body: { a: -1, b: 2 } }, 'SCHEMA_VIOLATION', /body\.a/],
        [{ id: 20, type: 'add', body: { a: 1.5, b: 2 } }, 'SCHEMA_VIOLATION', /body\.a/],
        [{ id: 21, type: 'add', body: new Uint8Array([1, 2]) }, 'SCHEMA_VIOLATION', /body: expected map/],
        [{ id: 22, type: 'add', body: null }, 'SCHEMA_VIOLATION', /body: expected map/],
        [{ id: 23, ok: true, body: { a: 1, b: 2 } }, 'SCHEMA_VIOLATION'],
        [{ id: 24, type: 'x'.repeat(5000), body: {} }, 'SCHEMA_VIOLATION', /type: expected at most/],
      ];
      for (const [frame] of cases) peer.send(frame);
      peer.send({ id: 99, type: 'add', body: { a: 40, b: 2 } });
      const got = await peer.frameCount(cases.length + 1);
      expect(peer.isClosed).to.equal(false);
      const byId = new Map(got.map((f) => [(f as { id: number }).id, f as Record<string, unknown>]));
      for (const [frame, code, msg] of cases) {
        const id = (frame as { id: number }).id;
        const r = byId.get(id) as { ok: boolean; error: { code: string; message: string } };
        expect(r, `response to ${id}`).to.not.equal(undefined);
        expect(r.ok).to.equal(false);
        expect(r.error.code, `id ${id}: ${r.error.message}`).to.equal(code);
        if (msg) expect(r.error.message).to.match(msg);
      }
      expect(byId.get(99)).to.deep.equal({ id: 99, ok: true, body: { sum: 42 } });
      peer.destroy();
      await expectServerStillServes();
    });

    it('a flood of garbage connections leaves the server serving', async () => {
      const peers = await Promise.all(Array.from({ length: 20 }, () => RawPeer.connect(file())));
      peers.forEach((p, i) => p.write(i % 2 ? header(0xffffffff) : rawFrame(new Uint8Array([0xff]))));
      await Promise.all(peers.map((p) => p.closed));
      await expectServerStillServes();
    });
  });
});
