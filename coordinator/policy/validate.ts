// Validation of a policy document before it is published (and again before it is used, so a
// corrupted stored policy fails closed). Every problem is reported with a JSON-pointer path into
// the document and a reason a person can act on; nothing is coerced or defaulted.
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import type { TSchema } from '@sinclair/typebox';
import { CosignerError } from '../../shared/errors.js';
import { parseDecimal } from '../assets/amount.js';
import { TapPolicySchema, type TapPolicy } from './schema.js';

export interface PolicyIssue {
  /** JSON pointer into the document, e.g. "/rules/2/approvers/threshold" ("" = the document). */
  path: string;
  reason: string;
}

/** A refused policy document: code POLICY_INVALID, with every issue found (at most MAX_ISSUES). */
export class PolicyValidationError extends CosignerError {
  readonly issues: readonly PolicyIssue[];
  constructor(issues: PolicyIssue[]) {
    const shown = issues.slice(0, 5).map((i) => `${i.path || '/'}: ${i.reason}`).join('; ');
    super('POLICY_INVALID', `policy document refused: ${shown}${issues.length > 5 ? `; and ${issues.length - 5} more` : ''}`, { issues: issues.length });
    this.name = 'PolicyValidationError';
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ ...i })));
  }
}

export type PolicyValidation = { ok: true; policy: TapPolicy } | { ok: false; issues: PolicyIssue[] };

const MAX_ISSUES = 50;
const compiled = TypeCompiler.Compile(TapPolicySchema);

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 32 ? v.slice(0, 32) + '…' : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v).slice(0, 32)}`;
}

function reasonFor(e: ValueError): string {
  const s = e.schema as TSchema & { description?: string; pattern?: string };
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'unknown field';
    case ValueErrorType.StringPattern:
      return s.description ? `expected ${s.description}, got ${describeValue(e.value)}` : `${describeValue(e.value)} has characters that are not allowed`;
    case ValueErrorType.ArrayUniqueItems:
      return 'contains duplicates';
    default:
      return s.description ? `expected ${s.description}, got ${describeValue(e.value)}` : `${e.message.toLowerCase()}, got ${describeValue(e.value)}`;
  }
}

/**
 * TypeBox reports a failed union as one error at the union's path. When the value plainly meant
 * one variant (an object whose `type` names an object variant, or an array where a variant is an
 * array), report that variant's own errors instead — the user sees "ids/0: required", not
 * "expected one of …".
 */
function unionVariant(schema: TSchema, value: unknown): TSchema | undefined {
  const variants = ((schema as { anyOf?: TSchema[] }).anyOf ?? []) as (TSchema & { type?: string; properties?: Record<string, TSchema & { const?: unknown }> })[];
  if (Array.isArray(value)) {
    const arrays = variants.filter((v) => v.type === 'array');
    return arrays.length === 1 ? arrays[0] : undefined;
  }
  if (typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string') {
    const t = (value as { type: string }).type;
    const objects = variants.filter((v) => v.type === 'object' && v.properties?.type?.const === t);
    return objects.length === 1 ? objects[0] : undefined;
  }
  return undefined;
}

function collect(schema: TSchema, value: unknown, prefix: string, out: PolicyIssue[]): void {
  for (const e of Value.Errors(schema, value)) {
    if (out.length >= MAX_ISSUES) return;
    const path = prefix + e.path;
    if (e.type === ValueErrorType.Union) {
      const variant = unionVariant(e.schema, e.value);
      if (variant) {
        const before = out.length;
        collect(variant, e.value, path, out);
        if (out.length > before) continue;
      }
    }
    // A string that fails its pattern also "fails" nothing else; skip TypeBox's echo errors.
    if (out.some((i) => i.path === path)) continue;
    out.push({ path, reason: reasonFor(e) });
  }
}

/** The checks JSON Schema cannot express; run only on a structurally valid document. */
function consistency(policy: TapPolicy, out: PolicyIssue[]): void {
  const names = new Map<string, number>();
  policy.rules.forEach((rule, i) => {
    const at = `/rules/${i}`;
    const first = names.get(rule.name);
    if (first !== undefined) out.push({ path: `${at}/name`, reason: `duplicate of the name of rule ${first}; names must be unique (cumulative limits are kept per rule name)` });
    else names.set(rule.name, i);

    if (rule.action === 'REQUIRE_APPROVAL') {
      if (!rule.approvers) out.push({ path: `${at}/approvers`, reason: 'required when action is REQUIRE_APPROVAL' });
      else if (rule.approvers.threshold > rule.approvers.users.length) {
        out.push({ path: `${at}/approvers/threshold`, reason: `threshold ${rule.approvers.threshold} exceeds the ${rule.approvers.users.length} approver(s) listed` });
      }
    } else if (rule.approvers) {
      out.push({ path: `${at}/approvers`, reason: `only allowed when action is REQUIRE_APPROVAL, not ${rule.action}` });
    }

    const rawOnly = Array.isArray(rule.operations) && rule.operations.every((op) => op === 'RAW');
    if (rule.amount) {
      if (rule.amount.min === undefined && rule.amount.max === undefined) out.push({ path: `${at}/amount`, reason: 'give min, max or both (or leave amount out)' });
      if (rule.amount.min !== undefined && rule.amount.max !== undefined) {
        const min = parseDecimal(rule.amount.min);
        const max = parseDecimal(rule.amount.max);
        // Exact: cross-multiply by the other side's scale.
        if (min.units * 10n ** BigInt(max.scale) > max.units * 10n ** BigInt(min.scale)) {
          out.push({ path: `${at}/amount/min`, reason: `min ${rule.amount.min} is greater than max ${rule.amount.max}` });
        }
      }
      if (rawOnly) out.push({ path: `${at}/amount`, reason: 'RAW transactions carry no amount, so this rule could never match' });
    }
    if (rule.cumulative && rawOnly) out.push({ path: `${at}/cumulative`, reason: 'RAW transactions carry no amount, so this rule could never match' });
  });
}

/** Validate without throwing: the parsed policy (a deep copy) or every issue found. */
export function validatePolicy(doc: unknown): PolicyValidation {
  const issues: PolicyIssue[] = [];
  if (!compiled.Check(doc)) {
    collect(TapPolicySchema, doc, '', issues);
    if (issues.length === 0) issues.push({ path: '', reason: 'not a valid policy document' });
    return { ok: false, issues };
  }
  consistency(doc, issues);
  if (issues.length > 0) return { ok: false, issues };
  // A deep copy: later changes to the caller's object cannot change the validated policy.
  return { ok: true, policy: structuredClone(doc) };
}

/** Validate or throw PolicyValidationError (code POLICY_INVALID) listing path + reason. */
export function parsePolicy(doc: unknown): TapPolicy {
  const r = validatePolicy(doc);
  if (!r.ok) throw new PolicyValidationError(r.issues);
  return r.policy;
}
