// How NSM requests travel to the emulator over a Unix socket: each message (a raw NSM CBOR request
// or response, exactly the bytes the ioctl would carry) is preceded by its length as a 4-byte
// big-endian integer. The bound is the NSM's own response buffer, so nothing bigger is ever valid.
import { CosignerError } from '../errors.js';
import { NSM_RESPONSE_MAX_BYTES } from './codec.js';

export const NSM_FRAME_MAX_BYTES = NSM_RESPONSE_MAX_BYTES;

export function encodeNsmFrame(body: Uint8Array): Uint8Array {
  if (body.length > NSM_FRAME_MAX_BYTES) throw new CosignerError('FRAME_TOO_LARGE', `NSM frame of ${body.length} bytes exceeds ${NSM_FRAME_MAX_BYTES}`);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, 4);
  return out;
}

/** Accumulates stream chunks and yields complete frames; throws FRAME_TOO_LARGE on an oversized header. */
export class NsmFrameReader {
  private buf = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array[] {
    const merged = new Uint8Array(this.buf.length + chunk.length);
    merged.set(this.buf);
    merged.set(chunk, this.buf.length);
    this.buf = merged;
    const frames: Uint8Array[] = [];
    while (this.buf.length >= 4) {
      const len = new DataView(this.buf.buffer, this.buf.byteOffset, 4).getUint32(0, false);
      if (len > NSM_FRAME_MAX_BYTES) throw new CosignerError('FRAME_TOO_LARGE', `NSM frame header announces ${len} bytes, limit ${NSM_FRAME_MAX_BYTES}`);
      if (this.buf.length < 4 + len) break;
      frames.push(this.buf.slice(4, 4 + len));
      this.buf = this.buf.slice(4 + len);
    }
    return frames;
  }

  /** Bytes received that do not yet form a whole frame. */
  get pending(): number {
    return this.buf.length;
  }
}
