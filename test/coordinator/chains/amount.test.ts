import { expect } from 'chai';
import fc from 'fast-check';
import { fromBaseUnits, toBaseUnits } from '../../../coordinator/chains/amount.js';
import { expectChainError } from './chain-test-kit.js';

describe('exact decimal amounts', () => {
  it('converts decimal strings to base units exactly', () => {
    expect(toBaseUnits('1', 18)).to.equal(10n ** 18n);
    expect(toBaseUnits('0.000000000000000001', 18)).to.equal(1n);
    expect(toBaseUnits('1.5', 6)).to.equal(1_500_000n);
    expect(toBaseUnits('1.500000', 6)).to.equal(1_500_000n);
    expect(toBaseUnits('0', 6)).to.equal(0n);
    expect(toBaseUnits('42', 0)).to.equal(42n);
    // Far beyond a double's 53 bits.
    expect(toBaseUnits('123456789012345678901234567890.123456789012345678', 18)).to.equal(123456789012345678901234567890123456789012345678n);
  });

  it('refuses anything that would need rounding or is not plain decimal notation', async () => {
    for (const bad of ['1.0000001', '0.0000001']) await expectChainError(() => toBaseUnits(bad, 6), 'CHAIN_INVALID_INPUT', /fractional digits/);
    for (const bad of ['', ' 1', '1 ', '-1', '+1', '1e18', '0x10', '.5', '5.', '01', '1,5', 'NaN', 'Infinity', '１']) {
      await expectChainError(() => toBaseUnits(bad, 18), 'CHAIN_INVALID_INPUT');
    }
    await expectChainError(() => toBaseUnits(1 as unknown as string, 18), 'CHAIN_INVALID_INPUT');
    await expectChainError(() => toBaseUnits('1'.repeat(80), 0), 'CHAIN_INVALID_INPUT', /256 bits/);
    await expectChainError(() => toBaseUnits('1', -1), 'CHAIN_INVALID_INPUT');
    await expectChainError(() => toBaseUnits('1', 1.5), 'CHAIN_INVALID_INPUT');
  });

  it('formats base units without trailing zeros or exponents', () => {
    expect(fromBaseUnits(1_500_000n, 6)).to.equal('1.5');
    expect(fromBaseUnits(1n, 18)).to.equal('0.000000000000000001');
    expect(fromBaseUnits(10n ** 18n, 18)).to.equal('1');
    expect(fromBaseUnits(0n, 18)).to.equal('0');
    expect(fromBaseUnits(7n, 0)).to.equal('7');
  });

  it('round-trips every amount', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), fc.integer({ min: 0, max: 30 }), (units, decimals) => {
        expect(toBaseUnits(fromBaseUnits(units, decimals), decimals)).to.equal(units);
      }),
    );
  });
});
