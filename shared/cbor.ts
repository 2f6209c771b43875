// One CBOR configuration for the whole project (cbor-x). Plain CBOR only: no records, no
// structured clone extensions, minimal-length map headers, byte strings as Uint8Array. Anything
// that needs exact bytes (NSM, COSE) uses this encoder so emitted bytes match real devices.
//
// cbor-x decodes its own extensions whatever the options say (record and shared-structure tags,
// packed references, cycles, typed arrays, Sets, "generic objects"), so every input is first walked
// by checkCborProfile(): it admits exactly the plain data model we encode — integers, byte and
// text strings, arrays and maps of definite length, false/true/null/undefined, floats — with no
// tags at all and at most MAX_CBOR_DEPTH levels of nesting, and only then hands the bytes to cbor-x.
import { Encoder, Decoder } from 'cbor-x';
import { CosignerError } from './errors.js';

/** Deepest nesting of arrays/maps accepted. Our deepest message is a handful of levels. */
export const MAX_CBOR_DEPTH = 32;

const encoder = new Encoder({
  useRecords: false,
  structuredClone: false,
  variableMapSize: true,
  mapsAsObjects: true,
  tagUint8Array: false,
  pack: false,
  largeBigIntToFloat: false,
});

const decoder = new Decoder({
  useRecords: false,
  structuredClone: false,
  mapsAsObjects: true,
  int64AsType: 'bigint',
} as ConstructorParameters<typeof Decoder>[0]);

export function encodeCbor(value: unknown): Uint8Array {
  const b = encoder.encode(value);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Decode exactly one plain CBOR item (see checkCborProfile); throws on anything else. */
export function decodeCbor(bytes: Uint8Array): unknown {
  checkCborProfile(bytes);
  try {
    return decoder.decode(bytes);
  } catch (e) {
    // cbor-x's text may quote input; only our own words leave this function.
    throw new CosignerError('CBOR_INVALID', 'malformed CBOR', undefined, { cause: e });
  }
}

function invalid(reason: string, offset: number): CosignerError {
  return new CosignerError('CBOR_INVALID', `CBOR refused at byte ${offset}: ${reason}`, { offset });
}

/**
 * Walks the item's headers without building values (iteratively: no recursion, so depth costs no
 * stack) and throws CBOR_INVALID unless `bytes` is exactly one well-formed item of our profile.
 */
export function checkCborProfile(bytes: Uint8Array): void {
  // pending[i]: items still to read at nesting level i (level 0 is the top-level item).
  const pending: number[] = [1];
  let pos = 0;
  while (pending.length > 0) {
    if (pending[pending.length - 1] === 0) {
      pending.pop();
      continue;
    }
    pending[pending.length - 1]!--;
    if (pos >= bytes.length) throw invalid('truncated item', pos);
    const start = pos;
    const initial = bytes[pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    let arg: number;
    if (info < 24) arg = info;
    else if (info <= 27) {
      const n = 1 << (info - 24);
      if (pos + n > bytes.length) throw invalid('truncated header', start);
      arg = 0;
      for (let i = 0; i < n; i++) arg = arg * 256 + bytes[pos + i]!; // exact below 2^53; beyond, lengths fail below
      pos += n;
    } else if (info === 31) throw invalid(major === 7 ? 'unexpected break' : 'indefinite-length item', start);
    else throw invalid('reserved additional information', start);
    switch (major) {
      case 0: // unsigned integer
      case 1: // negative integer
        break;
      case 2: // byte string
      case 3: // text string
        if (arg > bytes.length - pos) throw invalid('string longer than the input', start);
        pos += arg;
        break;
      case 4: // array
      case 5: { // map
        const items = major === 4 ? arg : arg * 2;
        if (items > bytes.length - pos) throw invalid('more elements than bytes left', start);
        if (items > 0) {
          if (pending.length > MAX_CBOR_DEPTH) throw invalid(`nested deeper than ${MAX_CBOR_DEPTH} levels`, start);
          pending.push(items);
        }
        break;
      }
      case 6:
        throw invalid('tags are not accepted', start);
      case 7:
        // 20..23 false/true/null/undefined; 25..27 half/single/double floats. Other simple values are refused.
        if (!((info >= 20 && info <= 23) || (info >= 25 && info <= 27))) throw invalid('unassigned simple value', start);
        break;
    }
  }
  if (pos !== bytes.length) throw invalid(`${bytes.length - pos} trailing bytes after the item`, pos);
}
