// One CBOR configuration for the whole project (cbor-x). Plain CBOR only: no records, no
// structured clone extensions, minimal-length map headers, byte strings as Uint8Array. Anything
// that needs exact bytes (NSM, COSE) uses this encoder so emitted bytes match real devices.
import { Encoder, Decoder } from 'cbor-x';

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

/** Decode exactly one CBOR item; throws on trailing bytes or malformed input. */
export function decodeCbor(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}
