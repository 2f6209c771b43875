// The client against a raw fake server that answers with bad bytes: every call rejects with a
// typed error, the client process carries on, and its connection state stays sane (closed and
// re-established when the stream is no longer trustworthy, kept otherwise).
import { expect } from 'chai';
import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import { encodeCbor } from '../../shared/cbor.js';
import { FrameDecoder, encodeFrame } from '../../shared/channel/frame.js';
import { LoopbackTransport } from '../../shared/channel/loopback-transport.js';
import { RpcClient } from '../../shared/channel/rpc.js';
import type { VsockListener } from '../../shared/channel/transport.js';
import { testCatalog, type TestCatalog } from './fixtures/test-catalog.js';
import { header, outcome, quietLogger, rawFrame, rejectsWith, tempSocketDir } from './fixtures/helpers.js';

interface Request {
  id: number;
  type: string;
  body: Record<string, unknown>;
}
type Behaviour = (req: Request, s: Duplex) => void;

/** Answers well (add/echo) unless the test set a behaviour for the next request. */
class FakeServer {
  connections = 0;
  readonly received: unknown[] = [];
  private readonly next: Behaviour[] = [];
  private readonly sockets = new Set<Duplex>();
  listener!: VsockListener;

  async listen(transport: LoopbackTransport, cid: number, port: number): Promise<void> {
    this.listener = await transport.listen(cid, port, (s) => this.accept(s));
  }

  /** Behaviours for the next requests, in order. */
  then(...b: Behaviour[]): this {
    this.next.push(...b);
    return this;
  }

  async close(): Promise<void> {
    await this.listener.close();
    for (const s of this.sockets) s.destroy();
  }

  private accept(s: Duplex): void {
    this.connections++;
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    const d = new FrameDecoder();
    s.on('data', (chunk: Buffer) => {
      for (const r of d.push(chunk)) {
        if (r.kind !== 'frame') continue;
        this.received.push(r.value);
        const req = r.value as Request;
        if (req.id === 0) continue; // a notice from the client
        const behave = this.next.shift() ?? answerWell;
        behave(req, s);
      }
    });
  }
}

const answerWell: Behaviour = (req, s) => {
  const b = req.body;
  const body = req.type === 'add' ? { sum: (b.a as number) + (b.b as number) } : req.type === 'echo' ? { text: b.text } : {};
  s.write(encodeFrame({ id: req.id, ok: true, body }));
};
const send = (bytes: (req: Request) => Uint8Array): Behaviour => (req, s) => void s.write(bytes(req));
const sendValue = (value: (req: Request) => unknown): Behaviour => send((req) => rawFrame(encodeCbor(value(req))));

