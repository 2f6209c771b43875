// Strict RLP (Ethereum Yellow Paper, appendix B "Recursive Length Prefix"), written from the spec
// alone. Used where the enclave decodes what it is about to sign (DESIGN.md, "The trust boundary is
// the design": "EVM transfer: it decodes the unsigned transaction ... before hashing"), so only
// the one canonical encoding of an item is accepted:
//   - a single byte below 0x80 is itself (0x81 followed by a byte below 0x80 is refused);
//   - a payload of at most 55 bytes takes the short form (0x80+len / 0xc0+len); the long form
//     (0xb7+n / 0xf7+n, then n length bytes) is only for more than 55 bytes, and its length has no
//     leading zero byte;
//   - the input is exactly one item: no trailing bytes, no lengths running past the end;
//   - nesting depth and input size are bounded.
// Scalars (Yellow Paper eq. 180: integers are the shortest big-endian byte string, zero is the
// empty string) are read with rlpUint, which refuses leading zeros. Pure: no I/O.
import { CosignerError } from './errors.js';

export type RlpItem = Uint8Array | RlpItem[];

export const RLP_MAX_INPUT_BYTES = 1 << 20;
export const RLP_MAX_DEPTH = 16;

export interface RlpDecodeOptions {
  /** Refuse inputs longer than this (default RLP_MAX_INPUT_BYTES). */
  maxBytes?: number;
  /** Refuse lists nested deeper than this (the outermost list is depth 1; default RLP_MAX_DEPTH). */
  maxDepth?: number;
}

function invalid(why: string, offset?: number): never {
  throw new CosignerError('RLP_INVALID', offset === undefined ? `RLP: ${why}` : `RLP: ${why} at offset ${offset}`, offset === undefined ? undefined : { offset });
}

/** Big-endian length of `n` bytes starting at `at`, refusing a leading zero (shortest form). */
function readLength(input: Uint8Array, at: number, n: number, end: number): number {
  if (at + n > end) invalid('length of length runs past the end', at);
  if (input[at] === 0) invalid('long-form length has a leading zero byte', at);
  let len = 0;
  for (let i = 0; i < n; i++) {
    len = len * 256 + input[at + i]!;
    if (len > Number.MAX_SAFE_INTEGER) invalid('length too large', at);
  }
  if (len <= 55) invalid('long form used for a payload of 55 bytes or fewer', at);
  return len;
}

/** Decodes the item starting at `at` (which must end by `end`); returns it and the offset after it. */
function decodeAt(input: Uint8Array, at: number, end: number, depth: number, maxDepth: number): [RlpItem, number] {
  if (at >= end) invalid('unexpected end of input', at);
  const b = input[at]!;
  if (b < 0x80) return [input.slice(at, at + 1), at + 1];
  if (b <= 0xb7) {
    const len = b - 0x80;
    const start = at + 1;
    if (start + len > end) invalid('string runs past the end', at);
    if (len === 1 && input[start]! < 0x80) invalid('a single byte below 0x80 must encode itself', at);
    return [input.slice(start, start + len), start + len];
  }
  if (b < 0xc0) {
    const n = b - 0xb7;
    const len = readLength(input, at + 1, n, end);
    const start = at + 1 + n;
    if (start + len > end) invalid('string runs past the end', at);
    return [input.slice(start, start + len), start + len];
  }
  if (depth + 1 > maxDepth) invalid(`lists nested deeper than ${maxDepth}`, at);
  let start: number;
  let len: number;
  if (b <= 0xf7) {
    len = b - 0xc0;
    start = at + 1;
  } else {
    const n = b - 0xf7;
    len = readLength(input, at + 1, n, end);
    start = at + 1 + n;
  }
  const listEnd = start + len;
  if (listEnd > end) invalid('list runs past the end', at);
  const items: RlpItem[] = [];
  let p = start;
  while (p < listEnd) {
    const [item, next] = decodeAt(input, p, listEnd, depth + 1, maxDepth);
    items.push(item);
    p = next;
  }
  return [items, listEnd];
}

/** Exactly one canonical RLP item, or CosignerError('RLP_INVALID'). Strings come back as copies. */
export function decodeRlp(input: Uint8Array, opts: RlpDecodeOptions = {}): RlpItem {
  if (!(input instanceof Uint8Array)) invalid('expected bytes');
  const maxBytes = opts.maxBytes ?? RLP_MAX_INPUT_BYTES;
  if (input.length > maxBytes) invalid(`input longer than ${maxBytes} bytes`);
  if (input.length === 0) invalid('empty input');
  const [item, next] = decodeAt(input, 0, input.length, 0, opts.maxDepth ?? RLP_MAX_DEPTH);
  if (next !== input.length) invalid(`${input.length - next} trailing bytes after the item`, next);
  return item;
}

function lengthPrefix(len: number, shortBase: number): Uint8Array {
  if (len <= 55) return Uint8Array.of(shortBase + len);
  const be: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) be.unshift(n % 256);
  return Uint8Array.of(shortBase + 55 + be.length, ...be);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The canonical RLP encoding of `item` (decodeRlp(encodeRlp(x)) deep-equals x). */
export function encodeRlp(item: RlpItem): Uint8Array {
  if (item instanceof Uint8Array) {
    if (item.length === 1 && item[0]! < 0x80) return item.slice();
    return concat([lengthPrefix(item.length, 0x80), item]);
  }
  const payload = concat(item.map(encodeRlp));
  return concat([lengthPrefix(payload.length, 0xc0), payload]);
}

/** The shortest big-endian bytes of a non-negative integer (zero is the empty string). */
export function rlpUintBytes(n: bigint | number): Uint8Array {
  let v = BigInt(n);
  if (v < 0n) throw new CosignerError('RLP_INVALID', 'RLP: a scalar is non-negative');
  const be: number[] = [];
  for (; v > 0n; v >>= 8n) be.unshift(Number(v & 0xffn));
  return Uint8Array.from(be);
}

/**
 * A scalar (Yellow Paper eq. 180) of at most `maxBytes` bytes: a string item, no leading zero
 * byte, zero as the empty string. `what` names the field in the error.
 */
export function rlpUint(item: RlpItem, maxBytes: number, what: string): bigint {
  if (!(item instanceof Uint8Array)) invalid(`${what} is a list, expected an integer`);
  if (item.length > maxBytes) invalid(`${what} is longer than ${maxBytes} bytes`);
  if (item.length > 0 && item[0] === 0) invalid(`${what} has a leading zero byte`);
  let v = 0n;
  for (const b of item) v = (v << 8n) | BigInt(b);
  return v;
}
