// The NSM emulator as a device: the same raw CBOR request bytes the ioctl would carry, sent over a
// Unix socket with a 4-byte big-endian length prefix; the response comes back the same way.
// Requests are serialised (the real device also handles one ioctl at a time per caller).
import { connect, type Socket } from 'node:net';
import { CosignerError } from '../../shared/errors.js';
import { NSM_REQUEST_MAX_BYTES, nsmError } from '../../shared/nsm/codec.js';
import { NsmFrameReader, encodeNsmFrame } from '../../shared/nsm/socket-framing.js';
import type { NsmDevice } from './nsm.js';

export const NSM_SOCKET_TIMEOUT_MS = 10_000;

interface Pending {
  resolve: (b: Uint8Array) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class SocketNsmDevice implements NsmDevice {
  private readonly reader = new NsmFrameReader();
  private pending: Pending | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly socket: Socket, private readonly timeoutMs: number) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(new CosignerError('NSM_ERROR', `NSM emulator socket error: ${e.message}`)));
    socket.on('close', () => {
      this.closed = true;
      this.fail(new CosignerError('NSM_ERROR', 'NSM emulator connection closed'));
    });
  }

  static connect(path: string, opts: { timeoutMs?: number } = {}): Promise<SocketNsmDevice> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      const onError = (e: Error) => reject(new CosignerError('NSM_ERROR', `cannot reach the NSM emulator at ${path}: ${e.message}`, { path }));
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        resolve(new SocketNsmDevice(s, opts.timeoutMs ?? NSM_SOCKET_TIMEOUT_MS));
      });
    });
  }

  private onData(chunk: Buffer): void {
    let frames: Uint8Array[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      this.socket.destroy();
      return;
    }
    for (const f of frames) {
      const p = this.pending;
      if (!p) {
        // A response nobody asked for: the stream can no longer be trusted to pair answers.
        this.socket.destroy();
        return;
      }
      this.pending = null;
      clearTimeout(p.timer);
      p.resolve(f);
    }
  }

  private fail(e: Error): void {
    const p = this.pending;
    this.pending = null;
    if (p) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  }

  request(raw: Uint8Array): Promise<Uint8Array> {
    const run = (): Promise<Uint8Array> =>
      new Promise<Uint8Array>((resolve, reject) => {
        if (this.closed) return reject(new CosignerError('NSM_ERROR', 'NSM emulator connection closed'));
        if (raw.length > NSM_REQUEST_MAX_BYTES) return reject(nsmError('InputTooLarge', { bytes: raw.length }));
        const timer = setTimeout(() => {
          this.fail(new CosignerError('NSM_ERROR', `NSM emulator did not answer within ${this.timeoutMs} ms`));
          this.socket.destroy();
        }, this.timeoutMs);
        this.pending = { resolve, reject, timer };
        this.socket.write(encodeNsmFrame(raw));
      });
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}
