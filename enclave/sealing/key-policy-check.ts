// Before its first seal, the enclave reads the sealing key's policy (over its own TLS session to
// KMS) and refuses a key whose policy would let anyone decrypt the data key without attesting as
// this enclave, or make data keys of their own under it. The key ARN itself is fixed by the enclave's
// measured configuration (the parent cannot name another key); this check covers what the key's
// owner allowed. It runs on every boot, before KMS is asked for anything else.
//
// The rule is deliberately narrow and conservative (AWS KMS Developer Guide, "Condition keys for
// AWS Nitro Enclaves"; IAM "Policy evaluation logic"): every Allow statement whose actions include
// a way to a data key's plaintext or to forge one — kms:Decrypt, kms:GenerateDataKey, kms:Encrypt,
// kms:ReEncryptFrom/To, kms:CreateGrant — exactly or by a wildcard such as kms:* or kms:Decrypt*,
// must carry a
// StringEquals / StringEqualsIgnoreCase condition on kms:RecipientAttestation:ImageSha384 (or
// :PCR0) equal to this enclave's PCR0, or on :PCR8 equal to its PCR8 (a signed image). Anything
// this checker does not understand in such a statement (NotAction, NotPrincipal, other condition
// operators, several allowed values) makes the key unsafe. Deny statements only narrow access and
// are accepted as they are.
//
// What it cannot see: IAM policies. A key policy that lets the account decrypt without conditions
// delegates to IAM and is refused here for that reason; a key administrator who later rewrites the
// policy can still grant decryption — that is the key owner's power, and outside the enclave.
import { CosignerError } from '../../shared/errors.js';
import { toHex } from '../../shared/bytes.js';

export interface OwnMeasurement {
  pcr0: Uint8Array;
  /** Zero for an unsigned image (then PCR8 conditions cannot identify us). */
  pcr8: Uint8Array;
}

type Json = unknown;

/**
 * Actions that lead to a data key's plaintext (Decrypt; ReEncryptFrom then Decrypt under one's own
 * key; CreateGrant of Decrypt to anyone) or let someone make a (plaintext, ciphertext) pair under
 * this key and so forge sealed state (GenerateDataKey without a Recipient, Encrypt, ReEncryptTo).
 */
const PLAINTEXT_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:CreateGrant'] as const;

function unsafe(reason: string): never {
  throw new CosignerError('KMS_KEY_POLICY_UNSAFE', `the sealing key's policy is not safe for this enclave: ${reason}`);
}

function asList(v: Json): string[] | null {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  return null;
}

/** IAM action matching: case-insensitive, `*` and `?` wildcards. */
function actionCovers(pattern: string, action: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
  return re.test(action);
}

function isZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

/**
 * Whom this Allow statement's conditions admit: only an enclave with our measurement ('ours'),
 * only some other measurement ('other', with what it names), or anyone ('anyone').
 */
type Pin = { to: 'ours' } | { to: 'other'; what: string } | { to: 'anyone' };

function pinOf(condition: Json, own: OwnMeasurement, sid: string): Pin {
  if (condition === undefined) return { to: 'anyone' };
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition)) unsafe(`statement ${sid}: Condition is not an object`);
  let pin: Pin = { to: 'anyone' };
  for (const [operator, block] of Object.entries(condition as Record<string, Json>)) {
    if (typeof block !== 'object' || block === null || Array.isArray(block)) unsafe(`statement ${sid}: condition ${operator} is not an object`);
    for (const [key, value] of Object.entries(block as Record<string, Json>)) {
      const m = /^kms:RecipientAttestation:(ImageSha384|PCR(\d+))$/i.exec(key);
      if (!m) continue; // other conditions only narrow further (conditions are ANDed)
      if (operator !== 'StringEquals' && operator !== 'StringEqualsIgnoreCase') unsafe(`statement ${sid}: ${operator} on ${key} is not understood`);
      const values = asList(value);
      if (!values || values.length !== 1) unsafe(`statement ${sid}: ${key} must name exactly one measurement`);
      const want = values[0]!.toLowerCase();
      const index = m[1]!.toLowerCase() === 'imagesha384' ? 0 : Number(m[2]);
      if (index !== 0 && index !== 8) continue; // PCR1..4 etc. narrow further
      const mine = index === 0 ? toHex(own.pcr0) : isZero(own.pcr8) ? null : toHex(own.pcr8);
      // Any pin that excludes us decides: the statement admits some other image, not us.
      if (want !== mine) return { to: 'other', what: `PCR${index} ${want}` };
      pin = { to: 'ours' };
    }
  }
  return pin;
}

