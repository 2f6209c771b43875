// Fiat–Shamir transcripts (CRYPTO.md, attack 4 "TSSHOCK"): every item is length-prefixed and
// labelled, the transcript starts with a protocol domain separator and the session id, so two
// different statements can never hash to the same challenge input.
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../bytes.js';

const enc = new TextEncoder();

function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError('length out of range');
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

/** Minimal big-endian bytes of a non-negative bigint (0 → empty). */
export function bigintToBytes(x: bigint): Uint8Array {
  if (x < 0n) throw new RangeError('negative bigint in transcript');
  if (x === 0n) return new Uint8Array(0);
  let hex = x.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export class Transcript {
  private readonly parts: Uint8Array[] = [];

  constructor(domain: string, sessionId: Uint8Array) {
    this.appendBytes('domain', enc.encode(domain));
    this.appendBytes('session', sessionId);
  }

  appendBytes(label: string, data: Uint8Array): this {
    const l = enc.encode(label);
    this.parts.push(u32be(l.length), l, u32be(data.length), data);
    return this;
  }

  appendBigint(label: string, x: bigint): this {
    return this.appendBytes(label, bigintToBytes(x));
  }

  appendText(label: string, s: string): this {
    return this.appendBytes(label, enc.encode(s));
  }

  /** SHA-512 over everything so far, with the output label; the transcript can keep growing. */
  challengeBytes(label: string): Uint8Array {
    const l = enc.encode(label);
    return sha512(concatBytes(...this.parts, u32be(l.length), l));
  }

  /**
   * `count` independent challenges, each uniform in [0, modulus), derived by counter-mode
   * expansion with rejection-free wide reduction (512 + 128 extra bits per output are hashed so the
   * modular bias is below 2^-128).
   */
  challengeScalars(label: string, modulus: bigint, count: number): bigint[] {
    if (modulus <= 1n) throw new RangeError('modulus must exceed 1');
    const need = Math.ceil((modulus.toString(2).length + 128) / 8);
    const seed = this.challengeBytes(label);
    const out: bigint[] = [];
    for (let i = 0; i < count; i++) {
      const chunks: Uint8Array[] = [];
      let have = 0;
      for (let j = 0; have < need; j++) {
        const h = sha512(concatBytes(seed, u32be(i), u32be(j)));
        chunks.push(h);
        have += h.length;
      }
      const wide = concatBytes(...chunks).subarray(0, need);
      out.push(BigInt('0x' + Buffer.from(wide).toString('hex')) % modulus);
    }
    return out;
  }

  /** `count` challenge bits (for cut-and-choose proofs). */
  challengeBits(label: string, count: number): boolean[] {
    const bits: boolean[] = [];
    for (let j = 0; bits.length < count; j++) {
      const h = sha512(concatBytes(this.challengeBytes(label), u32be(j)));
      for (const byte of h) for (let k = 0; k < 8 && bits.length < count; k++) bits.push(((byte >> k) & 1) === 1);
    }
    return bits;
  }
}

/** Inverse of bigintToBytes (big-endian, empty = 0). */
export function bytesToBigint(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));
}
