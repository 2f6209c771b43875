// A strict CBOR decoder and a minimal deterministic encoder (RFC 8949) for attestation documents. The project's cbor-x
// configuration turns maps into objects, which erases the difference between the integer PCR
// index 0 and the text key "0" and silently keeps the last of duplicate keys. A verifier must see
// exactly what was signed, so this reader keeps maps as Map, rejects duplicate keys, indefinite
// lengths, floats, `undefined`, invalid UTF-8, lengths beyond the input and trailing bytes.
// The encoder exists for the same reason in reverse: the NSM payload has a map with integer keys
// and 64-bit timestamps, which the project encoder would tag (259) or write as floats.
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
// ignoreBOM keeps a leading U+FEFF in the string instead of silently dropping it: the verifier must see exactly what was signed.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

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

  /**
   * RFC 8949 §3: the argument following the initial byte (1, 2, 4 or 8 bytes), in its shortest form
   * only (§4.2.1 preferred serialisation, which the NSM emits): one value has one encoding here.
   */
  argument(info: number): number | bigint {
    if (info < 24) return info;
    if (info === 24) return this.shortest(this.byte(), 24);
    if (info === 25) return this.shortest((this.byte() << 8) | this.byte(), 0x100);
    if (info === 26) return this.shortest(((this.byte() << 24) >>> 0) + (this.byte() << 16) + (this.byte() << 8) + this.byte(), 0x10000);
    if (info === 27) {
      let v = 0n;
      for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(this.byte());
      if (v < 0x100000000n) fail('integer or length not in its shortest encoding');
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    if (info === 31) fail('indefinite lengths are not accepted');
    return fail(`reserved additional information ${info}`);
  }

  private shortest(v: number, min: number): number {
    if (v < min) fail('integer or length not in its shortest encoding');
    return v;
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

// ---- encoding (RFC 8949 §4.2.1 preferred serialisation: shortest argument, definite lengths) ----

function head(major: number, arg: number | bigint): Uint8Array {
  const n = BigInt(arg);
  if (n < 0n || n > 0xffffffffffffffffn) throw new CosignerError('INTERNAL', 'CBOR argument out of range');
  const m = major << 5;
  if (n < 24n) return new Uint8Array([m | Number(n)]);
  if (n <= 0xffn) return new Uint8Array([m | 24, Number(n)]);
  if (n <= 0xffffn) return new Uint8Array([m | 25, Number(n >> 8n), Number(n & 0xffn)]);
  const len = n <= 0xffffffffn ? 4 : 8;
  const out = new Uint8Array(1 + len);
  out[0] = m | (len === 4 ? 26 : 27);
  for (let i = 0; i < len; i++) out[len - i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

function encodeInto(v: CborValue, parts: Uint8Array[]): void {
  if (v === null) parts.push(new Uint8Array([0xf6]));
  else if (v === false) parts.push(new Uint8Array([0xf4]));
  else if (v === true) parts.push(new Uint8Array([0xf5]));
  else if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new CosignerError('INTERNAL', 'CBOR: only integers are encoded');
    const n = BigInt(v);
    parts.push(n >= 0n ? head(0, n) : head(1, -1n - n));
  } else if (typeof v === 'string') {
    const b = new TextEncoder().encode(v);
    parts.push(head(3, b.length), b);
  } else if (v instanceof Uint8Array) parts.push(head(2, v.length), v);
  else if (Array.isArray(v)) {
    parts.push(head(4, v.length));
    for (const x of v) encodeInto(x, parts);
  } else if (v instanceof Map) {
    parts.push(head(5, v.size));
    for (const [k, x] of v) {
      encodeInto(k, parts);
      encodeInto(x, parts);
    }
  } else {
    parts.push(head(6, v.tag));
    encodeInto(v.value, parts);
  }
}

/** Encode with shortest heads and definite lengths; maps keep their insertion order. */
export function encodeStrictCbor(v: CborValue): Uint8Array {
  const parts: Uint8Array[] = [];
  encodeInto(v, parts);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
