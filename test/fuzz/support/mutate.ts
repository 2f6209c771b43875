// Input generators shared by every fuzz target: a structured valid value first, then the
// mutations a hostile peer can apply to it (issue 13): bit flips, truncation, extension, splicing
// of two valid inputs, overwriting with extreme bytes, huge length heads, deep nesting.
import fc from 'fast-check';

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Bytes that mean something special to CBOR, BER or a length field. */
const EXTREME_BYTES = [0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x3f, 0x5f, 0x7f, 0x80, 0x9f, 0xbf, 0xc0, 0xd8, 0xd9, 0xda, 0xdb, 0xdf, 0xe0, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfe, 0xff];

/** CBOR heads that announce absurd lengths or values (RFC 8949 §3: info 27 = 8-byte argument). */
export const HUGE_HEADS: Uint8Array[] = [
  Uint8Array.of(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // bytes of 2^64-1
  Uint8Array.of(0x7b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00), // text of 2^32
  Uint8Array.of(0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // array of 2^63-1
  Uint8Array.of(0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // map of 2^64-1
  Uint8Array.of(0x5a, 0xff, 0xff, 0xff, 0xff), // bytes of 2^32-1
  Uint8Array.of(0x9a, 0x7f, 0xff, 0xff, 0xff), // array of 2^31-1
  Uint8Array.of(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // uint 2^64-1
  Uint8Array.of(0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // nint -2^64
  Uint8Array.of(0xdb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // tag 2^64-1
  Uint8Array.of(0x1b, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), // 2^53
  Uint8Array.of(0xfb, 0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), // NaN
  Uint8Array.of(0xf9, 0x80, 0x00), // -0.0 half
  Uint8Array.of(0xf7), // undefined
  Uint8Array.of(0x5f), Uint8Array.of(0x9f), Uint8Array.of(0xbf), Uint8Array.of(0xff), // indefinite starts and a stray break
];

/** CBOR nested `depth` deep: arrays, maps or tags, closed by a small item. */
export function deepCbor(kind: 'array' | 'map' | 'tag' | 'indefinite', depth: number): Uint8Array {
  const open = { array: [0x81], map: [0xa1, 0x61, 0x61], tag: [0xc6], indefinite: [0x9f] }[kind];
  const body = new Uint8Array(open.length * depth + 1 + (kind === 'indefinite' ? depth : 0));
  for (let i = 0; i < depth; i++) body.set(open, i * open.length);
  body[open.length * depth] = 0x00;
  if (kind === 'indefinite') body.fill(0xff, open.length * depth + 1);
  return body;
}

/** BER nested `depth` deep: constructed SEQUENCEs, definite or indefinite. */
export function deepBer(depth: number, indefinite: boolean): Uint8Array {
  if (indefinite) {
    const out = new Uint8Array(depth * 4 + 2);
    for (let i = 0; i < depth; i++) out.set([0x30, 0x80], i * 2);
    out.set([0x05, 0x00], depth * 2);
    return out; // the end-of-contents pairs after it are zero already
  }
  let inner: Uint8Array = Uint8Array.of(0x05, 0x00);
  for (let i = 0; i < depth; i++) {
    const n = inner.length;
    const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
    inner = concat(Uint8Array.of(0x30, ...len), inner);
  }
  return inner;
}

export type Mutation =
  | { op: 'flip'; bits: number[] }
  | { op: 'truncate'; at: number }
  | { op: 'extend'; tail: Uint8Array }
  | { op: 'splice'; at: number; from: number }
  | { op: 'extreme'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }
  | { op: 'duplicate'; at: number; count: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), bits: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('extend' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('splice' as const), at: fc.nat(), from: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('extreme' as const), at: fc.nat(), value: fc.constantFrom(...EXTREME_BYTES) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.oneof(fc.constantFrom(...HUGE_HEADS), fc.uint8Array({ minLength: 1, maxLength: 9 })) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }) },
);

/** Apply one mutation; `other` is a second valid input for splicing. Positions wrap around the input. */
export function applyMutation(input: Uint8Array, m: Mutation, other: Uint8Array): Uint8Array {
  const n = input.length;
  const pos = (p: number) => (n === 0 ? 0 : p % (n + 1));
  switch (m.op) {
    case 'flip': {
      if (n === 0) return input;
      const out = new Uint8Array(input);
      for (const b of m.bits) out[(b >> 3) % n]! ^= 1 << (b & 7);
      return out;
    }
    case 'truncate':
      return input.subarray(0, n === 0 ? 0 : m.at % n);
    case 'extend':
      return concat(input, m.tail);
    case 'splice':
      return concat(input.subarray(0, pos(m.at)), other.subarray(other.length === 0 ? 0 : m.from % other.length));
    case 'extreme': {
      if (n === 0) return Uint8Array.of(m.value);
      const out = new Uint8Array(input);
      out[m.at % n] = m.value;
      return out;
    }
    case 'insert':
      return concat(input.subarray(0, pos(m.at)), m.bytes, input.subarray(pos(m.at)));
    case 'delete':
      return concat(input.subarray(0, pos(m.at)), input.subarray(Math.min(n, pos(m.at) + m.count)));
    case 'duplicate': {
      const at = pos(m.at);
      const piece = input.subarray(at, Math.min(n, at + m.count));
      return concat(input.subarray(0, at + piece.length), piece, input.subarray(at + piece.length));
    }
  }
}

/**
 * The standard mix for a parser of bytes: some valid inputs as they are, most with one to three
 * mutations, some random bytes, and the caller's hostile extras (deep nesting, huge lengths).
 */
export function mutated(valid: fc.Arbitrary<Uint8Array>, extras: fc.Arbitrary<Uint8Array>[] = []): fc.Arbitrary<Uint8Array> {
  const withMutations = fc
    .tuple(valid, valid, fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
    .map(([a, b, ms]) => ms.reduce((x, m) => applyMutation(x, m, b), a));
  const arbs: fc.WeightedArbitrary<Uint8Array>[] = [
    { weight: 2, arbitrary: valid },
    { weight: 12, arbitrary: withMutations },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) },
  ];
  for (const e of extras) arbs.push({ weight: 1, arbitrary: e });
  return fc.oneof(...arbs);
}

/** Hostile CBOR that does not come from mutation: huge heads alone or after a prefix, deep nesting. */
export function hostileCbor(): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.tuple(fc.uint8Array({ maxLength: 8 }), fc.constantFrom(...HUGE_HEADS), fc.uint8Array({ maxLength: 8 })).map(([a, h, b]) => concat(a, h, b)),
    fc.tuple(fc.constantFrom('array' as const, 'map' as const, 'tag' as const, 'indefinite' as const), fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 500, max: 20_000 }))).map(([k, d]) => deepCbor(k, d)),
  );
}

export { concat as concatBytes };
