import { expect } from 'chai';
import { checkSealingKeyFacts, checkSealingKeyPolicy } from '../../enclave/sealing/key-policy-check.js';
import { toHex } from '../../shared/bytes.js';
import { LocalStack } from '../../scripts/stack.js';
import { expectCosignerError } from '../support/expect-error.js';

const pcr0 = new Uint8Array(48).fill(0xa1);
const pcr8 = new Uint8Array(48).fill(0xb2);
const unsigned = { pcr0, pcr8: new Uint8Array(48) };
const signed = { pcr0, pcr8 };
const ROOT = { AWS: 'arn:aws:iam::111122223333:root' };

const policy = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const enclaveOnly = (cond: object, Action: string | string[] = ['kms:Decrypt', 'kms:GenerateDataKey']) => ({ Sid: 'Enclave', Effect: 'Allow', Principal: ROOT, Action, Resource: '*', Condition: cond });
const admin = { Sid: 'Admin', Effect: 'Allow', Principal: ROOT, Action: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy'], Resource: '*' };

describe('enclave: sealing key policy check', () => {
  it('accepts the policy the local stack and the docs set: decryption only for this image (PCR0), or this signer (PCR8)', () => {
    checkSealingKeyPolicy(LocalStack.keyPolicy(toHex(pcr0)), unsigned);
    checkSealingKeyPolicy(policy(admin, enclaveOnly({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': toHex(pcr0).toUpperCase() } })), unsigned);
    checkSealingKeyPolicy(policy(admin, enclaveOnly({ StringEquals: { 'kms:RecipientAttestation:PCR8': toHex(pcr8) } })), signed);
    // Deny statements only narrow access.
    checkSealingKeyPolicy(policy(admin, enclaveOnly({ StringEquals: { 'kms:RecipientAttestation:PCR0': toHex(pcr0) } }), { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }), unsigned);
  });

  it('refuses a key that lets anyone decrypt without attesting as this enclave', () => {
    const cases: Array<[string, object[]]> = [
      ['the default key policy (account kms:*)', [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: ROOT, Action: 'kms:*', Resource: '*' }]],
      ['an unconditioned Decrypt', [admin, { Effect: 'Allow', Principal: ROOT, Action: 'kms:Decrypt', Resource: '*' }]],
      ['a wildcard Decrypt*', [admin, { Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt*', Resource: '*' }]],
      ['ReEncryptFrom', [admin, enclaveOnly({ StringEquals: { 'kms:RecipientAttestation:ImageSha384': toHex(pcr0) } }), { Effect: 'Allow', Principal: ROOT, Action: 'kms:ReEncrypt*', Resource: '*' }]],
      ['an unconditioned GenerateDataKey (forged state)', [admin, enclaveOnly({ StringEquals: { 'kms:RecipientAttestation:ImageSha384': toHex(pcr0) } }), { Effect: 'Allow', Principal: ROOT, Action: 'kms:GenerateDataKey', Resource: '*' }]],
      ['an unconditioned Encrypt (forged state)', [admin, enclaveOnly({ StringEquals: { 'kms:RecipientAttestation:ImageSha384': toHex(pcr0) } }), { Effect: 'Allow', Principal: ROOT, Action: ['kms:Encrypt', 'kms:DescribeKey'], Resource: '*' }]],
      ['ReEncryptTo (forged state)', [admin, enclaveOnly({ StringEquals: { 'kms:RecipientAttestation:ImageSha384': toHex(pcr0) } }), { Effect: 'Allow', Principal: ROOT, Action: 'kms:ReEncryptTo', Resource: '*' }]],
      ['CreateGrant', [admin, enclaveOnly({ StringEquals: { 'kms:RecipientAttestation:ImageSha384': toHex(pcr0) } }), { Effect: 'Allow', Principal: ROOT, Action: 'kms:CreateGrant', Resource: '*' }]],
      ['a condition on something else only', [admin, enclaveOnly({ StringEquals: { 'kms:RecipientAttestation:PCR3': 'ab' } })]],
      ['a PCR8 pin on an unsigned image (zero PCR8 matches any unsigned image)', [admin, enclaveOnly({ StringEquals: { 'kms:RecipientAttestation:PCR8': toHex(new Uint8Array(48)) } })]],
      ['NotAction', [admin, { Effect: 'Allow', Principal: ROOT, NotAction: 'kms:Encrypt', Resource: '*' }]],
      ['two allowed images', [admin, enclaveOnly({ StringEquals: { 'kms:RecipientAttestation:ImageSha384': [toHex(pcr0), 'ab'.repeat(48)] } })]],
      ['an operator it does not understand', [admin, enclaveOnly({ StringLike: { 'kms:RecipientAttestation:ImageSha384': '*' } })]],
      ['no statement for the enclave at all', [admin]],
    ];
    const accepted = cases.filter(([, statements]) => {
      try {
        checkSealingKeyPolicy(policy(...statements), unsigned);
        return true;
      } catch (e) {
        expectCosignerError(() => { throw e; }, 'KMS_KEY_POLICY_UNSAFE');
        return false;
      }
    });
    expect(accepted.map(([name]) => name)).to.deep.equal([]);
    expectCosignerError(() => checkSealingKeyPolicy('not json', unsigned), 'KMS_KEY_POLICY_UNSAFE', /not JSON/);
  });

  it('names the PCR mismatch when the policy is for another image', () => {
    const other = 'cd'.repeat(48);
    const e = expectCosignerError(
      () => checkSealingKeyPolicy(LocalStack.keyPolicy(other), unsigned),
      'KMS_KEY_POLICY_UNSAFE',
    );
    expect(e.message).to.contain(`PCR0 ${other}`);
    expect(e.message).to.contain(`this enclave measures PCR0 ${toHex(pcr0)}`);
    expect(e.message).to.contain('PCR mismatch');
  });
});

describe('enclave: sealing key facts (DescribeKey, ListGrants)', () => {
  const arn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const good = { Arn: arn, KeyState: 'Enabled', Origin: 'AWS_KMS', MultiRegion: false, KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' };

  it('accepts an enabled, single-Region, KMS-made symmetric key with harmless grants', () => {
    checkSealingKeyFacts({ metadata: good, grants: [{ GrantId: 'g', Operations: ['DescribeKey'] }] }, arn);
  });

  it('refuses another key, a disabled, imported, external, multi-Region or asymmetric key, and risky grants', () => {
    const bad: Array<[string, Parameters<typeof checkSealingKeyFacts>[0]]> = [
      ['other ARN', { metadata: { ...good, Arn: arn.replace('1234abcd', 'ffffffff') }, grants: [] }],
      ['disabled', { metadata: { ...good, KeyState: 'Disabled' }, grants: [] }],
      ['imported material', { metadata: { ...good, Origin: 'EXTERNAL' }, grants: [] }],
      ['external key store', { metadata: { ...good, Origin: 'EXTERNAL_KEY_STORE' }, grants: [] }],
      ['multi-Region', { metadata: { ...good, MultiRegion: true }, grants: [] }],
      ['MultiRegion missing', { metadata: { ...good, MultiRegion: undefined }, grants: [] }],
      ['asymmetric', { metadata: { ...good, KeySpec: 'RSA_2048' }, grants: [] }],
      ['Decrypt grant', { metadata: good, grants: [{ GrantId: 'g1', Operations: ['Decrypt'] }] }],
      ['GenerateDataKey grant', { metadata: good, grants: [{ GrantId: 'g2', Operations: ['DescribeKey', 'GenerateDataKey'] }] }],
    ];
    const accepted = bad.filter(([, facts]) => {
      try {
        checkSealingKeyFacts(facts, arn);
        return true;
      } catch (e) {
        expectCosignerError(() => { throw e; }, 'KMS_KEY_POLICY_UNSAFE');
        return false;
      }
    });
    expect(accepted.map(([name]) => name)).to.deep.equal([]);
  });
});
