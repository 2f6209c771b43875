// RPC client over a framed connection that it (re)establishes itself. The caller supplies
// `connect()`, so each attempt can re-resolve the peer (the enclave's CID may change when it
// restarts). Many calls may be in flight; responses are matched by id and may come in any order.
//
// Delivery rule: a request is written at most once. Calls waiting for a connection are sent
// when one comes up; calls already written when a connection drops reject with CHANNEL_CLOSED
// (details.sent = true: the peer may or may not have acted on it), and the caller decides
// whether to retry. Nothing is re-sent behind the caller's back.
//
// What the client does with bad responses:
//   id readable, matches a pending call, envelope or body wrong → that call rejects SCHEMA_VIOLATION, connection stays
//   id readable, matches no pending call (late after timeout)   → dropped and logged, connection stays
//   error response                                              → the call rejects with the peer's code and message
//   notice (id 0) from the peer                                 → every pending call rejects with its code, connection closed
//   no readable id / not CBOR / zero-length / oversized length  → every pending call rejects with that error, connection closed
//   stream ends inside a frame                                  → every pending call rejects FRAME_TRUNCATED
// After a connection closes for any reason, the client reconnects with bounded backoff.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { CosignerError, isCosignerError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { resolveMaxFrameBytes } from './frame.js';
import { FramedConnection, MAX_TIMER_MS, resolveFrameTimeoutMs, type FramedConnectionOptions } from './framed-connection.js';
import {
  MAX_REQUEST_ID,
  NOTICE_ID,
  ErrorResponseEnvelope,
  envelopeId,
  errorEnvelope,
  lookupMessage,
  parseResponseEnvelope,
  remoteError,
  type MessageCatalog,
  type MessageSpec,
  type MessageType,
  type RequestOf,
  type ResponseOf,
} from './messages.js';

export interface RpcClientOptions extends FramedConnectionOptions {
  /** Opens a new stream to the server; called again for every reconnection attempt. */
  connect: () => Promise<Duplex>;
  /** Default per-call timeout (default 10 s). */
  timeoutMs?: number;
  /** Give up on one connect() attempt after this long (default 10 s). */
  connectTimeoutMs?: number;
  /** Delay before attempt n is min(maxDelayMs, initialDelayMs * 2^n) (defaults 50 ms, 5 s). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  logger?: Logger;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

interface PendingCall {
  readonly id: number;
  readonly frame: { id: number; type: string; body: unknown };
  readonly spec: MessageSpec;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: CosignerError) => void;
  timer: NodeJS.Timeout | undefined;
  /** The connection the request was written on; undefined while waiting for one. */
  sentOn: ClientConnection | undefined;
}

interface ClientConnection {
  readonly framed: FramedConnection;
  readonly pending: Map<number, PendingCall>;
  readonly closed: Promise<void>;
}

