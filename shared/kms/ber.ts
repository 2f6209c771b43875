// Minimal BER/DER writer for the CMS layout AWS KMS emits (X.690 §8.1): definite lengths in
// shortest form (§8.1.3.5, as DER requires) and indefinite lengths closed by an end-of-contents
// octet pair (§8.1.3.6). Only what building a CiphertextForRecipient needs; parsing goes through
// asn1js / @peculiar/asn1-schema.
import { concatBytes } from '../bytes.js';

/** X.690 §8.1.3: definite length octets, short form below 128, else long form. */
function lengthOctets(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  const bytes: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** A TLV with a definite length. `tag` is the full identifier octet (class, P/C bit, number < 31). */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concatBytes(...content);
  return concatBytes(Uint8Array.of(tag), lengthOctets(body.length), body);
}

/** A constructed TLV with indefinite length (0x80) terminated by end-of-contents (00 00). */
export function tlvIndefinite(tag: number, ...content: Uint8Array[]): Uint8Array {
  if ((tag & 0x20) === 0) throw new RangeError('indefinite length requires a constructed tag');
  return concatBytes(Uint8Array.of(tag, 0x80), ...content, Uint8Array.of(0, 0));
}

/** X.690 §8.19: an OBJECT IDENTIFIER from dotted text. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new RangeError(`bad OID arc in ${dotted}`);
    return BigInt(a);
  });
  if (arcs.length < 2) throw new RangeError(`OID needs at least two arcs: ${dotted}`);
  const out: number[] = [];
  const subs = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  for (const sub of subs) {
    const group: number[] = [Number(sub & 0x7fn)];
    for (let v = sub >> 7n; v > 0n; v >>= 7n) group.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...group);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** INTEGER for small non-negative values (versions). */
export function smallInt(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 127) throw new RangeError('smallInt supports 0..127');
  return tlv(0x02, Uint8Array.of(n));
}

export const NULL = Uint8Array.of(0x05, 0x00);

export const TAG = {
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  OCTET_STRING_CONSTRUCTED: 0x24,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** [n] context-specific, primitive / constructed */
  ctxPrimitive: (n: number) => 0x80 | n,
  ctxConstructed: (n: number) => 0xa0 | n,
} as const;
