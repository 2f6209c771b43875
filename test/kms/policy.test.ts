import { expect } from 'chai';
import { evaluateKeyPolicy, parseKeyPolicy, parseIdentityPolicy, defaultKeyPolicy, type IdentityPolicy } from '../../emulators/kms/policy.js';
import { KmsError } from '../../emulators/kms/errors.js';

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/parent`;
const pcr = (b: number) => new Uint8Array(48).fill(b);
const hex = (b: number) => Buffer.from(pcr(b)).toString('hex');
const ctx = (action: string, pcrs: Record<number, number> | null, principalArn = ROLE) => ({
  action, principalArn, account: ACCOUNT,
  recipient: pcrs ? { pcrs: new Map(Object.entries(pcrs).map(([i, v]) => [Number(i), pcr(v)])) } : null,
});

describe('KMS emulator key policy evaluation', () => {
  it('default policy: the account principal lets IAM decide (identity policy, or the root user)', () => {
    const p = parseKeyPolicy(defaultKeyPolicy(ACCOUNT));
    const allowAll = { Statement: [{ Effect: 'Allow' as const, Action: 'kms:*', Resource: '*' }] };
    expect(evaluateKeyPolicy(p, { ...ctx('kms:Decrypt', null), identityPolicy: allowAll }).allowed).to.equal(true);
    const none = evaluateKeyPolicy(p, ctx('kms:Decrypt', null));
    expect(none.allowed, 'a role with no identity policy gets nothing from a root-delegating statement').to.equal(false);
    expect(none.reason).to.match(/delegates to IAM, and no identity-based policy of .*role\/parent allows kms:Decrypt/);
    expect(evaluateKeyPolicy(p, ctx('kms:Decrypt', null, `arn:aws:iam::${ACCOUNT}:root`)).allowed, 'the root user').to.equal(true);
    expect(evaluateKeyPolicy(p, { ...ctx('kms:Decrypt', null), identityPolicy: allowAll, account: '999999999999' }).allowed).to.equal(false);
  });

  it('identity policies: a role named in the key policy needs nothing from IAM; an explicit identity Deny wins; Resource is matched', () => {
    const p = parseKeyPolicy(JSON.stringify({
      Statement: [
        { Sid: 'Admin', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ['kms:PutKeyPolicy', 'kms:GetKeyPolicy'], Resource: '*' },
        { Sid: 'Role', Effect: 'Allow', Principal: { AWS: ROLE }, Action: ['kms:DescribeKey'], Resource: '*' },
      ],
    }));
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234`;
    const readOnly = { Statement: [{ Effect: 'Allow' as const, Action: ['kms:GetKeyPolicy', 'kms:Describe*'], Resource: key }] };
    const c = (action: string, identityPolicy: IdentityPolicy | null, resource = key) => ({ ...ctx(action, null), identityPolicy, resource });
    expect(evaluateKeyPolicy(p, c('kms:DescribeKey', null)).allowed).to.equal(true);
    expect(evaluateKeyPolicy(p, c('kms:GetKeyPolicy', readOnly)).allowed).to.equal(true);
    expect(evaluateKeyPolicy(p, c('kms:PutKeyPolicy', readOnly)).allowed, 'IAM does not allow PutKeyPolicy').to.equal(false);
    expect(evaluateKeyPolicy(p, c('kms:GetKeyPolicy', readOnly, `arn:aws:kms:us-east-1:${ACCOUNT}:key/other`)).allowed, 'another key').to.equal(false);
    const denyDescribe = { Statement: [{ Effect: 'Deny' as const, Action: 'kms:DescribeKey', Resource: '*' }] };
    const d = evaluateKeyPolicy(p, c('kms:DescribeKey', denyDescribe));
    expect(d.allowed).to.equal(false);
    expect(d.reason).to.contain('explicit deny in the identity policy');
    expect(() => parseIdentityPolicy({ Statement: [{ Effect: 'Allow', Action: 'kms:*', Condition: {} }] })).to.throw(KmsError, /Unsupported identity policy element Condition/);
  });

  it('Allow with conditions; explicit Deny wins; actions match with wildcards; principals must match', () => {
    const p = parseKeyPolicy(JSON.stringify({
      Statement: [
        { Sid: 'A', Effect: 'Allow', Principal: { AWS: [ROLE] }, Action: 'kms:Generate*', Resource: '*', Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': hex(0xab).toUpperCase() } } },
        { Sid: 'D', Effect: 'Deny', Principal: '*', Action: '*', Condition: { StringEquals: { 'kms:RecipientAttestation:PCR1': hex(0x66) } } },
      ],
    }));
    expect(evaluateKeyPolicy(p, ctx('kms:GenerateDataKey', { 0: 0xab, 1: 0 })).allowed).to.equal(true);
    expect(evaluateKeyPolicy(p, ctx('kms:GenerateRandom', { 0: 0xab, 1: 0 })).allowed).to.equal(true);
    expect(evaluateKeyPolicy(p, ctx('kms:Decrypt', { 0: 0xab, 1: 0 })).allowed).to.equal(false);
    const denied = evaluateKeyPolicy(p, ctx('kms:GenerateDataKey', { 0: 0xab, 1: 0x66 }));
    expect(denied.allowed).to.equal(false);
    expect(denied.reason).to.contain('explicit deny');
    expect(evaluateKeyPolicy(p, ctx('kms:GenerateDataKey', { 0: 0xab }, `arn:aws:iam::${ACCOUNT}:role/other`)).allowed).to.equal(false);
    const wrong = evaluateKeyPolicy(p, ctx('kms:GenerateDataKey', { 0: 0xac }));
    expect(wrong.allowed).to.equal(false);
    expect(wrong.reason).to.contain(hex(0xac)).and.contain(hex(0xab).toUpperCase());
    const none = evaluateKeyPolicy(p, ctx('kms:GenerateDataKey', null));
    expect(none.reason).to.contain('no Recipient');
  });

  it('StringEquals is case-sensitive, StringEqualsIgnoreCase is not', () => {
    const mk = (op: string) => parseKeyPolicy(JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Condition: { [op]: { 'kms:RecipientAttestation:PCR0': hex(0xab).toUpperCase() } } }] }));
    expect(evaluateKeyPolicy(mk('StringEquals'), ctx('kms:Decrypt', { 0: 0xab })).allowed).to.equal(false);
    expect(evaluateKeyPolicy(mk('StringEqualsIgnoreCase'), ctx('kms:Decrypt', { 0: 0xab })).allowed).to.equal(true);
  });

  it('refuses what it does not understand, at parse time', () => {
    const bad = [
      '{}',
      JSON.stringify({ Statement: [{ Effect: 'Maybe', Principal: '*', Action: 'kms:Decrypt' }] }),
      JSON.stringify({ Statement: [{ Effect: 'Allow', NotPrincipal: '*', Principal: '*', Action: 'kms:Decrypt' }] }),
      JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject' }] }),
      JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Condition: { StringLike: { 'kms:RecipientAttestation:PCR0': '*' } } }] }),
      JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Condition: { StringEquals: { 'kms:RecipientAttestation:PCR32': 'x' } } }] }),
    ];
    for (const b of bad) {
      expect(() => parseKeyPolicy(b), b).to.throw(KmsError).with.property('type', 'MalformedPolicyDocumentException');
    }
  });
});
