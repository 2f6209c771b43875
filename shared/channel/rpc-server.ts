// RPC server over framed connections: serves any number of connections, checks each request
// (envelope, then the body against the catalog) BEFORE its handler runs, and answers every
// request it can attribute. Envelopes: see messages.ts.
//
// What the server does with bad input (the connection is the unit of trust):
//   body / envelope fields wrong, missing, extra (id readable) → error response SCHEMA_VIOLATION, stays open
//   type not in the catalog (id readable)                      → error response UNKNOWN_MESSAGE_TYPE, stays open
//   frame decodes but has no readable id (not a map, bad id)   → notice SCHEMA_VIOLATION, connection closed
//   body not exactly one CBOR item / zero-length frame         → notice FRAME_NOT_CBOR, connection closed
//   length header above the maximum                            → notice FRAME_TOO_LARGE, connection closed
//   stream ends inside a frame                                 → FRAME_TRUNCATED logged, connection closed
// Without a readable id nothing can be answered, and a peer that does not speak the framing
// cannot be trusted to be aligned on the next frame, so those connections are closed with a
// logged reason — after the requests decoded before the bad frame have been answered (nothing
// more is read meanwhile, and the wait is bounded). Other connections, and new ones, are served
// as before.
// Work is bounded across connections, not only per connection: at most maxInFlightTotal
// handlers run at once server-wide (requests of priorityTypes excepted), and when a connection
// closes its queued requests are dropped and its running handlers see ctx.signal aborted, so a
// peer that sends and hangs up in a loop cannot pile up work for others to wait behind.
// Handler errors: CosignerError → error response with its code and message (messages never hold
// secrets); anything else → INTERNAL "internal error" (its message is not sent nor logged, it
// may quote data; pass onHandlerError to see it).
import type { Duplex } from 'node:stream';
import { CosignerError, isCosignerError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { resolveMaxFrameBytes } from './frame.js';
import { FAILED_CLOSE_BOUND_MS, FramedConnection, resolveFrameTimeoutMs, type FramedConnectionOptions } from './framed-connection.js';
import {
  NOTICE_ID,
  envelopeId,
  errorEnvelope,
  lookupMessage,
  parseRequestEnvelope,
  type MessageCatalog,
  type MessageType,
  type RequestOf,
  type ResponseOf,
} from './messages.js';
import type { VsockListener, VsockTransport } from './transport.js';

export interface CallContext {
  /** Which connection the request came on (a counter, for logs). */
  readonly connectionId: number;
  /** Aborted when that connection closes: the answer can no longer be delivered. */
  readonly signal: AbortSignal;
}

export type RpcHandlers<C extends MessageCatalog> = {
  [K in MessageType<C>]: (body: RequestOf<C, K>, ctx: CallContext) => ResponseOf<C, K> | Promise<ResponseOf<C, K>>;
};

export interface RpcServerOptions extends FramedConnectionOptions {
  /** Requests handled concurrently per connection; reading pauses beyond it (default 64). */
  maxInFlightPerConnection?: number;
  /** Requests handled concurrently across all connections (default 64); others wait, reading paused. */
  maxInFlightTotal?: number;
  /**
   * Message types that do not wait for (or count against) the server-wide limit: cheap ones, or
   * ones that must never queue behind a flood (the enclave's Boot). Still bounded per connection.
   */
  priorityTypes?: readonly string[];
  /** After a protocol error, how long to wait for the answers to earlier requests (default 5 s). */
  drainTimeoutMs?: number;
  /** Connections served at once; a further one is closed on arrival (default 16). */
  maxConnections?: number;
  logger?: Logger;
  /** Sees non-CosignerError handler failures (which the peer only sees as INTERNAL). */
  onHandlerError?: (type: string, error: unknown) => void;
}

export class RpcServer<C extends MessageCatalog> {
  private readonly connections = new Set<ServerConnection<C>>();
  private readonly listeners = new Set<VsockListener>();
  private readonly log: Logger;
  private nextConnectionId = 1;
  private closed = false;
  private inFlightTotal = 0;
  private readonly maxInFlightTotal: number;
  private readonly priority: ReadonlySet<string>;

  constructor(
    readonly catalog: C,
    readonly handlers: RpcHandlers<C>,
    readonly opts: RpcServerOptions = {},
  ) {
    for (const type of Object.keys(catalog)) {
      if (typeof (handlers as Record<string, unknown>)[type] !== 'function') {
        throw new CosignerError('CONFIG_INVALID', `no handler for message type ${JSON.stringify(type)}`);
      }
    }
    const max = opts.maxInFlightPerConnection ?? 64;
    if (!Number.isSafeInteger(max) || max < 1) throw new CosignerError('CONFIG_INVALID', 'maxInFlightPerConnection must be a positive integer');
    this.maxInFlightTotal = opts.maxInFlightTotal ?? 64;
    if (!Number.isSafeInteger(this.maxInFlightTotal) || this.maxInFlightTotal < 1) throw new CosignerError('CONFIG_INVALID', 'maxInFlightTotal must be a positive integer');
    const drain = opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    if (!Number.isFinite(drain) || drain <= 0 || drain > FAILED_CLOSE_BOUND_MS) throw new CosignerError('CONFIG_INVALID', `drainTimeoutMs must be in 1..${FAILED_CLOSE_BOUND_MS}`);
    this.priority = new Set(opts.priorityTypes ?? []);
    resolveMaxFrameBytes(opts);
    resolveFrameTimeoutMs(opts); // fail here, not on the first connection
    this.log = opts.logger ?? createLogger('rpc-server');
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Handlers running now, across connections (priority types not counted). */
  get inFlight(): number {
    return this.inFlightTotal;
  }

  /** @internal Whether a queued request skips the server-wide limit (its type, read before parsing). */
  isPriority(value: unknown): boolean {
    const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
    return typeof type === 'string' && this.priority.has(type);
  }

  /** @internal Take a server-wide slot, or say there is none. */
  tryAcquire(): boolean {
    if (this.inFlightTotal >= this.maxInFlightTotal) return false;
    this.inFlightTotal++;
    return true;
  }

  /**
   * @internal Give a slot back and offer it round-robin, starting with the connection after the one
   * that freed it, so one busy connection cannot keep every slot to itself.
   */
  release(from: ServerConnection<C>): void {
    this.inFlightTotal--;
    const all = [...this.connections];
    const at = all.indexOf(from);
    const order = at < 0 ? all : [...all.slice(at + 1), ...all.slice(0, at + 1)];
    for (const c of order) {
      if (this.inFlightTotal >= this.maxInFlightTotal) break;
      c.pump();
    }
  }

  /** Serve one connection until it closes. */
  serve(stream: Duplex): void {
    if (this.closed) {
      stream.destroy();
      return;
    }
    // The peer is untrusted: each connection costs buffers and queues, so their number is bounded.
    if (this.connections.size >= (this.opts.maxConnections ?? 16)) {
      this.log.warn({ open: this.connections.size }, 'rpc connection refused: too many open connections');
      stream.on('error', () => undefined);
      stream.destroy();
      return;
    }
    try {
      const conn = new ServerConnection(this, stream, this.nextConnectionId++, this.log, () => this.connections.delete(conn));
      this.connections.add(conn);
    } catch (e) {
      // Never let one connection's setup failure escape into the transport's accept path.
      this.log.error({ code: isCosignerError(e) ? e.code : 'UNKNOWN' }, 'could not serve an rpc connection');
      stream.destroy();
    }
  }

  /** Listen on a transport and serve every connection it accepts. */
  async listen(transport: VsockTransport, cid: number, port: number): Promise<VsockListener> {
    if (this.closed) throw new CosignerError('CHANNEL_CLOSED', 'server is closed');
    const listener = await transport.listen(cid, port, (s) => this.serve(s));
    this.listeners.add(listener);
    return {
      close: async () => {
        this.listeners.delete(listener);
        await listener.close();
      },
    };
  }

  /** Stop listening and close every connection; in-flight handlers' answers are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.listeners].map((l) => l.close()));
    this.listeners.clear();
    await Promise.all([...this.connections].map((c) => c.close()));
  }
}

interface QueuedRequest {
  id: number;
  value: unknown;
}

const DEFAULT_DRAIN_TIMEOUT_MS = 5000;

class ServerConnection<C extends MessageCatalog> {
  private readonly conn: FramedConnection;
  private readonly abort = new AbortController();
  private readonly maxInFlight: number;
  private readonly queue: QueuedRequest[] = [];
  private inFlight = 0;
  /** Set once the peer broke the protocol: earlier requests are still answered, then we close. */
  private draining: { error: CosignerError; timer: NodeJS.Timeout } | undefined;
  private closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    private readonly server: RpcServer<C>,
    stream: Duplex,
    private readonly id: number,
    private readonly log: Logger,
    onGone: () => void,
  ) {
    this.maxInFlight = server.opts.maxInFlightPerConnection ?? 64;
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    this.conn = new FramedConnection(
      stream,
      {
        onFrame: (v) => this.onFrame(v),
        onFrameError: (e) => this.closeWithNotice(e),
        onClose: (reason) => {
          if (reason) this.log.warn({ connection: id, code: reason.code, reason: reason.message }, 'rpc connection closed');
          else this.log.debug({ connection: id }, 'rpc connection closed');
          // Nobody is left to answer: drop what has not started, tell what runs to give up.
          this.queue.length = 0;
          if (this.draining) clearTimeout(this.draining.timer);
          this.abort.abort();
          onGone();
          this.resolveClosed();
        },
      },
      server.opts,
    );
    // drain, to resume reading once the peer catches up with our responses
    stream.on('drain', () => this.pump());
  }

  close(): Promise<void> {
    this.conn.close();
    return this.closedPromise;
  }

  /** The peer broke the protocol: read nothing more, answer what was decoded before, then close with a notice. */
  private closeWithNotice(error: CosignerError): void {
    if (this.draining || this.conn.isClosing) return;
    this.log.warn({ connection: this.id, code: error.code, reason: error.message, pending: this.queue.length + this.inFlight }, 'closing rpc connection: peer broke the protocol');
    this.conn.pause();
    const timer = setTimeout(() => this.finishDrain(), this.server.opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
    timer.unref();
    this.draining = { error, timer };
    this.pump();
  }

  private finishDrain(): void {
    if (!this.draining) return;
    clearTimeout(this.draining.timer);
    const { error } = this.draining;
    this.conn.close(error, errorEnvelope(NOTICE_ID, error.code, error.message));
  }

  private onFrame(value: unknown): void {
    if (this.draining) return;
    const id = envelopeId(value);
    if (id === undefined || id === NOTICE_ID) {
      return this.closeWithNotice(new CosignerError('SCHEMA_VIOLATION', 'frame is not a request envelope with a valid id'));
    }
    this.queue.push({ id, value });
    this.pump();
  }

  /**
   * Start queued requests up to the per-connection and server-wide limits; pause reading while
   * over either or congested. Called again when a handler of any connection finishes.
   */
  pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight && !this.conn.isClosing) {
      // The oldest request if it may run now; else the oldest priority one (it does not wait for
      // a server-wide slot, nor behind requests that do).
      let next = 0;
      let priority = this.server.isPriority(this.queue[0]!.value);
      if (!priority && !this.server.tryAcquire()) {
        next = this.queue.findIndex((q) => this.server.isPriority(q.value));
        if (next < 0) break;
        priority = true;
      }
      const req = this.queue.splice(next, 1)[0]!;
      this.inFlight++;
      this.handle(req)
        .catch((e: unknown) => this.log.error({ connection: this.id, errorName: e instanceof Error ? e.name : typeof e }, 'rpc request handling failed'))
        .finally(() => {
          this.inFlight--;
          if (priority) this.pump();
          else this.server.release(this); // pumps the waiting connections, this one last
        });
    }
    if (this.draining) {
      if (this.queue.length === 0 && this.inFlight === 0) this.finishDrain();
      return;
    }
    // Keep reading while few requests wait, so a priority request can still arrive behind ones
    // that wait for a server-wide slot; stop once as many wait as may run, or the peer lags.
    const busy = this.queue.length >= this.maxInFlight || this.conn.congested;
    if (busy) this.conn.pause();
    else this.conn.resume();
  }

  private async handle({ id, value }: QueuedRequest): Promise<void> {
    let type: string;
    let body: unknown;
    let spec;
    try {
      const env = parseRequestEnvelope(value);
      type = env.type;
      spec = lookupMessage(this.server.catalog, type);
      if (!spec) return this.reply(errorEnvelope(id, 'UNKNOWN_MESSAGE_TYPE', `unknown message type ${JSON.stringify(type.slice(0, 64))}`));
      body = spec.request.parse(env.body, 'body');
    } catch (e) {
      const err = isCosignerError(e) ? e : new CosignerError('SCHEMA_VIOLATION', 'invalid request');
      return this.reply(errorEnvelope(id, err.code, err.message));
    }
    const handlers = this.server.handlers as Record<string, (b: unknown, ctx: CallContext) => unknown>;
    let result: unknown;
    try {
      // Called as a method, so handlers may be a class instance using `this`.
      result = await handlers[type]!.call(handlers, body, { connectionId: this.id, signal: this.abort.signal });
    } catch (e) {
      if (isCosignerError(e)) return this.reply(errorEnvelope(id, e.code, e.message));
      try {
        this.server.opts.onHandlerError?.(type, e);
      } catch {
        // The hook's own failure must not take the connection down.
      }
      this.log.error({ connection: this.id, type, errorName: e instanceof Error ? e.name : typeof e }, 'rpc handler failed');
      return this.reply(errorEnvelope(id, 'INTERNAL', 'internal error'));
    }
    try {
      result = spec.response.parse(result, 'body');
    } catch (e) {
      // Our own bug, not the peer's: do not send what the catalog does not allow.
      this.log.error({ connection: this.id, type, reason: (e as CosignerError).message }, 'rpc handler returned an invalid response');
      return this.reply(errorEnvelope(id, 'INTERNAL', 'internal error'));
    }
    this.reply({ id, ok: true, body: result });
  }

  private reply(envelope: unknown): void {
    if (this.conn.isClosing) return;
    try {
      try {
        this.conn.send(envelope);
      } catch (e) {
        if (!isCosignerError(e, 'FRAME_TOO_LARGE')) throw e;
        this.conn.send(errorEnvelope(envelopeId(envelope)!, 'FRAME_TOO_LARGE', 'response too large for one frame'));
      }
    } catch (e) {
      // The stream failed under us; its close is reported through onClose.
      this.log.debug({ connection: this.id, code: isCosignerError(e) ? e.code : 'UNKNOWN' }, 'rpc reply not sent');
    }
  }
}
