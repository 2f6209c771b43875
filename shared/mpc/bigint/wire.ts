// Big integers on the wire (CBOR byte strings, parsed with shared/schema.ts). Unsigned values
// use biguint's minimal big-endian form; signed values (the ± responses of CGGMP21 proofs) use
// the zigzag map 0,-1,1,-2,… → 0,1,2,3,… so they stay one canonical byte string.
import * as s from '../../schema.js';
import { bigintToBytes } from '../transcript.js';

/** Minimal big-endian bytes of a non-negative bigint, the form biguint() parses. */
export function uintToWire(x: bigint): Uint8Array {
  return bigintToBytes(x);
}

export function zigzagEncode(x: bigint): bigint {
  return x >= 0n ? 2n * x : -2n * x - 1n;
}

export function zigzagDecode(z: bigint): bigint {
  return (z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n);
}

export function signedToWire(x: bigint): Uint8Array {
  return bigintToBytes(zigzagEncode(x));
}

/** Schema for a signed big integer in zigzag form, at most maxBytes long on the wire. */
export function bigsigned(opts: { maxBytes: number }): s.Schema<bigint> {
  const inner = s.biguint(opts);
  return {
    kind: 'bigsigned',
    parse(v, path = '') {
      return zigzagDecode(inner.parse(v, path));
    },
  };
}

/** Bytes needed for an unsigned value of `bits` bits / a zigzag-encoded |x| < 2^bits. */
export function bytesForBits(bits: number): number {
  return Math.ceil(bits / 8);
}
export function signedBytesForBits(bits: number): number {
  return Math.ceil((bits + 1) / 8);
}
