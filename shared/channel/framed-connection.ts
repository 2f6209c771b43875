// A Duplex stream seen as a sequence of frames: decodes incoming bytes with FrameDecoder, encodes
// outgoing values, and reports exactly one close with the reason it happened. Used by both the
// RPC server (one per accepted connection) and the RPC client.
import type { Duplex } from 'node:stream';
import { CosignerError } from '../errors.js';
import { FrameDecoder, encodeFrame, resolveMaxFrameBytes, type FrameOptions } from './frame.js';

export interface FramedConnectionEvents {
  /** A complete frame holding one CBOR value. */
  onFrame(value: unknown): void;
  /** A frame was refused. If fatal, framing is lost: nothing more is read and the owner must close. */
  onFrameError(error: CosignerError, fatal: boolean): void;
  /** Called once. reason: why it closed (FRAME_*, TRANSPORT_ERROR), undefined for a clean end/close(). */
  onClose(reason: CosignerError | undefined): void;
}

/** How long to wait for a farewell frame to flush before destroying the stream anyway. */
const FAREWELL_FLUSH_MS = 2000;
/** After a fatal frame error, the longest the owner may keep the connection open to answer. */
export const FAILED_CLOSE_BOUND_MS = 10_000;

export interface FramedConnectionOptions extends FrameOptions {
  /**
   * A frame that has started must be complete within this time (default 30 s), so a peer that
   * sends half a frame and stalls cannot hold the connection open forever.
   */
  frameTimeoutMs?: number;
}

/** Largest delay node timers accept (about 24.8 days); longer ones would fire at once. */
export const MAX_TIMER_MS = 0x7fff_ffff;

export function resolveFrameTimeoutMs(opts: FramedConnectionOptions): number {
  const ms = opts.frameTimeoutMs ?? 30_000;
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_TIMER_MS) throw new CosignerError('CONFIG_INVALID', `frameTimeoutMs must be in 1..${MAX_TIMER_MS}`);
  return ms;
}

export class FramedConnection {
  private readonly decoder: FrameDecoder;
  private readonly maxFrameBytes: number;
  private reason: CosignerError | undefined;
  private closing = false;
  private closeReported = false;
  private readonly frameTimeoutMs: number;
  private frameTimer: NodeJS.Timeout | undefined;
  private paused = false;
  /** A fatal frame error happened: nothing more is read; the owner closes (possibly after answering). */
  private failed = false;

  constructor(
    readonly stream: Duplex,
    private readonly events: FramedConnectionEvents,
    opts: FramedConnectionOptions = {},
  ) {
    this.maxFrameBytes = resolveMaxFrameBytes(opts);
    this.frameTimeoutMs = resolveFrameTimeoutMs(opts);
    this.decoder = new FrameDecoder({ maxFrameBytes: this.maxFrameBytes });
    stream.on('data', (chunk: Uint8Array) => this.onData(chunk));
    stream.on('end', () => this.onEnd());
    stream.on('error', (e: unknown) => this.noteReason(toTransportError(e)));
    stream.on('close', () => this.reportClose());
    if (stream.destroyed) queueMicrotask(() => this.reportClose());
  }

  get isClosing(): boolean {
    return this.closing || this.stream.destroyed;
  }

  /** Frame and write one value. Throws FRAME_TOO_LARGE (nothing written) or CHANNEL_CLOSED. */
  send(value: unknown): void {
    if (this.isClosing) throw new CosignerError('CHANNEL_CLOSED', 'connection is closed');
    this.stream.write(encodeFrame(value, { maxFrameBytes: this.maxFrameBytes }));
  }

  /** True when the peer is not reading fast enough and the caller should stop producing. */
  get congested(): boolean {
    return this.stream.writableNeedDrain;
  }

