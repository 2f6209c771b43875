// Exact conversion between the API's decimal amount strings ("0.015") and base units (bigint).
// Nothing is rounded: an amount with more fractional digits than the asset has is refused, because
// silently dropping digits would move a different amount than the one approved.

import { ChainError } from './chain-errors.js';

const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;
const MAX_UINT256 = (1n << 256n) - 1n;

function checkDecimals(decimals: number): void {
  if (!Number.isSafeInteger(decimals) || decimals < 0 || decimals > 77) {
    throw new ChainError('CHAIN_INVALID_INPUT', `decimals must be an integer from 0 to 77, got ${String(decimals)}`);
  }
}

/** "1.5" with 6 decimals → 1500000n. Plain non-negative decimal notation only (no sign, exponent, spaces). */
export function toBaseUnits(amount: string, decimals: number): bigint {
  checkDecimals(decimals);
  const m = typeof amount === 'string' && amount.length <= 100 ? DECIMAL.exec(amount) : null;
  if (!m) throw new ChainError('CHAIN_INVALID_INPUT', 'amount must be a plain decimal number such as "12" or "0.5"');
  const whole = m[1]!;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > decimals) {
    throw new ChainError('CHAIN_INVALID_INPUT', `amount has ${frac.length} fractional digits; this asset has ${decimals}`);
  }
  const units = BigInt(whole + frac.padEnd(decimals, '0'));
  if (units > MAX_UINT256) throw new ChainError('CHAIN_INVALID_INPUT', 'amount does not fit in 256 bits');
  return units;
}

/** 1500000n with 6 decimals → "1.5" (no trailing zeros, no exponent). */
export function fromBaseUnits(units: bigint, decimals: number): string {
  checkDecimals(decimals);
  if (units < 0n) throw new ChainError('CHAIN_INVALID_INPUT', 'amount in base units must not be negative');
  const digits = units.toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole;
}
