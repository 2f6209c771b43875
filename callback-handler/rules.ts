// Approval rules. A rule looks at a verified request and says APPROVE, REJECT or RETRY; rules are
// composed so that any REJECT wins, else any RETRY, else APPROVE. Every rule fails closed: a field
// it needs that is missing or malformed is a REJECT, never a pass.
import type { Action, ConfigChangeRequest, TxSignRequest } from './protocol.js';

export interface Decision {
  action: Action;
  reason?: string;
}

export type Rule = (claims: TxSignRequest) => Decision | Promise<Decision>;
export type ConfigChangeRule = (claims: ConfigChangeRequest) => Decision | Promise<Decision>;

// ---- exact decimals -------------------------------------------------------------------------

// Plain non-negative decimals only: no sign, exponent, spaces or separators. The length bound
// keeps BigInt work trivial on hostile input.
const DECIMAL = /^(\d{1,80})(?:\.(\d{1,80}))?$/;

export function isDecimal(s: unknown): s is string {
  return typeof s === 'string' && DECIMAL.test(s);
}

/** Exact comparison of two decimal strings: -1, 0 or 1. No floating point anywhere. */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const [ai, af] = split(a);
  const [bi, bf] = split(b);
  const scale = Math.max(af.length, bf.length);
  const x = BigInt(ai + af.padEnd(scale, '0'));
  const y = BigInt(bi + bf.padEnd(scale, '0'));
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Exact sum of decimal strings, as a decimal string. */
export function addDecimal(a: string, b: string): string {
  const [ai, af] = split(a);
  const [bi, bf] = split(b);
  const scale = Math.max(af.length, bf.length);
  const sum = (BigInt(ai + af.padEnd(scale, '0')) + BigInt(bi + bf.padEnd(scale, '0'))).toString().padStart(scale + 1, '0');
  return scale === 0 ? sum : `${sum.slice(0, -scale)}.${sum.slice(-scale)}`;
}

function split(s: string): [string, string] {
  const m = DECIMAL.exec(s);
  if (!m) throw new Error(`not a decimal: ${JSON.stringify(s)}`);
  return [m[1]!, m[2] ?? ''];
}

// ---- per-asset amount limit ------------------------------------------------------------------

/**
 * Each asset's amount must be at most its limit. An asset with no limit of its own takes the "*"
 * limit when one is configured, and is rejected otherwise (an allowlist of assets, in effect).
 * The amount checked is amountStr and, when destinations carry amounts (amountNativeStr), their
 * sum too, whichever is larger: a request whose parts disagree with its total gains nothing.
 */
export function amountLimitRule(limits: Record<string, string>): Rule {
  for (const [asset, max] of Object.entries(limits)) {
    if (!isDecimal(max)) throw new Error(`limit for ${asset} is not a plain decimal string: ${JSON.stringify(max)}`);
  }
  const table = new Map(Object.entries(limits));
  return (claims) => {
    const asset = claims.asset;
    if (typeof asset !== 'string' || asset === '') return reject('no asset in request');
    const max = table.get(asset) ?? table.get('*');
    if (max === undefined) return reject(`no limit configured for asset ${asset}`);
    if (!isDecimal(claims.amountStr)) return reject('amountStr missing or not a plain decimal');
    let amount = claims.amountStr;
    if (claims.destinations !== undefined) {
      if (!Array.isArray(claims.destinations)) return reject('destinations is not an array');
      let sum = '0';
      for (const d of claims.destinations) {
        const part = (d as Record<string, unknown> | null)?.amountNativeStr;
        if (part === undefined) continue;
        if (!isDecimal(part)) return reject('a destination amount is not a plain decimal');
        sum = addDecimal(sum, part);
      }
      if (compareDecimal(sum, amount) > 0) amount = sum;
    }
    if (compareDecimal(amount, max) > 0) return reject(`amount ${amount} ${asset} is over the limit ${max}`);
    return { action: 'APPROVE' };
  };
}

// ---- destination allowlist -------------------------------------------------------------------

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

// EVM addresses are hex (the mixed case is only an EIP-55 checksum), so they compare without
// case; every other address format is compared exactly, since case matters in base58 and friends.
function normaliseAddress(a: string): string {
  return EVM_ADDRESS.test(a) ? a.toLowerCase() : a;
}

/** Every destination address the request names: destAddress, and each destination's dstAddress
 *  and displayDstAddress. */
export function destinationAddresses(claims: TxSignRequest): string[] | { error: string } {
  const out: string[] = [];
  const add = (v: unknown, what: string): string | undefined => {
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') return `${what} is not a string`;
    out.push(v);
    return undefined;
  };
  const e = add(claims.destAddress, 'destAddress');
  if (e) return { error: e };
  if (claims.destinations !== undefined) {
    if (!Array.isArray(claims.destinations)) return { error: 'destinations is not an array' };
    for (const d of claims.destinations) {
      const rec = (d ?? {}) as Record<string, unknown>;
      const e2 = add(rec.dstAddress, 'dstAddress') ?? add(rec.displayDstAddress, 'displayDstAddress');
      if (e2) return { error: e2 };
    }
  }
  return out;
}

/** Every destination address must be on the list. A request naming no destination address at all
 *  is rejected: there is nothing the list could vouch for. */
export function allowlistRule(addresses: readonly string[]): Rule {
  const allowed = new Set(addresses.map(normaliseAddress));
  return (claims) => {
    const found = destinationAddresses(claims);
    if (!Array.isArray(found)) return reject(found.error);
    if (found.length === 0) return reject('no destination address to check against the allowlist');
    for (const a of found) if (!allowed.has(normaliseAddress(a))) return reject(`destination ${a} is not on the allowlist`);
    return { action: 'APPROVE' };
  };
}

// ---- composition -----------------------------------------------------------------------------

const RULE_ACTIONS: readonly Action[] = ['APPROVE', 'REJECT', 'RETRY'];

/** First REJECT wins; else the first RETRY; else APPROVE. A rule that throws, or answers anything
 *  but APPROVE/REJECT/RETRY, counts as a REJECT: a broken rule must not let a request through. */
export function composeRules(rules: readonly Rule[]): Rule {
  return async (claims) => {
    let retry: Decision | undefined;
    for (const rule of rules) {
      let d: Decision;
      try {
        d = await rule(claims);
      } catch {
        return reject('a rule failed');
      }
      if (!d || !RULE_ACTIONS.includes(d.action)) return reject('a rule gave no valid decision');
      if (d.action === 'REJECT') return { action: 'REJECT', reason: d.reason ?? 'rejected by rule' };
      if (d.action === 'RETRY' && !retry) retry = { action: 'RETRY', ...(d.reason ? { reason: d.reason } : {}) };
    }
    return retry ?? { action: 'APPROVE' };
  };
}

/** Config changes (e.g. a new whitelisted address) are approved or rejected wholesale by default;
 *  pass your own ConfigChangeRule for more. */
export function fixedConfigChangeRule(action: 'APPROVE' | 'REJECT'): ConfigChangeRule {
  return () => (action === 'APPROVE' ? { action } : { action, reason: 'configuration changes are not approved by this handler' });
}

function reject(reason: string): Decision {
  return { action: 'REJECT', reason };
}
