// Key policy evaluation for the emulator: the subset of the IAM policy language KMS key policies
// use for Nitro Enclaves (AWS KMS Developer Guide, "Condition keys for AWS Nitro Enclaves";
// IAM User Guide, "Policy evaluation logic"): an explicit Deny wins, otherwise some Allow must
// match, otherwise the request is implicitly denied. A statement matches when its Principal, Action
// and every Condition match. Supported conditions: StringEquals / StringEqualsIgnoreCase on
// kms:RecipientAttestation:ImageSha384 and kms:RecipientAttestation:PCR<n>, evaluated against the
// VERIFIED attestation document of the request's Recipient. Anything else is refused when the policy
// is set (MalformedPolicyDocumentException), so an unsupported condition never silently passes.
// Principals as IAM has them (KMS Developer Guide, "Key policies": "Allows access to the AWS
// account and enables IAM policies"): each access key acts as one principal ARN with an identity
// policy of its own. A key-policy statement naming that ARN (or "*") grants by itself; one naming
// the account ("arn:aws:iam::<account>:root" or the bare id) only lets IAM decide, so it grants
// what the caller's identity policy also allows — except to the account root user, which IAM does
// not restrict. An explicit Deny in either policy wins.
import { toHex } from '../../shared/bytes.js';
import { KmsError } from './errors.js';

/** The subset of an IAM identity policy the emulator evaluates: Effect, Action, Resource. */
export interface IdentityPolicy {
  Version?: string;
  Statement: Array<{ Sid?: string; Effect: 'Allow' | 'Deny'; Action: string | string[]; Resource?: string | string[] }>;
}

export interface RequestContext {
  action: string; // e.g. "kms:Decrypt"
  principalArn: string;
  account: string;
  /** The caller's identity policy; null: none attached (a root-delegating statement grants nothing). */
  identityPolicy?: IdentityPolicy | null;
  /** The key's ARN, matched against identity-policy Resource elements ('*' when absent). */
  resource?: string;
  /** From the verified Recipient attestation document; null when the request has no Recipient. */
  recipient: { pcrs: Map<number, Uint8Array> } | null;
}

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal: '*' | { AWS: string | string[] };
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface KeyPolicy {
  Version?: string;
  Id?: string;
  Statement: Statement[];
}

export interface Decision {
  allowed: boolean;
  /** Why, for the AccessDeniedException message (no secrets: PCRs are public measurements). */
  reason: string;
}

const OPERATORS = new Set(['StringEquals', 'StringEqualsIgnoreCase']);
const KEY_RE = /^kms:RecipientAttestation:(ImageSha384|PCR([0-9]|[12][0-9]|3[01]))$/i;
const MAX_POLICY_CHARS = 32768;

function malformed(why: string): never {
  throw new KmsError('MalformedPolicyDocumentException', why);
}

function list(v: unknown, what: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v as string[];
  malformed(`${what} must be a string or a non-empty array of strings`);
}

export function defaultKeyPolicy(account: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
  });
}

/** Parse and validate a policy document; throws MalformedPolicyDocumentException. */
export function parseKeyPolicy(text: string): KeyPolicy {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_POLICY_CHARS) malformed('The policy must be 1 to 32768 characters.');
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { malformed('The policy is not valid JSON.'); }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) malformed('The policy must be a JSON object.');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!['Version', 'Id', 'Statement'].includes(k)) malformed(`Unsupported policy element ${k}.`);
  const statements = Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  if (statements.length === 0 || statements.some((s) => typeof s !== 'object' || s === null)) malformed('Statement is required.');
  for (const s of statements as Record<string, unknown>[]) {
    for (const k of Object.keys(s)) {
      if (!['Sid', 'Effect', 'Principal', 'Action', 'Resource', 'Condition'].includes(k)) malformed(`Unsupported statement element ${k} (the emulator supports Sid, Effect, Principal, Action, Resource, Condition).`);
    }
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') malformed('Effect must be Allow or Deny.');
    if (s.Principal !== '*') {
      const p = s.Principal as Record<string, unknown> | undefined;
      if (typeof p !== 'object' || p === null || Object.keys(p).length !== 1 || !('AWS' in p)) malformed('Principal must be "*" or {"AWS": ...}.');
      list(p.AWS, 'Principal.AWS');
    }
    for (const a of list(s.Action, 'Action')) if (!/^kms:[A-Za-z*]+$/.test(a) && a !== '*') malformed(`Action ${a} is not a KMS action.`);
    if (s.Resource !== undefined) list(s.Resource, 'Resource');
    if (s.Condition !== undefined) {
      if (typeof s.Condition !== 'object' || s.Condition === null) malformed('Condition must be an object.');
      for (const [op, block] of Object.entries(s.Condition as Record<string, unknown>)) {
        if (!OPERATORS.has(op)) malformed(`Condition operator ${op} is not supported by the emulator.`);
        if (typeof block !== 'object' || block === null) malformed(`Condition ${op} must be an object.`);
        for (const [key, values] of Object.entries(block as Record<string, unknown>)) {
          if (!KEY_RE.test(key)) malformed(`Condition key ${key} is not supported by the emulator.`);
          list(values, `Condition ${op} ${key}`);
        }
      }
    }
  }
  return { ...(d as object), Statement: statements } as KeyPolicy;
}

