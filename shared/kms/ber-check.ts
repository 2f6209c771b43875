// Strict BER well-formedness check (X.690 §8.1), run before asn1js — which tolerates children that
// overrun their parent's definite length. We accept what AWS KMS emits and nothing looser:
// low tag numbers only (§8.1.2.2), definite lengths in minimal form (short below 128, long form
// without leading zero octets, at most 4 length octets), indefinite length (§8.1.3.6) only on
// constructed encodings and closed by end-of-contents, children exactly filling their parent.
const MAX_DEPTH = 24;

export class BerStructureError extends Error {}

function fail(offset: number, what: string): never {
  throw new BerStructureError(`${what} at offset ${offset}`);
}

/** Returns the offset just after the element starting at `i`. */
function element(b: Uint8Array, i: number, limit: number, depth: number): number {
  if (depth > MAX_DEPTH) fail(i, 'nesting too deep');
  if (i >= limit) fail(i, 'missing tag');
  const start = i;
  const tag = b[i++]!;
  if ((tag & 0x1f) === 0x1f) fail(start, 'high tag number form');
  const constructed = (tag & 0x20) !== 0;
  if (i >= limit) fail(i, 'missing length');
  const first = b[i++]!;
  if (first === 0x80) {
    if (!constructed) fail(start, 'indefinite length on a primitive encoding');
    for (;;) {
      if (i + 1 < limit && b[i] === 0 && b[i + 1] === 0) return i + 2;
      if (i >= limit) fail(i, 'missing end-of-contents');
      i = element(b, i, limit, depth + 1);
    }
  }
  let len: number;
  if (first < 0x80) {
    len = first;
  } else {
    const n = first & 0x7f;
    if (n > 4) fail(start, 'length of more than 4 octets');
    if (i + n > limit) fail(i, 'truncated length');
    if (b[i] === 0) fail(start, 'non-minimal length');
    len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + b[i++]!;
    if (len < 0x80) fail(start, 'non-minimal length');
  }
  const end = i + len;
  if (end > limit) fail(start, `length ${len} overruns its container`);
  if (tag === 0 && len === 0) fail(start, 'unexpected end-of-contents');
  if (constructed) {
    while (i < end) i = element(b, i, end, depth + 1);
  }
  return end;
}

/** Throws BerStructureError unless `b` is exactly one well-formed element. */
export function checkBerStructure(b: Uint8Array): void {
  const end = element(b, 0, b.length, 0);
  if (end !== b.length) fail(end, `${b.length - end} trailing bytes`);
}
