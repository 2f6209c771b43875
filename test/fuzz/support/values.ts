// Structured valid values: CBOR-able values for the project encoder, and the strict reader's
// CborValue (Map keys, tags, 64-bit integers) for attestation and COSE.
import fc from 'fast-check';
import { CborTag, type CborKey, type CborValue } from '../../../shared/attestation/strict-cbor.js';

/** Values the project encoder (cbor-x, shared/cbor.ts) writes: maps as objects, bytes, text, integers. */
/**
 * `withProtoKey`: include the key "__proto__", which cbor-x deliberately decodes as "__proto_" (so it
 * can never set a prototype); such values are valid hostile input but do not round-trip.
 */
export function wireValue(maxDepth = 4, withProtoKey = true): fc.Arbitrary<unknown> {
  const specialKeys = ['id', 'type', 'body', 'ok', 'error', 'constructor', 'toString', 'hasOwnProperty', ...(withProtoKey ? ['__proto__'] : [])];
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth, withCrossShrink: true },
      fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
      fc.constantFrom(0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, -1, -24, -25),
      fc.string({ maxLength: 24 }),
      fc.uint8Array({ maxLength: 48 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }).filter((k) => withProtoKey || k !== '__proto__'), fc.constantFrom(...specialKeys)), tie('value'), { maxKeys: 4 }),
    ),
  }));
  return value;
}

/** Values the strict attestation reader accepts and the strict encoder writes. */
export function strictValue(maxDepth = 4): fc.Arbitrary<CborValue> {
  const key: fc.Arbitrary<CborKey> = fc.oneof(
    fc.integer({ min: -1000, max: 1000 }),
    fc.string({ maxLength: 12 }),
    fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
  );
  const { value } = fc.letrec<{ value: CborValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth, withCrossShrink: true },
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.constantFrom<CborValue>(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
      fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
      fc.bigInt({ min: -(2n ** 64n), max: -(2n ** 53n) - 1n }),
      fc.string({ maxLength: 24 }),
      fc.uint8Array({ maxLength: 48 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.uniqueArray(fc.tuple(key, tie('value')), { maxLength: 4, selector: ([k]) => `${typeof k === 'string' ? 's' : 'i'}:${String(k)}` }).map((es) => new Map(es)),
      fc.tuple(fc.integer({ min: 0, max: 2 ** 32 }), tie('value')).map(([t, v]) => new CborTag(t, v)),
    ),
  }));
  return value;
}
