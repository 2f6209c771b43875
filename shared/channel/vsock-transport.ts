// Real AF_VSOCK transport: a thin typed wrapper around the native addon `node-vsock-linux-x64-gnu`
// (github.com/wei-rong-1/node-vsock v0.0.5, src/socket.rs). Its JS wrapper is not published, so
// this file is ours. Each native socket is constructed as `new VsockSocket(emit, fd?)` and reports
// everything through `emit(err, eventName, ...args)`, called from its worker threads:
//   '_connect'            connect() succeeded           '_connection', fd   accept() returned a socket
//   '_data', Buffer       recv() returned bytes          'end'                recv() returned 0
//   '_error', Error       "Connect socket failed: …", "read data failed: …", "Accept connection failed: …"
//   '_shutdown', 'close'  synchronous echoes of shutdown()/close()
// writeBuffer() is a blocking send() on the JS thread (the binding has no non-blocking writes):
// a peer that stops reading can stall this process's event loop once the socket buffer is full.
// The parent can stop the enclave anyway, so this adds no new power to a hostile parent, but it
// is why frames are bounded (1 MiB) and why nothing latency-critical should share the process.
// The binding cannot pause reading either: received bytes are pushed as they arrive.
//
// Known binding bugs and how this wrapper avoids them:
// 1. The accept thread loops forever, also on errors: closing a listening socket makes accept()
//    fail with EBADF in a tight loop. So a native listener is NEVER closed: there is at most one
//    per port per process, kept in a registry; VsockListener.close() only stops dispatching (new
//    connections are closed on arrival) and a later listen() on that port reuses it. The accept
//    thread also keeps the event loop alive: a process that listened on vsock exits only by
//    process.exit() / signal (fine for the enclave, which runs until terminated).
// 2. The connect thread retries with a sleep and, when an attempt succeeds after a failed one,
//    still emits the earlier error. We set max attempts to 1 (our RPC client does its own bounded
//    backoff; one attempt also avoids the 1+2+4+8+16 s of built-in sleeps), create a fresh socket
//    per attempt, and ignore any connect error that arrives after that attempt's '_connect'.
// 3. The receive thread calls recv() on the raw fd until it reads 0 or fails. Closing the fd while
//    it is blocked would let it read from whatever socket later reuses that fd number, so we
//    shutdown() first (recv() then returns 0) and close() only after that thread has reported
//    'end' (or a read error). Likewise an fd is never closed while its connect thread still runs.
//
// Verified on a Linux machine with AF_VSOCK but no vsock peer: construction, the connect error
// path (ETIMEDOUT after the kernel's connect timeout plus the binding's 1 s sleep) and close().
// Verified only by reading the binding's source: listen/accept, data events, writeBuffer,
// shutdown waking the receive thread, and bug 2's error-after-connect (tests drive those paths
// with a scripted binding that emits exactly the events above).
import { createRequire } from 'node:module';
import { Duplex } from 'node:stream';
import { CosignerError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { ANY_CID, checkVsockAddress, type VsockListener, type VsockTransport } from './transport.js';

export const VSOCK_BINDING_PACKAGE = 'node-vsock-linux-x64-gnu';

export type NativeEmit = (err: Error | null, event: string, ...args: unknown[]) => void;

/** The native class's surface (addon.d.ts upstream), as far as this wrapper uses it. */
export interface NativeVsockSocket {
  listen(port: number): void;
  connect(cid: number, port: number): void;
  shutdown(): void;
  close(): void;
  startRecv(): void;
  writeBuffer(data: Buffer): void;
  setMaxConnectionAttempts(n: number): void;
}
export type NativeVsockSocketClass = new (emit: NativeEmit, fd?: number) => NativeVsockSocket;

const REQUIRED_METHODS = ['listen', 'connect', 'shutdown', 'close', 'startRecv', 'writeBuffer', 'setMaxConnectionAttempts'] as const;

/** Load the addon and check it exports the class shape this wrapper was written against. */
export function loadVsockBinding(load: () => unknown = () => createRequire(import.meta.url)(VSOCK_BINDING_PACKAGE)): NativeVsockSocketClass {
  let mod: unknown;
  try {
    mod = load();
  } catch (e) {
    throw new CosignerError('TRANSPORT_ERROR', `AF_VSOCK binding ${VSOCK_BINDING_PACKAGE} could not be loaded (linux x64 glibc only)`, undefined, { cause: e });
  }
  const cls = (mod as { VsockSocket?: unknown } | null)?.VsockSocket;
  const proto = typeof cls === 'function' ? (cls.prototype as Record<string, unknown>) : undefined;
  const missing = proto ? REQUIRED_METHODS.filter((m) => typeof proto[m] !== 'function') : ['VsockSocket'];
  if (missing.length > 0) {
    throw new CosignerError('TRANSPORT_ERROR', `AF_VSOCK binding does not have the expected shape (missing ${missing.join(', ')})`);
  }
  return cls as NativeVsockSocketClass;
}

/** The native messages are fixed strings plus an errno name; keep them short and typed. */
function nativeError(what: string, e: unknown, details: Record<string, string | number | boolean> = {}): CosignerError {
  const msg = e instanceof Error ? e.message : String(e);
  return new CosignerError('TRANSPORT_ERROR', `vsock ${what}: ${msg.slice(0, 160)}`, details, { cause: e });
}

function construct(cls: NativeVsockSocketClass, emit: NativeEmit, fd?: number): NativeVsockSocket {
  try {
    return fd === undefined ? new cls(emit) : new cls(emit, fd);
  } catch (e) {
    // e.g. "operation failed, errno: EAFNOSUPPORT" on a kernel without AF_VSOCK.
    throw nativeError('socket() failed, AF_VSOCK unavailable?', e);
  }
}

type Phase = 'connecting' | 'open' | 'closing' | 'closed';

/** One AF_VSOCK stream presented as a node Duplex. Half-close is not supported (the binding's end() is shutdown(SHUT_RDWR)). */
/**
 * The addon cannot pause its receive thread, so pausing the stream only stops 'data' events while
 * bytes pile up in the readable buffer. Past this many unread bytes (a few maximum frames) the peer
 * is sending faster than we handle it: the connection is closed rather than let it exhaust memory.
 */
export const MAX_UNREAD_BYTES = 4 * 1024 * 1024;

class VsockDuplex extends Duplex {
  private readonly native: NativeVsockSocket;
  private phase: Phase;
  private connectThreadRunning: boolean;
  private recvThreadRunning = false;
  private shutDown = false;
  private readEnded = false;
  private onConnectResult: ((err?: CosignerError) => void) | undefined;

  constructor(cls: NativeVsockSocketClass, fd?: number) {
    super({ allowHalfOpen: false });
    this.native = construct(cls, (err, event, ...args) => this.onNative(err, event, args), fd);
    this.phase = fd === undefined ? 'connecting' : 'open';
    this.connectThreadRunning = false;
    if (fd !== undefined) this.startRecv();
  }

  /** Start one connect attempt; resolves on '_connect', rejects on its error. */
  connectOnce(cid: number, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.onConnectResult = (err) => (err ? reject(err) : resolve());
      try {
        this.native.setMaxConnectionAttempts(1);
        this.connectThreadRunning = true;
        this.native.connect(cid, port);
      } catch (e) {
        this.connectThreadRunning = false;
        this.onConnectResult = undefined;
        reject(nativeError('connect', e, { cid, port }));
      }
    });
  }

  private startRecv(): void {
    try {
      this.native.startRecv();
      this.recvThreadRunning = true;
    } catch (e) {
      this.destroy(nativeError('startRecv', e));
    }
  }

  private onNative(err: Error | null, event: string, args: unknown[]): void {
    if (err) return this.onNativeError(err);
    switch (event) {
      case '_connect':
        this.connectThreadRunning = false;
        if (this.phase === 'connecting') {
          this.phase = 'open';
          this.startRecv();
          this.settleConnect();
        } else {
          this.release();
        }
        return;
      case '_data':
        // The addon delivers data and 'end' through separate thread-safe functions; never push after EOF.
        if (this.phase === 'open' && !this.readEnded && args[0] instanceof Uint8Array) {
          this.push(args[0]);
          if (this.readableLength > MAX_UNREAD_BYTES) {
            this.destroy(new CosignerError('TRANSPORT_ERROR', `vsock peer sent more than ${MAX_UNREAD_BYTES} bytes we have not read yet; closing`));
          }
        }
        return;
      case 'end':
        this.recvThreadRunning = false;
        if (this.phase === 'open' && !this.readEnded) {
          this.readEnded = true;
          this.push(null);
        } else this.release();
        return;
      case '_error':
        return this.onNativeError(args[0] instanceof Error ? args[0] : new Error(String(args[0])));
      default:
        return; // '_shutdown' and 'close' echo our own calls
    }
  }

  private onNativeError(err: Error): void {
    if (err.message.startsWith('Connect socket failed')) {
      // Bug 2: after this attempt's '_connect' a connect error is stale; ignore it.
      if (!this.connectThreadRunning) return;
      this.connectThreadRunning = false;
      if (this.phase === 'connecting') {
        this.phase = 'closing';
        this.settleConnect(nativeError('connect failed', err));
      }
      this.release();
      return;
    }
    if (err.message.startsWith('read data failed')) this.recvThreadRunning = false;
    if (this.phase === 'open') this.destroy(nativeError('stream error', err));
    else this.release();
  }

  private settleConnect(err?: CosignerError): void {
    const settle = this.onConnectResult;
    this.onConnectResult = undefined;
    settle?.(err);
  }

  override _read(): void {
    // Data is pushed as the binding's receive thread delivers it; the binding cannot pause.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.phase !== 'open') return cb(new CosignerError('TRANSPORT_ERROR', 'vsock stream is not open'));
    try {
      this.native.writeBuffer(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      cb();
    } catch (e) {
      cb(nativeError('send failed', e));
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.shutdownNative();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.phase === 'connecting') this.settleConnect(new CosignerError('TRANSPORT_ERROR', 'vsock connect abandoned'));
    if (this.phase !== 'closed') this.phase = 'closing';
    this.release();
    cb(err);
  }

  private shutdownNative(): void {
    if (this.shutDown) return;
    this.shutDown = true;
    try {
      this.native.shutdown();
    } catch {
      // ENOTCONN when the peer already went away: nothing left to shut down.
    }
  }

  /** Close the fd once no binding thread can still use it (bug 3). */
  private release(): void {
    if (this.phase === 'closed' || this.connectThreadRunning) return;
    this.phase = 'closing';
    this.shutdownNative();
    if (this.recvThreadRunning) return; // its 'end' / read error calls release() again
    this.phase = 'closed';
    try {
      this.native.close();
    } catch {
      // Already closed by the binding; nothing else holds the fd.
    }
  }
}