export interface RpcClient<C extends MessageCatalog> {
  on(event: 'connected', listener: () => void): this;
  on(event: 'disconnected', listener: (reason: CosignerError) => void): this;
  once(event: 'connected', listener: () => void): this;
  once(event: 'disconnected', listener: (reason: CosignerError) => void): this;
  off(event: 'connected', listener: () => void): this;
  off(event: 'disconnected', listener: (reason: CosignerError) => void): this;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class RpcClient<C extends MessageCatalog> extends EventEmitter {
  private st: ConnectionState = 'idle';
  private conn: ClientConnection | undefined;
  private readonly waiting: PendingCall[] = [];
  private nextId = 1;
  private failures = 0;
  private lastError: CosignerError | undefined;
  private wake: (() => void) | undefined;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxFrameBytes: number;

  constructor(
    readonly catalog: C,
    private readonly opts: RpcClientOptions,
  ) {
    super();
    this.timeoutMs = positive(opts.timeoutMs ?? 10_000, 'timeoutMs');
    this.connectTimeoutMs = positive(opts.connectTimeoutMs ?? 10_000, 'connectTimeoutMs');
    this.initialDelayMs = positive(opts.reconnect?.initialDelayMs ?? 50, 'reconnect.initialDelayMs');
    this.maxDelayMs = Math.max(this.initialDelayMs, positive(opts.reconnect?.maxDelayMs ?? 5000, 'reconnect.maxDelayMs'));
    this.maxFrameBytes = resolveMaxFrameBytes(opts);
    resolveFrameTimeoutMs(opts); // fail here, not on the first connection
    this.log = opts.logger ?? createLogger('rpc-client');
  }

  get state(): ConnectionState {
    return this.st;
  }

  /** Start connecting (and keep reconnecting) until close(). call() and waitConnected() start it too. */
  start(): void {
    if (this.st !== 'idle') return;
    void this.connectLoop(0);
  }

  /**
   * Send one request and wait for its response (checked against the catalog). Waits for a
   * connection if there is none; the timeout covers the whole call. Rejects RPC_TIMEOUT,
   * CHANNEL_CLOSED, SCHEMA_VIOLATION, the peer's error code, or a framing error.
   */
  call<K extends MessageType<C>>(type: K, body: RequestOf<C, K>, opts: { timeoutMs?: number } = {}): Promise<ResponseOf<C, K>> {
    return new Promise<ResponseOf<C, K>>((resolve, reject) => {
      if (this.st === 'closed') return reject(new CosignerError('CHANNEL_CLOSED', 'rpc client is closed', { sent: false }));
      const spec = lookupMessage(this.catalog, type);
      if (!spec) return reject(new CosignerError('UNKNOWN_MESSAGE_TYPE', `unknown message type ${JSON.stringify(String(type).slice(0, 64))}`));
      let checked: unknown;
      try {
        // Our own request is checked too: the server would refuse it anyway, this says so early.
        checked = spec.request.parse(body, 'body');
      } catch (e) {
        return reject(e as CosignerError);
      }
      let timeoutMs: number;
      try {
        timeoutMs = positive(opts.timeoutMs ?? this.timeoutMs, 'timeoutMs');
      } catch (e) {
        return reject(e as CosignerError);
      }
      const id = this.allocateId();
      const call: PendingCall = {
        id,
        frame: { id, type, body: checked },
        spec,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: undefined,
        sentOn: undefined,
      };
      call.timer = setTimeout(() => this.timeOut(call, timeoutMs), timeoutMs);
      this.waiting.push(call);
      this.start();
      this.flush();
    });
  }

  /** Resolves once connected; RPC_TIMEOUT after timeoutMs, CHANNEL_CLOSED if the client closes. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.st === 'connected') return Promise.resolve();
    if (this.st === 'closed') return Promise.reject(new CosignerError('CHANNEL_CLOSED', 'rpc client is closed'));
    this.start();
    return new Promise((resolve, reject) => {
      const done = (err?: CosignerError) => {
        clearTimeout(timer);
        this.off('connected', onConnected);
        this.off('_closed' as 'connected', onClosed);
        if (err) reject(err);
        else resolve();
      };
      const onConnected = () => done();
      const onClosed = () => done(new CosignerError('CHANNEL_CLOSED', 'rpc client is closed'));
      const timer = setTimeout(() => {
        const last = this.lastError ? ` (last attempt: ${this.lastError.code}: ${this.lastError.message})` : '';
        done(new CosignerError('RPC_TIMEOUT', `not connected within ${timeoutMs} ms${last}`, { timeoutMs }));
      }, timeoutMs);
      this.on('connected', onConnected);
      this.on('_closed' as 'connected', onClosed);
    });
  }

  /** Stop reconnecting, reject every call (CHANNEL_CLOSED), close the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.st === 'closed') return this.conn?.closed;
    this.st = 'closed';
    this.wake?.();
    for (const call of this.waiting.splice(0)) this.settle(call, new CosignerError('CHANNEL_CLOSED', 'rpc client closed before the request was sent', { sent: false }));
    this.emitSafely('_closed');
    const conn = this.conn;
    if (conn) {
      conn.framed.close(new CosignerError('CHANNEL_CLOSED', 'rpc client closed'));
      await conn.closed;
    }
  }

  private async connectLoop(delayMs: number): Promise<void> {
    while (this.st !== 'closed') {
      if (delayMs > 0) {
        this.st = 'waiting';
        await new Promise<void>((r) => {
          const t = setTimeout(r, delayMs);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
        this.wake = undefined;
        if (this.isClosed()) return;
      }
      this.st = 'connecting';
      let stream: Duplex;
      try {
        stream = await this.connectOnce();
      } catch (e) {
        this.lastError = isCosignerError(e) ? e : new CosignerError('TRANSPORT_ERROR', 'connect failed', undefined, { cause: e });
        this.log.debug({ code: this.lastError.code, attempt: this.failures }, 'rpc connect failed');
        delayMs = this.backoff();
        continue;
      }
      if (this.isClosed()) {
        stream.destroy();
        return;
      }
      this.failures = 0;
      this.lastError = undefined;
      this.attach(stream);
      return;
    }
  }

  /** Listeners are the caller's code: their exceptions must not break the connection logic. */
  private emitSafely(event: 'connected' | 'disconnected' | '_closed', ...args: unknown[]): void {
    for (const listener of this.rawListeners(event) as Array<(...a: unknown[]) => void>) {
      try {
        listener.apply(this, args); // rawListeners keeps once() wrappers, which remove themselves
      } catch (e) {
        this.log.error({ event, errorName: e instanceof Error ? e.name : typeof e }, 'rpc client event listener threw');
      }
    }
  }

  /** A method, not `this.st === 'closed'`, so TypeScript does not narrow across awaits. */
  private isClosed(): boolean {
    return this.st === 'closed';
  }

  private backoff(): number {
    const d = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return d;
  }

  private connectOnce(): Promise<Duplex> {
    return new Promise<Duplex>((resolve, reject) => {
      let settled = false;
      const finish = (err: unknown, stream?: Duplex) => {
        if (settled) {
          stream?.destroy(); // arrived after a timeout or close(): nobody wants it
          return;
        }
        settled = true;
        clearTimeout(timer);
        if (this.wake === abort) this.wake = undefined;
        if (stream) resolve(stream);
        else reject(err);
      };
      const timer = setTimeout(() => finish(new CosignerError('TRANSPORT_ERROR', `connect did not complete within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      // close() while connecting gives up at once.
      const abort = () => finish(new CosignerError('CHANNEL_CLOSED', 'rpc client closed'));
      this.wake = abort;
      Promise.resolve()
        .then(() => this.opts.connect())
        .then(
          (s) => finish(undefined, s),
          (e: unknown) => finish(e),
        );
    });
  }

  private attach(stream: Duplex): void {
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => (resolveClosed = r));
    const pending = new Map<number, PendingCall>();
    const conn: ClientConnection = {
      pending,
      closed,
      framed: new FramedConnection(
        stream,
        {
          onFrame: (v) => this.onFrame(conn, v),
          onFrameError: (e) => this.abandon(conn, e),
          onClose: (reason) => {
            this.onConnectionClosed(conn, reason);
            resolveClosed();
          },
        },
        { maxFrameBytes: this.maxFrameBytes, frameTimeoutMs: this.opts.frameTimeoutMs },
      ),
    };
    this.conn = conn;
    this.st = 'connected';
    this.log.debug('rpc connected');
    this.emitSafely('connected');
    this.flush();
  }

  /** Write every waiting call on the current connection. */
  private flush(): void {
    const conn = this.conn;
    if (this.st !== 'connected' || !conn || conn.framed.isClosing) return;
    for (const call of this.waiting.splice(0)) {
      try {
        conn.framed.send(call.frame);
      } catch (e) {
        // FRAME_TOO_LARGE: never written. CHANNEL_CLOSED: the connection is going; nothing written either.
        this.settle(call, isCosignerError(e) ? e : new CosignerError('TRANSPORT_ERROR', 'write failed', { sent: false }));
        continue;
      }
      call.sentOn = conn;
      conn.pending.set(call.id, call);
    }
  }

  private onFrame(conn: ClientConnection, value: unknown): void {
    const id = envelopeId(value);
    if (id === undefined) return this.abandon(conn, new CosignerError('SCHEMA_VIOLATION', 'response has no valid id'));
    if (id === NOTICE_ID) {
      let reason: CosignerError;
      try {
        reason = remoteError(ErrorResponseEnvelope.parse(value));
      } catch (e) {
        reason = e as CosignerError;
      }
      this.log.warn({ code: reason.code, reason: reason.message }, 'rpc peer closed the connection with a notice');
      return conn.framed.close(reason);
    }
    const call = conn.pending.get(id);
    if (!call) {
      this.log.debug({ id }, 'rpc response for no pending call (late or unknown id), dropped');
      return;
    }
    conn.pending.delete(id);
    try {
      const env = parseResponseEnvelope(value);
      if (!env.ok) return this.settle(call, remoteError(env));
      this.settle(call, undefined, call.spec.response.parse(env.body, 'body'));
    } catch (e) {
      this.settle(call, e as CosignerError);
    }
  }

  /** The stream is no longer trustworthy: tell the peer why and close; pending calls get `error`. */
  private abandon(conn: ClientConnection, error: CosignerError): void {
    this.log.warn({ code: error.code, reason: error.message }, 'closing rpc connection: bad response stream');
    conn.framed.close(error, errorEnvelope(NOTICE_ID, error.code, error.message));
  }

  private onConnectionClosed(conn: ClientConnection, reason: CosignerError | undefined): void {
    // A plain drop (peer gone, reset) is CHANNEL_CLOSED; protocol failures keep their own code.
    const dropped = !reason || reason.code === 'TRANSPORT_ERROR' || reason.code === 'CHANNEL_CLOSED';
    const why = reason ? `${reason.code}: ${reason.message}` : 'closed by peer';
    for (const call of conn.pending.values()) {
      this.settle(call, dropped ? new CosignerError('CHANNEL_CLOSED', `connection closed before the response arrived (${why})`, { sent: true }) : reason);
    }
    conn.pending.clear();
    if (this.conn !== conn) return;
    this.conn = undefined;
    if (this.st !== 'closed') this.st = 'waiting';
    this.emitSafely('disconnected', dropped ? new CosignerError('CHANNEL_CLOSED', `connection closed (${why})`) : reason);
    if (this.st !== 'closed') {
      this.log.info({ reason: why }, 'rpc disconnected, reconnecting');
      void this.connectLoop(this.backoff());
    }
  }

  private timeOut(call: PendingCall, timeoutMs: number): void {
    const i = this.waiting.indexOf(call);
    if (i >= 0) this.waiting.splice(i, 1);
    call.sentOn?.pending.delete(call.id);
    this.settle(call, new CosignerError('RPC_TIMEOUT', `${call.frame.type} got no response within ${timeoutMs} ms`, { timeoutMs, sent: call.sentOn !== undefined }));
  }

  private settle(call: PendingCall, err: CosignerError | undefined, value?: unknown): void {
    clearTimeout(call.timer);
    if (err) call.reject(err);
    else call.resolve(value);
  }

  /** Ids cycle through 1..2^32-1, skipping any still pending on the connection (a wrap needs 4e9 calls). */
  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= MAX_REQUEST_ID ? 1 : id + 1;
      if (!this.conn?.pending.has(id)) return id;
    }
  }
}

function positive(v: number, name: string): number {
  if (!Number.isFinite(v) || v <= 0 || v > MAX_TIMER_MS) throw new CosignerError('CONFIG_INVALID', `${name} must be in 1..${MAX_TIMER_MS} ms`);
  return v;
}
