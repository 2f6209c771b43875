// The sealing key's policy for a release (README "The sealing key's policy", docs/deploy.md):
// only an enclave whose attestation shows the measured image (PCR0) or signer (PCR8) may decrypt
// or generate data keys, through the parent role's credentials; the administrators manage the key
// but cannot use it. The enclave checks the same rule on every boot
// (enclave/sealing/key-policy-check.ts), so a policy printed here that it would refuse is a bug.
//
// AWS KMS Developer Guide: "Condition keys for AWS Nitro Enclaves" (kms:RecipientAttestation:
// ImageSha384 = PCR0, :PCR<n>), "Default key policy" (the account principal delegates to IAM),
// "Key policies" (the lock-out safety check on PutKeyPolicy).
import { CosignerError } from '../shared/errors.js';

/** What the enclave's statement requires of the attestation document. */
export type MeasurementPin = { pcr: 0; hex: string } | { pcr: 8; hex: string };

export interface KeyPolicyInput {
  /** The AWS account that owns the key (12 digits). */
  account: string;
  /** The parent instance's role: the enclave calls KMS with its credentials. */
  parentRoleArn: string;
  pin: MeasurementPin;
  /** PCR3 (the parent's IAM role, SHA-384 over 48 zero bytes and the role ARN) narrows further. */
  pcr3?: string;
  /** Key administrators; none named means the account principal (IAM policies decide who). */
  admins: string[];
}

/**
 * Key management without use. No Decrypt, GenerateDataKey*, Encrypt, ReEncrypt*, CreateGrant (a
 * grant cannot carry attestation conditions), ReplicateKey or UpdatePrimaryRegion (a replica has a
 * policy of its own and decrypts these ciphertexts), and no wildcards (kms:Create* would include
 * CreateGrant). PutKeyPolicy stays: releases change the policy, and KMS refuses a policy that would
 * lock its own administrators out. Whoever holds it can loosen the policy, so keep it away from the
 * parent role (docs/deploy.md).
 */
export const ADMIN_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:PutKeyPolicy',
  'kms:ListKeyPolicies',
  'kms:ListGrants',
  'kms:RevokeGrant',
  'kms:ListResourceTags',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:GetKeyRotationStatus',
  'kms:EnableKeyRotation',
  'kms:DisableKeyRotation',
  'kms:ListKeyRotations',
  'kms:RotateKeyOnDemand',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:UpdateKeyDescription',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
] as const;

/** What the enclave reads about the key on every boot, before it asks for anything else. */
export const PARENT_READ_ACTIONS = ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants'] as const;

/** What the enclave does with the key, each call with a Recipient attestation document. */
export const ENCLAVE_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'] as const;

const ACCOUNT_RE = /^\d{12}$/;
/** arn:<partition>:iam::<account>:role/<optional path/>name (IAM's character set for names). */
const ROLE_ARN_RE = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/([\w+=,.@/-]{1,512})$/;
const ADMIN_ARN_RE = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(root|(role|user)\/[\w+=,.@/-]{1,512})$/;
const PCR_RE = /^[0-9a-fA-F]{96}$/;

function invalid(message: string): never {
  throw new CosignerError('CONFIG_INVALID', message);
}

/** A PCR as KMS compares it: 48 bytes of lowercase hex, and not all zero. */
export function normalisePcr(name: string, hex: string): string {
  if (!PCR_RE.test(hex)) invalid(`${name} must be 96 hex digits (a SHA-384 measurement), got ${JSON.stringify(hex.slice(0, 120))}`);
  if (/^0+$/.test(hex)) {
    invalid(name === 'PCR8'
      ? 'PCR8 is all zero: the image is not signed, and a zero PCR8 matches every unsigned image; pin PCR0 instead'
      : `${name} is all zero: that is what a debug-mode enclave attests, and any debug enclave would match`);
  }
  return hex.toLowerCase();
}

export function buildKeyPolicy(input: KeyPolicyInput): { Version: string; Statement: object[] } {
  if (!ACCOUNT_RE.test(input.account)) invalid(`--account must be a 12-digit AWS account id, got ${JSON.stringify(input.account.slice(0, 40))}`);
  const role = ROLE_ARN_RE.exec(input.parentRoleArn);
  if (!role) invalid(`--parent-role must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got ${JSON.stringify(input.parentRoleArn.slice(0, 200))}`);
  const partition = role[1]!;
  if (role[2] !== input.account) invalid(`--parent-role is in account ${role[2]}, not in --account ${input.account}`);
  const admins = [...new Set(input.admins)];
  for (const a of admins) {
    const m = ADMIN_ARN_RE.exec(a);
    if (!m) invalid(`--admin must be an IAM role, user or account root ARN, got ${JSON.stringify(a.slice(0, 200))}`);
    if (m[1] !== partition) invalid(`--admin ${a} is not in partition ${partition}`);
    // The parent is assumed compromised: as an administrator it could rewrite the policy.
    if (a === input.parentRoleArn) invalid('the parent role must not administer the sealing key (it could rewrite the policy and read data keys)');
  }
  const condition: Record<string, string> = input.pin.pcr === 0
    ? { 'kms:RecipientAttestation:ImageSha384': normalisePcr('PCR0', input.pin.hex) }
    : { 'kms:RecipientAttestation:PCR8': normalisePcr('PCR8', input.pin.hex) };
  if (input.pcr3 !== undefined) condition['kms:RecipientAttestation:PCR3'] = normalisePcr('PCR3', input.pcr3);
  const principal = (arns: string[]) => ({ AWS: arns.length === 1 ? arns[0]! : arns });
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'KeyAdministration',
        Effect: 'Allow',
        Principal: principal(admins.length ? admins : [`arn:${partition}:iam::${input.account}:root`]),
        Action: [...ADMIN_ACTIONS],
        Resource: '*',
      },
      {
        Sid: 'EnclaveReadsKeyAtBoot',
        Effect: 'Allow',
        Principal: principal([input.parentRoleArn]),
        Action: [...PARENT_READ_ACTIONS],
        Resource: '*',
      },
      {
        Sid: input.pin.pcr === 0 ? 'EnclaveImageOnly' : 'EnclaveSignerOnly',
        Effect: 'Allow',
        Principal: principal([input.parentRoleArn]),
        Action: [...ENCLAVE_ACTIONS],
        Resource: '*',
        // A request without a Recipient has no such key, so the condition fails: the parent's
        // credentials alone never reach a plaintext data key.
        Condition: { StringEqualsIgnoreCase: condition },
      },
    ],
  };
}

/** The PCRs `nitro-cli build-enclave` prints (and scripts/build-eif.sh saves) as JSON. */
export interface EifMeasurements {
  PCR0: string;
  PCR1: string;
  PCR2: string;
  PCR8?: string;
}

export function parseMeasurements(text: string, source: string): EifMeasurements {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    invalid(`${source}: not JSON (expected the output of nitro-cli build-enclave)`);
  }
  const m = (doc as { Measurements?: unknown } | null)?.Measurements;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) invalid(`${source}: no "Measurements" object (expected the output of nitro-cli build-enclave)`);
  const r = m as Record<string, unknown>;
  const out: Partial<EifMeasurements> = {};
  for (const k of ['PCR0', 'PCR1', 'PCR2', 'PCR8'] as const) {
    const v = r[k];
    if (v === undefined && k === 'PCR8') continue;
    if (typeof v !== 'string' || !PCR_RE.test(v)) invalid(`${source}: Measurements.${k} must be 96 hex digits`);
    out[k] = v.toLowerCase();
  }
  return out as EifMeasurements;
}
