// shared/rlp.ts against the Yellow Paper (appendix B) and the Ethereum wiki's RLP examples, the
// canonical-form refusals one by one, and a round trip against viem's independent encoder.
import { expect } from 'chai';
import fc from 'fast-check';
import { toRlp, type Hex } from 'viem';
import { decodeRlp, encodeRlp, rlpUint, rlpUintBytes, type RlpItem } from '../../shared/rlp.js';
import { expectCosignerError } from '../support/expect-error.js';

const hex = (h: string) => new Uint8Array(Buffer.from(h.replace(/^0x/, ''), 'hex'));
const str = (s: string) => new TextEncoder().encode(s);
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Items as plain hex / nested arrays, for deep equality. */
function show(item: RlpItem): unknown {
  return item instanceof Uint8Array ? toHex(item) : item.map(show);
}

const LOREM = 'Lorem ipsum dolor sit amet, consectetur adipisicing elit'; // 56 bytes: the first long string

// [description, item, encoding] — https://ethereum.org/developers/docs/data-structures-and-encoding/rlp
const VECTORS: Array<[string, RlpItem, string]> = [
  ['the string "dog"', str('dog'), '83646f67'],
  ['the list ["cat", "dog"]', [str('cat'), str('dog')], 'c88363617483646f67'],
  ['the empty string', new Uint8Array(0), '80'],
  ['the empty list', [], 'c0'],
  ['the integer 0 (empty string)', rlpUintBytes(0), '80'],
  ['the byte 0x00', hex('00'), '00'],
  ['the byte 0x0f (integer 15)', rlpUintBytes(15), '0f'],
  ['the bytes 0x0400 (integer 1024)', rlpUintBytes(1024), '820400'],
  ['the set-theoretic representation of three, [ [], [[]], [ [], [[]] ] ]', [[], [[]], [[], [[]]]], 'c7c0c1c0c3c0c1c0'],
  ['a 56-byte string (long form)', str(LOREM), 'b838' + toHex(str(LOREM))],
  ['the byte 0x7f (largest self-encoding byte)', hex('7f'), '7f'],
  ['the byte 0x80 (smallest prefixed byte)', hex('80'), '8180'],
  ['a 55-byte string (longest short form)', new Uint8Array(55).fill(0x61), 'b7' + '61'.repeat(55)],
  ['a list with a 56-byte payload (long list form)', [str(LOREM.slice(0, 55))], 'f838b7' + toHex(str(LOREM.slice(0, 55)))],
];

describe('RLP (shared/rlp.ts)', () => {
  describe('known vectors', () => {
    for (const [what, item, enc] of VECTORS) {
      it(`decodes ${what}`, () => {
        expect(show(decodeRlp(hex(enc)))).to.deep.equal(show(item));
      });
      it(`encodes ${what}`, () => {
        expect(toHex(encodeRlp(item))).to.equal(enc);
      });
    }
    it('reads the integers 0, 15 and 1024 back as scalars', () => {
      expect(rlpUint(decodeRlp(hex('80')), 32, 'n')).to.equal(0n);
      expect(rlpUint(decodeRlp(hex('0f')), 32, 'n')).to.equal(15n);
      expect(rlpUint(decodeRlp(hex('820400')), 32, 'n')).to.equal(1024n);
    });
  });

  describe('refuses what is not exactly one canonical item', () => {
    const REFUSED: Array<[string, string, RegExp]> = [
      ['empty input', '', /empty input/],
      ['a single byte below 0x80 behind a prefix (0x81 0x00)', '8100', /single byte below 0x80/],
      ['a single byte below 0x80 behind a prefix (0x81 0x7f)', '817f', /single byte below 0x80/],
      ['the long form for a short string (0xb8 0x03 "dog")', 'b803646f67', /long form used for a payload of 55 bytes or fewer/],
      ['the long form for a 55-byte string', 'b837' + '61'.repeat(55), /long form used/],
      ['the long form for a short list', 'f808' + '8363617483646f67', /long form used/],
      ['a long-form length with a leading zero', 'b90038' + toHex(str(LOREM)), /leading zero/],
      ['a long list length with a leading zero', 'f90038' + 'b7' + toHex(str(LOREM.slice(0, 55))), /leading zero/],
      ['trailing bytes after the item', '83646f6700', /1 trailing bytes/],
      ['two items', '83646f6783646f67', /trailing bytes/],
      ['a string running past the end', '83646f', /runs past the end/],
      ['a list running past the end', 'c88363617483646f', /runs past the end/],
      ['an item crossing its list\'s end', 'c3' + '8363617400', /runs past the end/],
      ['a length of length running past the end', 'b9', /runs past the end/],
      ['a long string whose length runs past the end', 'b838' + '61'.repeat(10), /runs past the end/],
    ];
    for (const [what, enc, msg] of REFUSED) {
      it(`refuses ${what}`, () => {
        expectCosignerError(() => decodeRlp(hex(enc)), 'RLP_INVALID', msg);
      });
    }

    it('bounds the nesting depth (16 lists pass, 17 are refused)', () => {
      const nested = (n: number) => Array.from({ length: n }, (_, i) => (0xc0 + (n - 1 - i)).toString(16)).join('');
      expect(show(decodeRlp(hex(nested(16))))).to.be.an('array');
      expectCosignerError(() => decodeRlp(hex(nested(17))), 'RLP_INVALID', /nested deeper than 16/);
      expectCosignerError(() => decodeRlp(hex(nested(3)), { maxDepth: 2 }), 'RLP_INVALID', /nested deeper than 2/);
    });

    it('bounds the input size', () => {
      const big = encodeRlp(new Uint8Array(2000));
      expect((decodeRlp(big) as Uint8Array).length).to.equal(2000);
      expectCosignerError(() => decodeRlp(big, { maxBytes: 1000 }), 'RLP_INVALID', /longer than 1000 bytes/);
    });

    it('refuses scalars with a leading zero byte, including 0 written as 0x00', () => {
      expectCosignerError(() => rlpUint(decodeRlp(hex('820001')), 32, 'nonce'), 'RLP_INVALID', /nonce has a leading zero/);
      expectCosignerError(() => rlpUint(decodeRlp(hex('00')), 32, 'nonce'), 'RLP_INVALID', /leading zero/);
      expectCosignerError(() => rlpUint(decodeRlp(hex('83010000')), 2, 'gas'), 'RLP_INVALID', /longer than 2 bytes/);
      expectCosignerError(() => rlpUint(decodeRlp(hex('c0')), 32, 'value'), 'RLP_INVALID', /is a list/);
    });
  });

  describe('agrees with viem\'s encoder', () => {
    const item: fc.Arbitrary<RlpItem> = fc.letrec<{ item: RlpItem }>((tie) => ({
      item: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.uint8Array({ maxLength: 80 }),
        fc.array(tie('item'), { maxLength: 5 }),
      ),
    })).item;
    type Nested = Hex | Nested[];
    const viemShape = (i: RlpItem): Nested => (i instanceof Uint8Array ? (`0x${toHex(i)}` as Hex) : i.map(viemShape));

    it('encodes as viem does and decodes its own (and viem\'s) encodings back', () => {
      fc.assert(fc.property(item, (x) => {
        const ours = encodeRlp(x);
        expect(`0x${toHex(ours)}`).to.equal(toRlp(viemShape(x) as Parameters<typeof toRlp>[0]));
        expect(show(decodeRlp(ours, { maxDepth: 64 }))).to.deep.equal(show(x));
      }), { numRuns: 300 });
    });
  });
});