  /** Close now. A reason is reported to onClose; a farewell value is sent first, best effort. */
  close(reason?: CosignerError, farewell?: unknown): void {
    if (reason) this.noteReason(reason);
    if (this.closing) return;
    this.closing = true;
    if (farewell === undefined || this.stream.destroyed || !this.stream.writable) {
      this.stream.destroy();
      return;
    }
    // Stop reading what the peer still sends; flush the farewell, then destroy.
    this.stream.pause();
    const timer = setTimeout(() => this.stream.destroy(), FAREWELL_FLUSH_MS);
    timer.unref();
    let frame: Uint8Array;
    try {
      frame = encodeFrame(farewell, { maxFrameBytes: this.maxFrameBytes });
    } catch {
      this.stream.destroy();
      return;
    }
    this.stream.end(frame, () => {
      clearTimeout(timer);
      this.stream.destroy();
    });
  }

  private onData(chunk: Uint8Array): void {
    if (this.closing || this.failed) return;
    const results = this.decoder.push(chunk);
    for (const r of results) {
      if (this.closing || this.failed) return;
      if (r.kind === 'frame') this.events.onFrame(r.value);
      else {
        if (r.fatal) this.fail(r.error);
        this.events.onFrameError(r.error, r.fatal);
      }
    }
    if (this.closing || this.failed) return;
    // The timer runs from the first byte of a frame until that frame is complete; it is
    // restarted for the next partial frame, and stopped while we ourselves pause reading.
    // A consumed header with no body yet is a frame in progress too (nothing is buffered then).
    if (!this.decoder.inFrame || this.paused) this.clearFrameTimer();
    else if (results.length > 0 || !this.frameTimer) this.startFrameTimer();
  }

  /** Stop reading (our own backpressure): the frame timer does not run meanwhile. */
  pause(): void {
    this.paused = true;
    this.clearFrameTimer();
    this.stream.pause();
  }

  resume(): void {
    if (this.closing || this.failed) return;
    this.paused = false;
    if (this.decoder.inFrame && !this.frameTimer) this.startFrameTimer();
    this.stream.resume();
  }

  private startFrameTimer(): void {
    this.clearFrameTimer();
    this.frameTimer = setTimeout(() => {
      this.frameTimer = undefined;
      if (this.closing) return;
      const error = new CosignerError('FRAME_TRUNCATED', `frame not completed within ${this.frameTimeoutMs} ms`, { timeoutMs: this.frameTimeoutMs });
      this.fail(error);
      this.events.onFrameError(error, true);
    }, this.frameTimeoutMs);
    this.frameTimer.unref();
  }

  /**
   * Framing is lost: stop reading for good. The owner is told through onFrameError(…, true) and
   * closes — the RPC server first answers the requests it decoded before the error. If it does not
   * close within the flush bound, the stream is destroyed anyway.
   */
  private fail(error: CosignerError): void {
    this.noteReason(error);
    this.failed = true;
    this.clearFrameTimer();
    this.stream.pause();
    const guard = setTimeout(() => this.close(error), FAILED_CLOSE_BOUND_MS);
    guard.unref();
    this.stream.once('close', () => clearTimeout(guard));
  }

  private clearFrameTimer(): void {
    clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
  }

  private onEnd(): void {
    const truncated = this.decoder.end();
    if (truncated && !this.closing) {
      this.noteReason(truncated);
      this.events.onFrameError(truncated, true);
    }
    // Our protocol has no half-close: once the peer stops sending, the connection is over.
    if (!this.closing) this.close();
  }

  private noteReason(reason: CosignerError): void {
    this.reason ??= reason;
  }

  private reportClose(): void {
    this.clearFrameTimer();
    if (this.closeReported) return;
    this.closeReported = true;
    this.closing = true;
    this.events.onClose(this.reason);
  }
}

function toTransportError(e: unknown): CosignerError {
  if (e instanceof CosignerError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return new CosignerError('TRANSPORT_ERROR', `stream error${typeof code === 'string' ? ` (${code})` : ''}`, typeof code === 'string' ? { errno: code } : undefined, { cause: e });
}
