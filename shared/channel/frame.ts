// Stream framing for the parent↔enclave channel (DESIGN.md "vsock channel"): every frame is a
// 4-byte big-endian body length followed by a body that is exactly one CBOR item.
//
//   +----------------+---------------------------+
//   | u32 BE length  | CBOR item (length bytes)  |
//   +----------------+---------------------------+
//
// The maximum body size is checked from the length header alone, before any of the body is
// buffered, so a peer cannot make us allocate more than maxFrameBytes + one chunk.
import { CosignerError } from '../errors.js';
import { encodeCbor, decodeCbor } from '../cbor.js';

export const FRAME_HEADER_BYTES = 4;
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/** The length header is a u32; no configuration can allow more than this. */
const ABSOLUTE_MAX_FRAME_BYTES = 0xffff_ffff;

export interface FrameOptions {
  /** Largest accepted body, in bytes (default 1 MiB). */
  maxFrameBytes?: number;
}

/** One result of feeding bytes to the decoder: a decoded value, or a typed error about one frame. */
export type FrameResult =
  | { kind: 'frame'; value: unknown }
  /**
   * fatal: the stream can no longer be split into frames (oversized length header); the decoder
   * stops. Not fatal: the frame's length was fine but its body was not exactly one CBOR item; the
   * decoder is still aligned on the next frame.
   */
  | { kind: 'error'; error: CosignerError; fatal: boolean };

export function resolveMaxFrameBytes(opts: FrameOptions = {}): number {
  const max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isSafeInteger(max) || max < 1 || max > ABSOLUTE_MAX_FRAME_BYTES) {
    throw new CosignerError('CONFIG_INVALID', `maxFrameBytes must be an integer in 1..${ABSOLUTE_MAX_FRAME_BYTES}`);
  }
  return max;
}

/** Encode one value as a frame. Throws FRAME_TOO_LARGE rather than emit a frame the peer must refuse. */
export function encodeFrame(value: unknown, opts: FrameOptions = {}): Uint8Array {
  const max = resolveMaxFrameBytes(opts);
  const body = encodeCbor(value);
  if (body.length > max) {
    throw new CosignerError('FRAME_TOO_LARGE', `frame body of ${body.length} bytes exceeds the maximum of ${max}`, { length: body.length, max });
  }
  if (body.length === 0) throw new CosignerError('FRAME_NOT_CBOR', 'refusing to send an empty frame body');
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, false);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/** Decode a frame body that must hold exactly one CBOR item (no trailing bytes). */
export function decodeFrameBody(body: Uint8Array): unknown {
  if (body.length === 0) throw new CosignerError('FRAME_NOT_CBOR', 'empty frame body (zero-length frame)');
  try {
    return decodeCbor(body);
  } catch (e) {
    // decodeCbor's CBOR_INVALID messages are our own words (offset and reason, never input bytes).
    const why = e instanceof CosignerError ? `: ${e.message}` : '';
    throw new CosignerError('FRAME_NOT_CBOR', `frame body of ${body.length} bytes is not exactly one CBOR item${why}`, { length: body.length }, { cause: e });
  }
}

/**
 * Incremental decoder for a byte stream: feed chunks as they arrive (any split, several frames
 * per chunk), get back complete frames in order. Call end() when the stream ends to learn
 * whether it stopped in the middle of a frame.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  /** Body length of the frame being assembled, once its header is complete. */
  private bodyLength: number | undefined;
  private failed: CosignerError | undefined;

  constructor(opts: FrameOptions = {}) {
    this.maxFrameBytes = resolveMaxFrameBytes(opts);
  }

  /** Bytes held that do not yet form a complete frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True between a frame's first byte and its last, including after a complete header with no body yet. */
  get inFrame(): boolean {
    return this.buffered > 0 || this.bodyLength !== undefined;
  }

  /** The fatal error that stopped this decoder, if any. */
  get fatalError(): CosignerError | undefined {
    return this.failed;
  }

  push(chunk: Uint8Array): FrameResult[] {
    if (this.failed) return [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: FrameResult[] = [];
    for (;;) {
      if (this.bodyLength === undefined) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const header = this.take(FRAME_HEADER_BYTES);
        const length = new DataView(header.buffer, header.byteOffset, FRAME_HEADER_BYTES).getUint32(0, false);
        if (length > this.maxFrameBytes) {
          this.fail(new CosignerError('FRAME_TOO_LARGE', `frame length ${length} exceeds the maximum of ${this.maxFrameBytes}`, { length, max: this.maxFrameBytes }));
          out.push({ kind: 'error', error: this.failed!, fatal: true });
          break;
        }
        this.bodyLength = length;
      }
      if (this.buffered < this.bodyLength) break;
      const body = this.take(this.bodyLength);
      this.bodyLength = undefined;
      try {
        out.push({ kind: 'frame', value: decodeFrameBody(body) });
      } catch (e) {
        out.push({ kind: 'error', error: e as CosignerError, fatal: false });
      }
    }
    return out;
  }

  /** The stream ended: FRAME_TRUNCATED if it stopped inside a frame (header or body), else null. */
  end(): CosignerError | null {
    if (this.failed) return null;
    if (this.buffered === 0 && this.bodyLength === undefined) return null;
    const where = this.bodyLength === undefined ? 'header' : 'body';
    const missing = this.bodyLength === undefined ? FRAME_HEADER_BYTES - this.buffered : this.bodyLength - this.buffered;
    this.fail(new CosignerError('FRAME_TRUNCATED', `stream ended inside a frame ${where} (${missing} bytes missing)`, { missing }));
    return this.failed!;
  }

  private fail(error: CosignerError): void {
    this.failed = error;
    this.chunks = [];
    this.buffered = 0;
    this.bodyLength = undefined;
  }

  /** Remove and return the first n buffered bytes (n <= buffered), copying only when they span chunks. */
  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const first = this.chunks[0]!;
    let out: Uint8Array;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = new Uint8Array(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - off);
        out.set(c.subarray(0, k), off);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }
}
