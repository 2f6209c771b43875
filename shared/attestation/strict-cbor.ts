// A strict, read-only CBOR decoder (RFC 8949) for attestation documents. The project's cbor-x
// configuration turns maps into objects, which erases the difference between the integer PCR
// index 0 and the text key "0" and silently keeps the last of duplicate keys. A verifier must see
// exactly what was signed, so this reader keeps maps as Map, rejects duplicate keys, indefinite
// lengths, floats, `undefined`, invalid UTF-8, lengths beyond the input and trailing bytes.
import { CosignerError } from '../errors.js';

export class CborTag {
  constructor(readonly tag: number, readonly value: CborValue) {}
}

export type CborValue =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | null
  | CborValue[]
  | Map<CborKey, CborValue>
  | CborTag;

/** Map keys this reader accepts: integers and text (all that COSE and the NSM use). */
export type CborKey = number | bigint | string;

const MAX_DEPTH = 16;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function fail(what: string): never {
  throw new CosignerError('ATTESTATION_INVALID', `malformed CBOR: ${what}`);
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  byte(): number {
    if (this.pos >= this.buf.length) fail('unexpected end of input');
    return this.buf[this.pos++]!;
  }

  take(n: number): Uint8Array {
    if (n > this.buf.length - this.pos) fail('length runs past the end of input');
    const out = new Uint8Array(this.buf.subarray(this.pos, this.pos + n)); // a copy, never a Buffer view
    this.pos += n;
    return out;
  }

  /** RFC 8949 §3: the argument following the initial byte (1, 2, 4 or 8 bytes). */
  argument(info: number): number | bigint {
    if (info < 24) return info;
    if (info === 24) return this.byte();
    if (info === 25) return (this.byte() << 8) | this.byte();
    if (info === 26) return ((this.byte() << 24) >>> 0) + (this.byte() << 16) + (this.byte() << 8) + this.byte();
    if (info === 27) {
      let v = 0n;
      for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(this.byte());
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    if (info === 31) fail('indefinite lengths are not accepted');
    return fail(`reserved additional information ${info}`);
  }

  length(info: number): number {
    const n = this.argument(info);
    if (typeof n === 'bigint' || n > this.buf.length - this.pos) fail('length runs past the end of input');
    return n;
  }

  item(depth: number): CborValue {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return this.argument(info);
      case 1: {
        const n = this.argument(info);
        return typeof n === 'bigint' || n >= Number.MAX_SAFE_INTEGER ? -1n - BigInt(n) : -1 - n;
      }
      case 2:
        return this.take(this.length(info));
      case 3:
        try {
          return utf8.decode(this.take(this.length(info)));
        } catch (e) {
          if (e instanceof CosignerError) throw e;
          return fail('text string is not valid UTF-8');
        }
      case 4: {
        const n = this.length(info);
        const out: CborValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const n = this.length(info);
        const out = new Map<CborKey, CborValue>();
        const seen = new Set<string>();
        for (let i = 0; i < n; i++) {
          const key = this.item(depth + 1);
          if (typeof key !== 'number' && typeof key !== 'bigint' && typeof key !== 'string') fail('map keys must be integers or text');
          const id = `${typeof key === 'string' ? 's' : 'i'}:${String(key)}`;
          if (seen.has(id)) fail(`duplicate map key ${JSON.stringify(String(key))}`);
          seen.add(id);
          out.set(key, this.item(depth + 1));
        }
        return out;
      }
      case 6: {
        const tag = this.argument(info);
        if (typeof tag === 'bigint') fail('tag number too large');
        return new CborTag(tag, this.item(depth + 1));
      }
      default: // major 7: simple values and floats
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        return fail(`simple value or float ${info} is not accepted`);
    }
  }
}

/** Decode exactly one CBOR data item; anything malformed is ATTESTATION_INVALID. */
export function decodeStrictCbor(bytes: Uint8Array): CborValue {
  const r = new Reader(bytes);
  const v = r.item(0);
  if (r.pos !== bytes.length) fail(`${bytes.length - r.pos} trailing bytes`);
  return v;
}
