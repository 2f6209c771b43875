// Exact decimal amounts. The wire carries amounts in asset units as decimal strings ("0.0001");
// chains and the policy work in base units (wei, lamports, satoshis) as bigint. Floats never
// touch an amount: a JS number cannot hold 0.1 exactly, and 18-decimal amounts exceed 2^53.
//
// Accepted text: "0", "12", "0.5", "1.000" — ASCII digits, one optional fractional part, no
// sign, no exponent, no leading zeros ("007"), no bare point (".5", "5."), no spaces.
import { CosignerError } from '../../shared/errors.js';

/** Why an amount was refused (CosignerError details.reason), for precise API messages. */
export type AmountRefusal = 'NOT_A_STRING' | 'EMPTY' | 'TOO_LONG' | 'NEGATIVE' | 'EXPONENT' | 'MALFORMED' | 'TOO_MANY_DECIMALS' | 'TOO_LARGE' | 'IMPRECISE_NUMBER';

/** Longest amount text accepted (uint256 has 78 digits; 18 decimals and a point fit well below). */
export const MAX_AMOUNT_TEXT = 100;
/** Most decimals any asset may have (EVM tokens use at most 18 in practice; uint8 allows 255). */
export const MAX_DECIMALS = 36;
/** Base-unit amounts are at most 2^256 − 1, the EVM word (every supported chain fits). */
export const MAX_BASE_UNITS = (1n << 256n) - 1n;

const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

function refuse(reason: AmountRefusal, message: string): never {
  throw new CosignerError('AMOUNT_INVALID', `amount: ${message}`, { reason });
}

function checkDecimals(decimals: number): void {
  if (!Number.isSafeInteger(decimals) || decimals < 0 || decimals > MAX_DECIMALS) {
    throw new CosignerError('INTERNAL', `asset decimals must be an integer in 0..${MAX_DECIMALS}`);
  }
}

/** A shown prefix of bad input: enough to recognise it, never a whole (possibly huge) value. */
function shown(text: string): string {
  return JSON.stringify(text.length > 24 ? `${text.slice(0, 24)}…` : text);
}

/** An exact non-negative decimal: value = units / 10^scale. */
export interface ExactDecimal {
  units: bigint;
  scale: number;
}

/** Parse decimal text exactly, keeping every written digit ("1.50" → 150 / 10^2). */
export function parseDecimal(text: unknown): ExactDecimal {
  if (typeof text !== 'string') refuse('NOT_A_STRING', `expected a decimal string, got ${text === null ? 'null' : typeof text}`);
  if (text.length === 0) refuse('EMPTY', 'empty string');
  if (text.length > MAX_AMOUNT_TEXT) refuse('TOO_LONG', `longer than ${MAX_AMOUNT_TEXT} characters`);
  const m = DECIMAL.exec(text);
  if (!m) {
    if (/^-/.test(text)) refuse('NEGATIVE', `${shown(text)} is negative`);
    if (/^[+]?[0-9.]+[eE][+-]?[0-9]+$/.test(text)) refuse('EXPONENT', `${shown(text)} uses an exponent; write the digits out`);
    refuse('MALFORMED', `${shown(text)} is not a plain decimal number (digits, optionally one "." and more digits)`);
  }
  const whole = m[1]!;
  const fraction = m[2] ?? '';
  return { units: BigInt(whole + fraction), scale: fraction.length };
}

/**
 * Decimal text in asset units → base units. More fractional digits than the asset has are
 * refused, trailing zeros included ("1.0" for a 0-decimal asset): nothing is ever rounded, and
 * a client that writes more precision than the asset has is told so rather than guessed at.
 */
export function parseAmount(text: unknown, decimals: number): bigint {
  checkDecimals(decimals);
  const d = parseDecimal(text);
  if (d.scale > decimals) refuse('TOO_MANY_DECIMALS', `${shown(text as string)} has ${d.scale} decimals; the asset has ${decimals}`);
  const base = d.units * 10n ** BigInt(decimals - d.scale);
  if (base > MAX_BASE_UNITS) refuse('TOO_LARGE', `${shown(text as string)} exceeds the largest representable amount`);
  return base;
}

/**
 * An amount as it arrives in a JSON body: a string (preferred), or a JSON number — both SDKs
 * type `amount` as number | string. A number is accepted only when its shortest round-trip
 * text has no exponent and at most 15 significant digits: a double reproduces every such
 * decimal literal exactly, so the value is the one the client wrote, not a neighbour of it.
 */
export function amountFromWire(value: unknown, decimals: number): bigint {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) refuse('MALFORMED', 'not a finite number');
    if (value < 0 || Object.is(value, -0)) refuse('NEGATIVE', 'amount is negative');
    const text = String(value);
    if (/[eE]/.test(text)) refuse('EXPONENT', `${text} needs an exponent as a number; send the amount as a decimal string`);
    const significant = text.replace('.', '').replace(/^0+/, '').length;
    if (significant > 15) refuse('IMPRECISE_NUMBER', `${text} has more than 15 significant digits, more than a JSON number holds exactly; send a decimal string`);
    return parseAmount(text, decimals);
  }
  return parseAmount(value, decimals);
}

/** Base units → canonical decimal text in asset units (no trailing fractional zeros). */
export function formatAmount(base: bigint, decimals: number): string {
  checkDecimals(decimals);
  if (typeof base !== 'bigint' || base < 0n) throw new CosignerError('INTERNAL', 'base-unit amount must be a non-negative bigint');
  const digits = base.toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}

/**
 * Exact comparison of a base-unit amount (with the asset's decimals) against a decimal limit
 * written in asset units: sign of (base / 10^decimals − limit). Cross-multiplied in integers,
 * so a limit with more decimals than the asset ("0.0000000001" for a 9-decimal asset) is exact.
 */
export function compareBaseToDecimal(base: bigint, decimals: number, limit: ExactDecimal): -1 | 0 | 1 {
  checkDecimals(decimals);
  const left = base * 10n ** BigInt(limit.scale);
  const right = limit.units * 10n ** BigInt(decimals);
  return left < right ? -1 : left > right ? 1 : 0;
}