describe('channel RPC client against a misbehaving server', () => {
  let dir: string;
  let transport: LoopbackTransport;
  let fake: FakeServer;
  let client: RpcClient<TestCatalog>;

  beforeEach(async () => {
    dir = tempSocketDir();
    transport = new LoopbackTransport({ dir });
    fake = new FakeServer();
    await fake.listen(transport, 16, 6000);
    client = new RpcClient(testCatalog, {
      connect: () => transport.connect(16, 6000),
      reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
      timeoutMs: 20_000,
      logger: quietLogger(),
    });
    await client.waitConnected(20_000);
  });

  afterEach(async () => {
    await client.close();
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The client is healthy: a fresh call succeeds (the fake answers well by default). */
  async function stillWorks(): Promise<void> {
    expect(await client.call('add', { a: 20, b: 22 })).to.deep.equal({ sum: 42 });
  }

  // Responses that break the stream: the call rejects with the typed error, the client closes
  // that connection (after a notice) and reconnects by itself.
  const fatal: Array<[string, Behaviour, string]> = [
    ['an oversized length header', send(() => header(0x7fffffff)), 'FRAME_TOO_LARGE'],
    ['a zero-length frame', send(() => header(0)), 'FRAME_NOT_CBOR'],
    ['a body that is not CBOR', send(() => rawFrame(new Uint8Array([0xff, 0x00]))), 'FRAME_NOT_CBOR'],
    ['a valid response with trailing bytes', send((r) => rawFrame(new Uint8Array([...encodeCbor({ id: r.id, ok: true, body: { sum: 3 } }), 0xf6]))), 'FRAME_NOT_CBOR'],
    ['a response without id', sendValue(() => ({ ok: true, body: { sum: 3 } })), 'SCHEMA_VIOLATION'],
    ['a CBOR array', sendValue((r) => [r.id, true, { sum: 3 }]), 'SCHEMA_VIOLATION'],
    ['a text id', sendValue((r) => ({ id: String(r.id), ok: true, body: { sum: 3 } })), 'SCHEMA_VIOLATION'],
    ['a notice (id 0) from the server', sendValue(() => ({ id: 0, ok: false, error: { code: 'FRAME_TOO_LARGE', message: 'your frame' } })), 'FRAME_TOO_LARGE'],
    ['a malformed notice', sendValue(() => ({ id: 0, ok: 'no' })), 'SCHEMA_VIOLATION'],
    [
      'half a frame, then the end of the stream',
      (req, s) => {
        const f = encodeFrame({ id: req.id, ok: true, body: { sum: 3 } });
        s.end(f.subarray(0, f.length - 2));
      },
      'FRAME_TRUNCATED',
    ],
  ];
  for (const [name, behaviour, code] of fatal) {
    it(`${name}: the call rejects ${code}, the connection is replaced, later calls work`, async () => {
      fake.then(behaviour);
      const states: string[] = [];
      client.on('disconnected', (r) => states.push(`disconnected:${r.code}`));
      client.on('connected', () => states.push('connected'));
      await rejectsWith(client.call('add', { a: 1, b: 2 }), code);
      await client.waitConnected(20_000);
      await stillWorks();
      expect(fake.connections).to.equal(2);
      expect(states).to.deep.equal([`disconnected:${code}`, 'connected']);
    });
  }

  it('a response frame that starts and stalls: FRAME_TRUNCATED after frameTimeoutMs, then reconnects', async () => {
    const impatient = new RpcClient(testCatalog, {
      connect: () => transport.connect(16, 6000),
      reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
      frameTimeoutMs: 40,
      logger: quietLogger(),
    });
    try {
      fake.then(send(() => new Uint8Array([...header(50), 0xa1])));
      await rejectsWith(impatient.call('add', { a: 1, b: 2 }), 'FRAME_TRUNCATED');
      await impatient.waitConnected(20_000);
      expect(await impatient.call('add', { a: 2, b: 2 })).to.deep.equal({ sum: 4 });
    } finally {
      await impatient.close();
    }
  });

  it('tells the server why it is closing the connection', async () => {
    fake.then(send(() => rawFrame(new Uint8Array([0xff]))));
    await rejectsWith(client.call('add', { a: 1, b: 2 }), 'FRAME_NOT_CBOR');
    await client.waitConnected(20_000);
    await stillWorks();
    const notice = fake.received.find((v) => (v as { id: number }).id === 0);
    expect(notice).to.deep.include({ id: 0, ok: false });
    expect((notice as { error: { code: string } }).error.code).to.equal('FRAME_NOT_CBOR');
  });

  it('a bad stream fails every call pending on it, with the same typed error', async () => {
    const hold = () => undefined; // the fake keeps these unanswered
    fake.then(hold, hold, send(() => header(0xffffffff)));
    const calls = [outcome(client.call('add', { a: 1, b: 1 })), outcome(client.call('add', { a: 2, b: 2 })), outcome(client.call('add', { a: 3, b: 3 }))];
    for (const c of calls) await rejectsWith(c, 'FRAME_TOO_LARGE');
    await client.waitConnected(20_000);
    await stillWorks();
  });

  // Responses with a readable id that matches the call: only that call fails; the connection stays.
  const perCall: Array<[string, Behaviour, string, RegExp?]> = [
    ['an extra envelope field', sendValue((r) => ({ id: r.id, ok: true, body: { sum: 3 }, extra: 1 })), 'SCHEMA_VIOLATION', /unexpected field "extra"/],
    ['an extra body field', sendValue((r) => ({ id: r.id, ok: true, body: { sum: 3, more: 1 } })), 'SCHEMA_VIOLATION', /body: unexpected field "more"/],
    ['a wrongly typed body field', sendValue((r) => ({ id: r.id, ok: true, body: { sum: '3' } })), 'SCHEMA_VIOLATION', /body\.sum: expected unsigned integer/],
    ['a missing body', sendValue((r) => ({ id: r.id, ok: true })), 'SCHEMA_VIOLATION', /missing field "body"/],
    ['ok that is not a boolean', sendValue((r) => ({ id: r.id, ok: 'yes', body: { sum: 3 } })), 'SCHEMA_VIOLATION', /ok: expected true or false/],
    ['an error response without message', sendValue((r) => ({ id: r.id, ok: false, error: { code: 'MPC_STATE' } })), 'SCHEMA_VIOLATION', /error: missing field "message"/],
    ['an error code that is not a code', sendValue((r) => ({ id: r.id, ok: false, error: { code: 'drop table', message: 'x' } })), 'SCHEMA_VIOLATION', /error\.code/],
    ['a request-shaped frame (a type where none belongs)', sendValue((r) => ({ id: r.id, type: 'add', body: { a: 1, b: 2 } })), 'SCHEMA_VIOLATION'],
    ['a well-formed error response', sendValue((r) => ({ id: r.id, ok: false, error: { code: 'MPC_KEY_LOCKED', message: 'key is locked' } })), 'MPC_KEY_LOCKED', /^key is locked$/],
  ];
  for (const [name, behaviour, code, msg] of perCall) {
    it(`${name}: the call rejects ${code}, the connection stays`, async () => {
      fake.then(behaviour);
      const e = await rejectsWith(client.call('add', { a: 1, b: 2 }), code);
      if (msg) expect(e.message).to.match(msg);
      await stillWorks();
      expect(fake.connections).to.equal(1);
      expect(client.state).to.equal('connected');
    });
  }

  it('drops a response for an unknown id and still takes the right one', async () => {
    fake.then((req, s) => {
      s.write(encodeFrame({ id: req.id + 1000, ok: true, body: { sum: 999 } }));
      s.write(encodeFrame({ id: req.id, ok: true, body: { sum: 3 } }));
    });
    expect(await client.call('add', { a: 1, b: 2 })).to.deep.equal({ sum: 3 });
    expect(fake.connections).to.equal(1);
  });

  it('times out when the server never answers, and the connection stays usable', async () => {
    fake.then(() => undefined);
    const e = await rejectsWith(client.call('add', { a: 1, b: 2 }, { timeoutMs: 25 }), 'RPC_TIMEOUT');
    expect(e.details).to.include({ sent: true });
    await stillWorks();
    expect(fake.connections).to.equal(1);
  });

  it('an oversized frame is refused from its header: the client never buffers the body', async () => {
    // 64 KiB of body bytes follow a header claiming 512 MiB; the call must fail at once.
    fake.then(send(() => new Uint8Array([...header(512 * 1024 * 1024), ...new Uint8Array(65536)])));
    await rejectsWith(client.call('add', { a: 1, b: 2 }), 'FRAME_TOO_LARGE');
    await client.waitConnected(20_000);
    await stillWorks();
  });
});
