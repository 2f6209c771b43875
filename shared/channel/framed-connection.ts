// A Duplex stream seen as a sequence of frames: decodes incoming bytes with FrameDecoder, encodes
// outgoing values, and reports exactly one close with the reason it happened. Used by both the
// RPC server (one per accepted connection) and the RPC client.
import type { Duplex } from 'node:stream';
import { CosignerError } from '../errors.js';
import { FrameDecoder, encodeFrame, resolveMaxFrameBytes, type FrameOptions } from './frame.js';

export interface FramedConnectionEvents {
  /** A complete frame holding one CBOR value. */
  onFrame(value: unknown): void;
  /** A frame was refused. If fatal, the connection is already closing (framing is lost). */
  onFrameError(error: CosignerError, fatal: boolean): void;
  /** Called once. reason: why it closed (FRAME_*, TRANSPORT_ERROR), undefined for a clean end/close(). */
  onClose(reason: CosignerError | undefined): void;
}

/** How long to wait for a farewell frame to flush before destroying the stream anyway. */
const FAREWELL_FLUSH_MS = 2000;

export class FramedConnection {
  private readonly decoder: FrameDecoder;
  private readonly maxFrameBytes: number;
  private reason: CosignerError | undefined;
  private closing = false;
  private closeReported = false;

  constructor(
    readonly stream: Duplex,
    private readonly events: FramedConnectionEvents,
    opts: FrameOptions = {},
  ) {
    this.maxFrameBytes = resolveMaxFrameBytes(opts);
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
    if (this.closing) return;
    for (const r of this.decoder.push(chunk)) {
      if (this.closing) return;
      if (r.kind === 'frame') this.events.onFrame(r.value);
      else {
        if (r.fatal) this.noteReason(r.error);
        this.events.onFrameError(r.error, r.fatal);
        if (r.fatal && !this.closing) this.close(r.error);
      }
    }
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