export function checkSealingKeyPolicy(policyText: string, own: OwnMeasurement): void {
  let policy: Json;
  try {
    policy = JSON.parse(policyText);
  } catch {
    unsafe('the policy is not JSON');
  }
  const statements = (policy as { Statement?: Json })?.Statement;
  const list = Array.isArray(statements) ? statements : statements && typeof statements === 'object' ? [statements] : null;
  if (!list) unsafe('the policy has no Statement list');
  let grantsUs = false;
  list.forEach((st: Json, i: number) => {
    if (typeof st !== 'object' || st === null) unsafe(`statement ${i} is not an object`);
    const s = st as Record<string, Json>;
    const sid = typeof s.Sid === 'string' ? JSON.stringify(s.Sid.slice(0, 64)) : `#${i}`;
    if (s.Effect === 'Deny') return;
    if (s.Effect !== 'Allow') unsafe(`statement ${sid} has Effect ${String(s.Effect)}`);
    if ('NotAction' in s || 'NotPrincipal' in s) unsafe(`statement ${sid} uses NotAction/NotPrincipal`);
    const actions = asList(s.Action);
    if (!actions) unsafe(`statement ${sid} has no Action list`);
    const risky = PLAINTEXT_ACTIONS.filter((target) => actions.some((a) => actionCovers(a, target)));
    if (risky.length === 0) return;
    const pin = pinOf(s.Condition, own, sid);
    if (pin.to === 'other') {
      unsafe(`statement ${sid} lets another enclave image decrypt (${pin.what}); this enclave measures PCR0 ${toHex(own.pcr0)} — a PCR mismatch`);
    }
    if (pin.to === 'anyone') {
      unsafe(`statement ${sid} allows ${risky.join(', ')} without requiring an attestation of this enclave (PCR0 ${toHex(own.pcr0)})`);
    }
    if (risky.includes('kms:Decrypt')) grantsUs = true;
  });
  if (!grantsUs) unsafe('no statement lets this enclave decrypt');
}

/** What DescribeKey and ListGrants say about the key (only the fields this check reads). */
export interface SealingKeyFacts {
  metadata: { Arn?: string; KeyState?: string; Origin?: string; MultiRegion?: boolean; KeySpec?: string; KeyUsage?: string };
  grants: Array<{ GrantId?: string; Operations?: string[] }>;
}

/** Grant operations that reach a data key's plaintext or forge one (grants cannot carry attestation conditions). */
const RISKY_GRANT_OPERATIONS = new Set(['Decrypt', 'GenerateDataKey', 'Encrypt', 'ReEncryptFrom', 'ReEncryptTo', 'CreateGrant']);

/**
 * The key itself, beyond its policy: exactly the pinned ARN, enabled, symmetric, with key material
 * made and held by KMS (no imported or external material whose owner could decrypt elsewhere), not
 * multi-Region (a replica in another Region has its own policy and decrypts these ciphertexts), and
 * no grant that gives away what the policy withholds.
 */
export function checkSealingKeyFacts(facts: SealingKeyFacts, pinnedArn: string): void {
  const m = facts.metadata;
  if (m.Arn !== pinnedArn) unsafe(`KMS describes key ${String(m.Arn)}, not the configured ${pinnedArn}`);
  if (m.KeyState !== 'Enabled') unsafe(`the key is ${String(m.KeyState)}, not Enabled`);
  if (m.Origin !== 'AWS_KMS') unsafe(`the key material's origin is ${String(m.Origin)}; only AWS_KMS keys are accepted`);
  if (m.MultiRegion !== false) unsafe('the key is multi-Region (its replicas have policies of their own)');
  if (m.KeySpec !== 'SYMMETRIC_DEFAULT' || m.KeyUsage !== 'ENCRYPT_DECRYPT') unsafe(`the key is ${String(m.KeySpec)}/${String(m.KeyUsage)}, not a symmetric encryption key`);
  for (const g of facts.grants) {
    const risky = (g.Operations ?? []).filter((op) => RISKY_GRANT_OPERATIONS.has(op));
    if (risky.length) unsafe(`grant ${String(g.GrantId).slice(0, 80)} allows ${risky.join(', ')}`);
  }
}