interface RegisteredListener {
  dispatch: ((s: Duplex) => void) | null;
}

/** Process-wide registry of native listeners, never closed (bug 1); keyed by binding class and port. */
const nativeListeners = new WeakMap<NativeVsockSocketClass, Map<number, RegisteredListener>>();

export interface NativeVsockTransportOptions {
  /** Returns the addon module (default: require('node-vsock-linux-x64-gnu')). */
  loadBinding?: () => unknown;
  /** Give up on a connect attempt after this long (default 10 s; the kernel's own timeout is 2 s). */
  connectTimeoutMs?: number;
  logger?: Logger;
}

export class NativeVsockTransport implements VsockTransport {
  private cls: NativeVsockSocketClass | undefined;
  private readonly connectTimeoutMs: number;
  private readonly log: Logger;

  constructor(private readonly opts: NativeVsockTransportOptions = {}) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.log = opts.logger ?? createLogger('vsock');
  }

  /** The addon is loaded on first use so that merely importing this file works on any OS. */
  private binding(): NativeVsockSocketClass {
    this.cls ??= loadVsockBinding(this.opts.loadBinding);
    return this.cls;
  }

  async connect(cid: number, port: number): Promise<Duplex> {
    checkVsockAddress(cid, port);
    const stream = new VsockDuplex(this.binding());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CosignerError('TRANSPORT_ERROR', `vsock connect to ${cid}:${port} timed out`, { cid, port })), this.connectTimeoutMs);
    });
    try {
      await Promise.race([stream.connectOnce(cid, port), timeout]);
      return stream;
    } catch (e) {
      stream.destroy();
      throw e instanceof CosignerError ? e : nativeError('connect', e, { cid, port });
    } finally {
      clearTimeout(timer);
    }
  }

  async listen(cid: number, port: number, onConnection: (stream: Duplex) => void): Promise<VsockListener> {
    checkVsockAddress(cid, port);
    if (cid !== ANY_CID) {
      // The binding always binds VMADDR_CID_ANY; binding wider than asked would be a silent surprise.
      throw new CosignerError('CONFIG_INVALID', 'the AF_VSOCK binding can only listen on ANY_CID', { cid, port });
    }
    const cls = this.binding();
    let byPort = nativeListeners.get(cls);
    if (!byPort) nativeListeners.set(cls, (byPort = new Map()));
    let entry = byPort.get(port);
    if (entry?.dispatch) throw new CosignerError('TRANSPORT_ERROR', `vsock port ${port} already has a listener in this process`, { port, errno: 'EADDRINUSE' });
    if (!entry) {
      const created: RegisteredListener = { dispatch: null };
      let acceptErrors = 0;
      const native = construct(cls, (err, event, ...args) => {
        if (err || event === '_error') {
          // Rate-limited: a failing accept() is retried by the binding in a loop.
          if (acceptErrors++ % 1000 === 0) this.log.warn({ port, acceptErrors }, 'vsock accept failed');
          return;
        }
        if (event === '_connection' && typeof args[0] === 'number') this.accepted(cls, created, args[0]);
      });
      try {
        native.listen(port);
      } catch (e) {
        try {
          native.close(); // listen failed, so no accept thread exists yet: closing is safe here
        } catch {
          /* ignore */
        }
        throw nativeError('listen failed', e, { port });
      }
      byPort.set(port, (entry = created));
    }
    const active = entry;
    active.dispatch = onConnection;
    return {
      close: async () => {
        if (active.dispatch === onConnection) active.dispatch = null;
      },
    };
  }

  private accepted(cls: NativeVsockSocketClass, entry: RegisteredListener, fd: number): void {
    let stream: VsockDuplex;
    try {
      stream = new VsockDuplex(cls, fd);
    } catch (e) {
      this.log.warn({ err: (e as CosignerError).code }, 'vsock could not wrap an accepted socket');
      return;
    }
    if (!entry.dispatch) {
      stream.destroy(); // listener "closed": refuse by closing on arrival
      return;
    }
    try {
      entry.dispatch(stream);
    } catch {
      stream.destroy();
    }
  }
}
