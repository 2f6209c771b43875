// Exact decimal ↔ base-unit conversion: round trips, the edges of precision, and every kind of
// refused text with its typed reason.
import { expect } from 'chai';
import fc from 'fast-check';
import { isCosignerError } from '../../../shared/errors.js';
import { amountFromWire, compareBaseToDecimal, formatAmount, MAX_BASE_UNITS, parseAmount, parseDecimal, type AmountRefusal } from '../../../coordinator/assets/amount.js';

function reason(fn: () => unknown): AmountRefusal | undefined {
  try { fn(); } catch (e) {
    if (isCosignerError(e, 'AMOUNT_INVALID')) return e.details?.reason as AmountRefusal;
    throw e;
  }
  return undefined;
}

describe('amounts (decimal string ↔ base units)', () => {
  it('converts exactly, whatever the decimals', () => {
    expect(parseAmount('1', 18)).to.equal(10n ** 18n);
    expect(parseAmount('0.1', 18) + parseAmount('0.2', 18)).to.equal(parseAmount('0.3', 18));
    expect(parseAmount('0.000000000000000001', 18)).to.equal(1n);
    expect(parseAmount('123456789.123456789', 9)).to.equal(123456789123456789n);
    expect(parseAmount('21000000', 8)).to.equal(2_100_000_000_000_000n);
    expect(parseAmount('0.00000001', 8)).to.equal(1n);
    expect(parseAmount('0', 0)).to.equal(0n);
    expect(parseAmount('7', 0)).to.equal(7n);
    expect(parseAmount('1.50', 2)).to.equal(150n);
    expect(formatAmount(10n ** 18n, 18)).to.equal('1');
    expect(formatAmount(1n, 18)).to.equal('0.000000000000000001');
    expect(formatAmount(1_500_000_000n, 9)).to.equal('1.5');
    expect(formatAmount(0n, 8)).to.equal('0');
    expect(formatAmount(12n, 0)).to.equal('12');
    expect(formatAmount(MAX_BASE_UNITS, 18)).to.equal('115792089237316195423570985008687907853269984665640564039457.584007913129639935');
    expect(parseAmount(formatAmount(MAX_BASE_UNITS, 18), 18)).to.equal(MAX_BASE_UNITS);
  });

  it('round-trips any base-unit amount (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: MAX_BASE_UNITS }), fc.integer({ min: 0, max: 36 }), (base, decimals) => {
      expect(parseAmount(formatAmount(base, decimals), decimals)).to.equal(base);
    }), { numRuns: 300 });
  });

  it('compareBaseToDecimal agrees with comparing the base units of the limit when it fits the asset (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 0, max: 18 }), (a, b, decimals) => {
      const expected = a < b ? -1 : a > b ? 1 : 0;
      expect(compareBaseToDecimal(a, decimals, parseDecimal(formatAmount(b, decimals)))).to.equal(expected);
    }), { numRuns: 300 });
    expect(compareBaseToDecimal(1n, 9, parseDecimal('0.0000000005'))).to.equal(1);
    expect(compareBaseToDecimal(0n, 9, parseDecimal('0.0000000005'))).to.equal(-1);
    expect(compareBaseToDecimal(150n, 2, parseDecimal('1.5000'))).to.equal(0);
  });

  it('refuses too many decimals (trailing zeros included), negatives, exponents and garbage, each with its reason', () => {
    expect(reason(() => parseAmount('0.0000000000000000001', 18))).to.equal('TOO_MANY_DECIMALS');
    expect(reason(() => parseAmount('1.0', 0))).to.equal('TOO_MANY_DECIMALS');
    expect(reason(() => parseAmount('0.000000001', 8))).to.equal('TOO_MANY_DECIMALS');
    expect(reason(() => parseAmount('-1', 18))).to.equal('NEGATIVE');
    expect(reason(() => parseAmount('-0', 18))).to.equal('NEGATIVE');
    for (const e of ['1e18', '1E5', '1.5e-3', '+1e2']) expect(reason(() => parseAmount(e, 18)), e).to.equal('EXPONENT');
    for (const g of ['abc', '1.2.3', '.5', '5.', '01', '00.1', '+1', ' 1', '1 ', '1,5', '0x10', '١', 'Infinity', 'NaN', '1_000', '1\n']) {
      expect(reason(() => parseAmount(g, 18)), JSON.stringify(g)).to.equal('MALFORMED');
    }
    expect(reason(() => parseAmount('', 18))).to.equal('EMPTY');
    expect(reason(() => parseAmount('1'.repeat(101), 18))).to.equal('TOO_LONG');
    expect(reason(() => parseAmount('1' + '0'.repeat(78), 0))).to.equal('TOO_LARGE');
    expect(reason(() => parseAmount((MAX_BASE_UNITS + 1n).toString(), 0))).to.equal('TOO_LARGE');
    for (const v of [1, null, undefined, {}, ['1'], 1n]) expect(reason(() => parseAmount(v, 18))).to.equal('NOT_A_STRING');
  });

  it('error messages show a bounded prefix of the input, never all of it', () => {
    let msg = '';
    try { parseAmount('9'.repeat(50) + 'x', 18); } catch (e) { msg = (e as Error).message; }
    expect(msg).to.match(/^amount: "9{24}…" is not a plain decimal number/);
  });

  it('a JSON number is accepted only when it is exactly the decimal the client wrote', () => {
    expect(amountFromWire(0.0001, 18)).to.equal(100_000_000_000_000n);
    expect(amountFromWire(0.3, 18)).to.equal(parseAmount('0.3', 18));
    expect(amountFromWire(5, 8)).to.equal(500_000_000n);
    expect(amountFromWire('0.1', 18)).to.equal(10n ** 17n);
    expect(amountFromWire(123456789012345, 0)).to.equal(123456789012345n);
    expect(reason(() => amountFromWire(0.1 + 0.2, 18))).to.equal('IMPRECISE_NUMBER'); // 0.30000000000000004
    expect(reason(() => amountFromWire(1e-7, 18))).to.equal('EXPONENT');
    expect(reason(() => amountFromWire(1e21, 18))).to.equal('EXPONENT');
    expect(reason(() => amountFromWire(2 ** 60, 0))).to.equal('IMPRECISE_NUMBER');
    expect(reason(() => amountFromWire(-1, 18))).to.equal('NEGATIVE');
    expect(reason(() => amountFromWire(-0, 18))).to.equal('NEGATIVE');
    expect(reason(() => amountFromWire(Number.NaN, 18))).to.equal('MALFORMED');
    expect(reason(() => amountFromWire(Number.POSITIVE_INFINITY, 18))).to.equal('MALFORMED');
    expect(reason(() => amountFromWire(0.123, 2))).to.equal('TOO_MANY_DECIMALS');
  });

  it('asset decimals outside 0..36 are a programming error, not an amount error', () => {
    expect(() => parseAmount('1', -1)).to.throw().that.satisfies((e: unknown) => isCosignerError(e, 'INTERNAL'));
    expect(() => formatAmount(1n, 37)).to.throw().that.satisfies((e: unknown) => isCosignerError(e, 'INTERNAL'));
    expect(() => formatAmount(-1n, 18)).to.throw().that.satisfies((e: unknown) => isCosignerError(e, 'INTERNAL'));
  });
});
