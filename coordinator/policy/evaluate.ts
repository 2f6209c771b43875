// Evaluating a transaction against a policy: rules in order, the first whose every matcher
// holds decides; when none does the transaction is blocked. Matchers are conditions, never
// actions: an amount or cumulative limit that is exceeded makes its rule not match, so the
// next rule (typically a stricter one) or the default block applies.
import { CosignerError } from '../../shared/errors.js';
import { compareBaseToDecimal, formatAmount, parseDecimal } from '../assets/amount.js';
import { checkFacts, type TransactionFacts } from './facts.js';
import type { TapAction, TapApprovers, TapPolicy, TapRule } from './schema.js';
import { parsePolicy } from './validate.js';

/** What the coordinator's database answers for a cumulative limit. */
export interface CumulativeQuery {
  ruleName: string;
  initiator: string;
  assetId: string;
  /** Window start, ms since the epoch, INCLUSIVE: count transactions created at or after it. */
  since: number;
}

/**
 * Implemented by the coordinator over its database: the sum, in base units, of the amounts of
 * the transactions whose recorded decision matched `ruleName`, created by `initiator` in
 * `assetId` at or after `since`, whose status is not REJECTED, BLOCKED, CANCELLED or FAILED
 * (every live one counts, pending approval and in flight included). The transaction being
 * evaluated is not in it yet.
 */
export interface TapHistory {
  sumAmounts(q: CumulativeQuery): Promise<bigint>;
}

export interface TapDecision {
  action: TapAction;
  /** Index of the matching rule in the policy, or null when no rule matched (default block). */
  ruleIndex: number | null;
  ruleName: string | null;
  /** One line for people: which rule decided and why. */
  reason: string;
  /** REQUIRE_APPROVAL: the matched rule's approvers, kept with the decision so later votes are
   *  tallied against the rule as it was, not a policy published since. null otherwise. */
  approvers: TapApprovers | null;
}

function staticMatch(rule: TapRule, f: TransactionFacts): boolean {
  if (rule.operations !== '*' && !rule.operations.includes(f.operation)) return false;
  if (rule.initiators !== '*' && !rule.initiators.includes(f.initiator)) return false;
  if (rule.assets !== '*' && (f.assetId === null || !rule.assets.includes(f.assetId))) return false;
  if (rule.source !== '*') {
    if (f.source.type !== rule.source.type) return false;
    if (rule.source.ids && (f.source.id === null || !rule.source.ids.includes(f.source.id))) return false;
  }
  if (rule.destination !== '*') {
    const d = f.destination;
    if (d === null || d.type !== rule.destination.type) return false;
    if (d.type === 'EXTERNAL_WALLET' && !d.whitelisted) return false;
    const ids = 'ids' in rule.destination ? rule.destination.ids : undefined;
    if (ids && (d.type === 'ONE_TIME_ADDRESS' || !ids.includes(d.id))) return false;
  }
  if (rule.amount) {
    if (f.amount === null) return false; // RAW: no amount to bound
    const { base, decimals } = f.amount;
    if (rule.amount.min !== undefined && compareBaseToDecimal(base, decimals, parseDecimal(rule.amount.min)) < 0) return false;
    if (rule.amount.max !== undefined && compareBaseToDecimal(base, decimals, parseDecimal(rule.amount.max)) > 0) return false;
  }
  if (rule.cumulative && (f.amount === null || f.assetId === null)) return false;
  return true;
}

/** Cumulative limit: Σ(window) + this ≤ max. Returns the total, or null if over the limit. */
async function cumulativeTotal(rule: TapRule, f: TransactionFacts, history: TapHistory): Promise<bigint | null> {
  const c = rule.cumulative!;
  const since = f.at - c.windowSeconds * 1000;
  const sum = await history.sumAmounts({ ruleName: rule.name, initiator: f.initiator, assetId: f.assetId!, since });
  if (typeof sum !== 'bigint' || sum < 0n) throw new CosignerError('INTERNAL', `history.sumAmounts must return a non-negative bigint (rule "${rule.name}")`);
  const total = sum + f.amount!.base;
  return compareBaseToDecimal(total, f.amount!.decimals, parseDecimal(c.max)) <= 0 ? total : null;
}

/**
 * Decide a transaction. The policy is re-validated (a stored policy that no longer parses
 * throws POLICY_INVALID rather than deciding anything); invalid facts throw SCHEMA_VIOLATION;
 * a failing history lookup propagates. Callers treat any throw as "not authorised".
 */
export async function evaluate(policy: TapPolicy, facts: TransactionFacts, history: TapHistory): Promise<TapDecision> {
  const p = parsePolicy(policy);
  checkFacts(facts);
  for (let i = 0; i < p.rules.length; i++) {
    const rule = p.rules[i]!;
    if (!staticMatch(rule, facts)) continue;
    let detail = '';
    if (rule.cumulative) {
      const total = await cumulativeTotal(rule, facts, history);
      if (total === null) continue;
      detail = `; ${formatAmount(total, facts.amount!.decimals)} of at most ${rule.cumulative.max} ${facts.assetId} in ${rule.cumulative.windowSeconds} s`;
    }
    const approval = rule.action === 'REQUIRE_APPROVAL' ? `, ${rule.approvers!.threshold} of ${rule.approvers!.users.length} approvers needed` : '';
    return {
      action: rule.action,
      ruleIndex: i,
      ruleName: rule.name,
      reason: `rule ${i} "${rule.name}" matched: ${rule.action}${approval}${detail}`,
      approvers: rule.action === 'REQUIRE_APPROVAL' ? structuredClone(rule.approvers!) : null,
    };
  }
  return { action: 'BLOCK', ruleIndex: null, ruleName: null, reason: 'no rule matched: blocked by default', approvers: null };
}
