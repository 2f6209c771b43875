// The project's CBOR profile (shared/cbor.ts): plain data only. cbor-x's own extensions (records,
// shared structures, cycles, typed arrays, Sets, generic objects, bignums) are refused before
// cbor-x sees the bytes, and nesting is bounded without relying on the stack.
import { expect } from 'chai';
import { Encoder } from 'cbor-x';
import { MAX_CBOR_DEPTH, checkCborProfile, decodeCbor, encodeCbor } from '../../shared/cbor.js';
import { decodeFrameBody } from '../../shared/channel/frame.js';
import { expectCosignerError } from '../support/expect-error.js';

const nested = (depth: number): Uint8Array => {
  // depth one-element arrays around a 0: 0x81 … 0x81 0x00
  const b = new Uint8Array(depth + 1).fill(0x81);
  b[depth] = 0x00;
  return b;
};

describe('CBOR profile', () => {
  it('round-trips the plain data model we use', () => {
    const v = { id: 7, type: 'Ping', body: { n: -3, big: 2n ** 63n, f: 1.5, ok: true, none: null, bytes: new Uint8Array([1, 2, 3]), list: ['a', [1, {}]] } };
    expect(decodeCbor(encodeCbor(v))).to.deep.equal(v);
  });

  it('refuses a record-encoded request (cbor-x decodes it by default)', () => {
    const record = new Encoder({ useRecords: true }).encode({ id: 1, type: 'Ping', body: {} });
    expectCosignerError(() => decodeCbor(new Uint8Array(record)), 'CBOR_INVALID', /tags are not accepted/);
    expectCosignerError(() => decodeFrameBody(new Uint8Array(record)), 'FRAME_NOT_CBOR', /tags are not accepted/);
  });

  it('refuses every tag: shared structures, cycles, Sets, typed arrays, bignums, dates', () => {
    const cases: [string, Uint8Array][] = [
      ['structured clone', new Uint8Array(new Encoder({ structuredClone: true }).encode(new Set([1])))],
      ['typed array', new Uint8Array(new Encoder({ structuredClone: true }).encode(new Uint16Array([1, 2])))],
      ['bignum tag 2', new Uint8Array([0xc2, 0x41, 0x01])],
      ['date tag 1', new Uint8Array([0xc1, 0x00])],
      ['generic object tag 27', new Uint8Array([0xd8, 0x1b, 0x82, 0x61, 0x41, 0x80])],
      ['shared-structure tag', new Uint8Array([0xd9, 0xe0, 0x00, 0x80])],
    ];
    for (const [name, bytes] of cases) {
      expect(() => checkCborProfile(bytes), name).to.throw(/tags are not accepted/);
      expectCosignerError(() => decodeCbor(bytes), 'CBOR_INVALID', /tags are not accepted/);
    }
  });

  it(`accepts ${MAX_CBOR_DEPTH} levels of nesting and refuses one more with a typed error`, () => {
    expect(() => checkCborProfile(nested(MAX_CBOR_DEPTH))).to.not.throw();
    expectCosignerError(() => decodeCbor(nested(MAX_CBOR_DEPTH + 1)), 'CBOR_INVALID', /nested deeper than 32 levels/);
    // far deeper than V8's stack would survive in a recursive decoder
    expectCosignerError(() => decodeCbor(nested(1_000_000)), 'CBOR_INVALID', /nested deeper/);
    const deepMaps = new Uint8Array(2 * 100 + 1);
    for (let i = 0; i < 100; i++) deepMaps.set([0xa1, 0x00], i * 2); // {0: {0: …}}
    deepMaps[200] = 0x00;
    expectCosignerError(() => decodeCbor(deepMaps), 'CBOR_INVALID', /nested deeper/);
  });

  it('refuses indefinite lengths, stray breaks, reserved and unassigned simple values, truncation and trailing bytes', () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array([0x9f, 0x01, 0xff]), /indefinite-length/],
      [new Uint8Array([0x5f, 0x41, 0x00, 0xff]), /indefinite-length/],
      [new Uint8Array([0xff]), /unexpected break/],
      [new Uint8Array([0x1c]), /reserved/],
      [new Uint8Array([0xf0]), /unassigned simple/],
      [new Uint8Array([0xf8, 0x20]), /unassigned simple/],
      [new Uint8Array([0x82, 0x01]), /more elements than bytes/],
      [new Uint8Array([0x1a, 0x00]), /truncated header/],
      [new Uint8Array([0x5a, 0xff, 0xff, 0xff, 0xff]), /string longer than the input/],
      [new Uint8Array([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), /more elements than bytes/],
      [new Uint8Array([0x01, 0x02]), /1 trailing bytes/],
      [new Uint8Array([]), /truncated item/],
    ];
    for (const [bytes, reason] of cases) {
      expect(() => checkCborProfile(bytes), Buffer.from(bytes).toString('hex')).to.throw(reason);
      expectCosignerError(() => decodeCbor(bytes), 'CBOR_INVALID', reason);
    }
  });
});
