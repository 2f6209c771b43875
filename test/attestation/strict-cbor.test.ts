import { expect } from 'chai';
import { CborTag, decodeStrictCbor, encodeStrictCbor } from '../../shared/attestation/strict-cbor.js';
import { fromHex, toHex } from '../../shared/bytes.js';
import { readFixtureDocument } from '../support/fixtures.js';
import { expectCosignerError } from '../support/expect-error.js';

function rejects(hex: string, pattern: RegExp): void {
  expectCosignerError(() => decodeStrictCbor(fromHex(hex)), 'ATTESTATION_INVALID', pattern);
}

describe('strict CBOR', () => {
  describe('on real documents', () => {
    for (const kind of ['production', 'debug'] as const) {
      it(`re-encodes the ${kind} document and its payload byte for byte`, () => {
        const doc = readFixtureDocument(kind);
        const top = decodeStrictCbor(doc) as unknown[];
        expect(toHex(encodeStrictCbor(top as never))).to.equal(toHex(doc));
        const payload = top[2] as Uint8Array;
        const map = decodeStrictCbor(payload) as Map<unknown, unknown>;
        expect(map).to.be.instanceOf(Map);
        expect((map.get('pcrs') as Map<unknown, unknown>).has(0)).to.equal(true); // integer key, not "0"
        expect(toHex(encodeStrictCbor(map as never))).to.equal(toHex(payload));
      });
    }
  });

  it('keeps integer and text keys apart and returns plain Uint8Array copies', () => {
    const m = decodeStrictCbor(fromHex('a20001613002')) as Map<unknown, unknown>; // {0: 1, "0": 2}
    expect(m.get(0)).to.equal(1);
    expect(m.get('0')).to.equal(2);
    const input = Buffer.from('43010203', 'hex');
    const b = decodeStrictCbor(input) as Uint8Array;
    expect(Buffer.isBuffer(b)).to.equal(false);
    input[1] = 9; // the decoded value is a copy, not a view of the input
    expect([...b]).to.deep.equal([1, 2, 3]);
  });

  it('encodes integers with the shortest head (RFC 8949 §4.2.1)', () => {
    const cases: Array<[number | bigint, string]> = [
      [0, '00'], [23, '17'], [24, '1818'], [255, '18ff'], [256, '190100'], [65535, '19ffff'], [65536, '1a00010000'],
      [0xffffffff, '1affffffff'], [0x100000000, '1b0000000100000000'], [1725719859545n, '1b00000191cceb5159'],
      [-1, '20'], [-24, '37'], [-25, '3818'], [-256, '38ff'], [-257, '390100'],
    ];
    for (const [v, hex] of cases) {
      expect(toHex(encodeStrictCbor(v)), String(v)).to.equal(hex);
      expect(decodeStrictCbor(fromHex(hex))).to.equal(typeof v === 'bigint' ? Number(v) : v);
    }
  });

  it('round-trips tags, nulls, booleans, text and nested maps', () => {
    const v = new CborTag(18, [new Uint8Array([1, 2]), new Map([[1, -35]]), null, true, false, 'héllo']);
    const back = decodeStrictCbor(encodeStrictCbor(v)) as CborTag;
    expect(back).to.be.instanceOf(CborTag);
    expect(back.tag).to.equal(18);
    expect(toHex(encodeStrictCbor(back))).to.equal(toHex(encodeStrictCbor(v)));
  });

  it('rejects duplicate keys', () => rejects('a2616101616102', /duplicate map key/));
  it('rejects an integer key repeated', () => rejects('a2000100f6', /duplicate map key/));
  it('rejects indefinite lengths', () => rejects('5f4101ff', /indefinite/));
  it('rejects integers and lengths not in their shortest encoding', () => {
    for (const hex of ['1817', '190017', '1a0000ffff', '1b00000000ffffffff', '5801ff', '780161', '9800', 'b800']) {
      rejects(hex, /shortest encoding/);
    }
  });
  it('keeps a leading byte-order mark instead of dropping it', () => {
    expect(decodeStrictCbor(fromHex('69efbbbf534841333834'))).to.equal('\ufeffSHA384');
  });
  it('rejects trailing bytes', () => rejects('0000', /trailing/));
  it('rejects floats and undefined', () => {
    rejects('f93c00', /float/);
    rejects('f7', /simple value/);
  });
  it('rejects invalid UTF-8 text', () => rejects('62c328', /UTF-8/));
  it('rejects lengths beyond the input', () => {
    rejects('5a7fffffff00', /past the end/);
    rejects('9b000000010000000000', /past the end/);
  });
  it('rejects truncated input', () => rejects('1a0001', /end of input/));
  it('rejects map keys that are not integers or text', () => rejects('a1410001', /integers or text/));
  it('rejects excessive nesting', () => rejects('81'.repeat(40) + '00', /too deep/));
});
