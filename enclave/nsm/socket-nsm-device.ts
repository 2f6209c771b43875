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
  private reader = new NsmFrameReader();
  private pending: Pending | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Set by close(): no reconnection after that. */
  private shutDown = false;

  private constructor(private socket: Socket, private readonly path: string, private readonly timeoutMs: number) {
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    this.reader = new NsmFrameReader();
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) this.onData(chunk);
    });
    socket.on('error', (e) => this.fail(new CosignerError('NSM_ERROR', `NSM emulator socket error: ${e.message}`)));
    socket.on('close', () => {
      if (this.socket === socket) this.fail(new CosignerError('NSM_ERROR', 'NSM emulator connection closed'));
    });
  }

  private static open(path: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      const onError = (e: Error) => reject(new CosignerError('NSM_ERROR', `cannot reach the NSM emulator at ${path}: ${e.message}`, { path }));
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        resolve(s);
      });
    });
  }

  static async connect(path: string, opts: { timeoutMs?: number } = {}): Promise<SocketNsmDevice> {
    return new SocketNsmDevice(await SocketNsmDevice.open(path), path, opts.timeoutMs ?? NSM_SOCKET_TIMEOUT_MS);
  }

  /** After a timeout or a dropped connection the next request opens a new one (a fresh stream pairs answers again). */
  private async ensureConnected(): Promise<void> {
    if (this.shutDown) throw new CosignerError('NSM_ERROR', 'NSM emulator connection closed');
    if (!this.socket.destroyed) return;
    this.attach(await SocketNsmDevice.open(this.path));
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
    const run = async (): Promise<Uint8Array> => {
      if (raw.length > NSM_REQUEST_MAX_BYTES) throw nsmError('InputTooLarge', { bytes: raw.length });
      await this.ensureConnected();
      return new Promise<Uint8Array>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.fail(new CosignerError('NSM_ERROR', `NSM emulator did not answer within ${this.timeoutMs} ms`));
          this.socket.destroy();
        }, this.timeoutMs);
        this.pending = { resolve, reject, timer };
        this.socket.write(encodeNsmFrame(raw));
      });
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): Promise<void> {
    this.shutDown = true;
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}