function wildcard(pattern: string, value: string): boolean {
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'i');
  return re.test(value);
}

/** 'direct': the statement names the caller; 'account': it names the caller's account (IAM decides). */
function principalMatch(p: Statement['Principal'], ctx: RequestContext): 'direct' | 'account' | null {
  if (p === '*') return 'direct';
  const arns = list(p.AWS, 'Principal.AWS');
  if (arns.some((arn) => arn === '*' || arn === ctx.principalArn)) return 'direct';
  if (arns.some((arn) => arn === ctx.account || arn === rootArn(ctx.account)) && ctx.principalArn.startsWith(`arn:aws:iam::${ctx.account}:`)) return 'account';
  return null;
}

function rootArn(account: string): string {
  return `arn:aws:iam::${account}:root`;
}

/** Parse an identity policy (Effect, Action, Resource only); throws MalformedPolicyDocumentException. */
export function parseIdentityPolicy(doc: unknown): IdentityPolicy {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) malformed('An identity policy must be a JSON object.');
  const d = doc as Record<string, unknown>;
  const statements = Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  for (const st of statements) {
    if (typeof st !== 'object' || st === null) malformed('Identity policy Statement is required.');
    const x = st as Record<string, unknown>;
    for (const k of Object.keys(x)) if (!['Sid', 'Effect', 'Action', 'Resource'].includes(k)) malformed(`Unsupported identity policy element ${k}.`);
    if (x.Effect !== 'Allow' && x.Effect !== 'Deny') malformed('Effect must be Allow or Deny.');
    list(x.Action, 'Action');
    if (x.Resource !== undefined) list(x.Resource, 'Resource');
  }
  return { Statement: statements } as IdentityPolicy;
}

/** IAM's answer for the caller: 'deny' (explicit), 'allow', or null (nothing allows). */
function identityDecision(ctx: RequestContext): 'allow' | 'deny' | null {
  let allowed = false;
  for (const st of ctx.identityPolicy?.Statement ?? []) {
    if (!list(st.Action, 'Action').some((a) => wildcard(a, ctx.action))) continue;
    if (!(st.Resource === undefined ? ['*'] : list(st.Resource, 'Resource')).some((r) => wildcard(r, ctx.resource ?? '*'))) continue;
    if (st.Effect === 'Deny') return 'deny';
    allowed = true;
  }
  return allowed ? 'allow' : null;
}

/** The value of a RecipientAttestation condition key for this request, or null when absent. */
function conditionValue(key: string, ctx: RequestContext): string | null {
  if (!ctx.recipient) return null;
  const m = KEY_RE.exec(key)!;
  const index = m[1]!.toLowerCase() === 'imagesha384' ? 0 : Number(m[2]);
  const pcr = ctx.recipient.pcrs.get(index);
  return pcr ? toHex(pcr) : null;
}

/** Returns null when all conditions hold, else a description of the first that does not. */
function failedCondition(cond: Statement['Condition'], ctx: RequestContext): string | null {
  for (const [op, block] of Object.entries(cond ?? {})) {
    for (const [key, expected] of Object.entries(block)) {
      const actual = conditionValue(key, ctx);
      if (actual === null) return ctx.recipient ? `${key}: the attestation document has no such PCR` : `${key}: the request has no Recipient attestation document`;
      const values = list(expected, key);
      const ok = op === 'StringEqualsIgnoreCase'
        ? values.some((v) => v.toLowerCase() === actual.toLowerCase())
        : values.includes(actual);
      if (!ok) return `${key}: the attestation document has ${actual}, the policy expects ${values.join(' or ')}`;
    }
  }
  return null;
}

export function evaluateKeyPolicy(policy: KeyPolicy, ctx: RequestContext): Decision {
  const iam = identityDecision(ctx);
  if (iam === 'deny') return { allowed: false, reason: `an explicit deny in the identity policy of ${ctx.principalArn}` };
  const isRoot = ctx.principalArn === rootArn(ctx.account);
  let allowedBy: string | null = null;
  const misses: string[] = [];
  for (const s of policy.Statement) {
    const match = principalMatch(s.Principal, ctx);
    if (match === null) continue;
    if (!list(s.Action, 'Action').some((a) => wildcard(a, ctx.action))) continue;
    const failed = failedCondition(s.Condition, ctx);
    if (s.Effect === 'Deny') {
      if (failed === null) return { allowed: false, reason: `an explicit deny in the key policy (${s.Sid ?? 'statement'})` };
      continue;
    }
    if (failed !== null) misses.push(failed);
    else if (match === 'direct' || isRoot || iam === 'allow') allowedBy ??= s.Sid ?? 'statement';
    else misses.push(`${s.Sid ?? 'a statement'} delegates to IAM, and no identity-based policy of ${ctx.principalArn} allows ${ctx.action}`);
  }
  if (allowedBy !== null) return { allowed: true, reason: `allowed by ${allowedBy}` };
  return {
    allowed: false,
    reason: misses.length > 0 ? `no statement's conditions hold (${misses.join('; ')})` : `no resource-based policy allows the ${ctx.action} action`,
  };
}
