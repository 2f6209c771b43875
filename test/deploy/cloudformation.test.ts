// deploy/cloudformation.yaml, parsed as CloudFormation reads it (short-form tags) and evaluated
// for given parameters: no inbound rule, an IAM role with only what the README lists, on the
// sealing key only, and a key policy identical to what `cosigner kms-policy` prints (so it passes
// the enclave's boot check), for PCR0, PCR8, PCR3 and named administrators.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkSealingKeyPolicy } from '../../enclave/sealing/key-policy-check.js';
import { fromHex } from '../../shared/bytes.js';
import { expectCosignerError } from '../support/expect-error.js';
import { parseTemplate, TemplateEvaluator } from './cloudformation.js';
import { kmsPolicy, REPO_ROOT, requireTool } from './support.js';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/cosigner-ParentRole-ABC123`;
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const PCR0 = 'a1'.repeat(48);
const PCR8 = 'b2'.repeat(48);
const PCR3 = 'c3'.repeat(48);

const text = readFileSync(join(REPO_ROOT, 'deploy', 'cloudformation.yaml'), 'utf8');
const template = parseTemplate(text);

function stack(parameters: Record<string, string>): TemplateEvaluator {
  return new TemplateEvaluator(template, {
    parameters: { Region: REGION, ...parameters },
    region: REGION,
    account: ACCOUNT,
    resources: { 'ParentRole.Arn': ROLE, 'SealingKey.Arn': KEY, SealingKey: KEY, StateVolume: 'vol-0123456789abcdef0', ParentRole: 'cosigner-ParentRole-ABC123' },
  });
}

/** One spelling for principals: always a list. */
function normalised(policy: unknown): unknown {
  const p = structuredClone(policy) as { Statement: Array<{ Principal: { AWS: string | string[] } }> };
  for (const s of p.Statement) s.Principal.AWS = ([] as string[]).concat(s.Principal.AWS);
  return p;
}

const resources = template.Resources as Record<string, { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('deploy: CloudFormation template', () => {
  it('parses with CloudFormation short-form tags and has the parameters for instance type, Region and measurements', () => {
    expect(template.AWSTemplateFormatVersion).to.equal('2010-09-09');
    expect(Object.keys(template.Parameters)).to.include.members(['InstanceType', 'Region', 'EnclavePcr0', 'EnclavePcr8', 'EnclavePcr3', 'KeyAdministrators']);
    expect(resources.SealingKey!.Properties.KeyPolicy.Statement[2]).to.have.property('Fn::If');
    // The Region parameter must be the stack's own: the enclave image has it built in.
    expect(template.Rules.RegionIsTheStacks.Assertions[0].Assert).to.deep.equal({ 'Fn::Equals': [{ Ref: 'Region' }, { Ref: 'AWS::Region' }] });
    for (const p of ['EnclavePcr0', 'EnclavePcr8', 'EnclavePcr3']) {
      const re = new RegExp(template.Parameters[p].AllowedPattern);
      expect(re.test(PCR0) && re.test('') && !re.test('abcd') && !re.test(PCR0 + '00'), p).to.equal(true);
    }
  });

  it('the instance has enclaves enabled, IMDSv2 only, and a security group with no inbound rule', () => {
    const instances = ofType('AWS::EC2::Instance');
    expect(instances).to.have.length(1);
    const [, instance] = instances[0]!;
    expect(instance.Properties.EnclaveOptions).to.deep.equal({ Enabled: true });
    const lt = resources[instance.Properties.LaunchTemplate.LaunchTemplateId.Ref]!.Properties.LaunchTemplateData;
    expect(lt.MetadataOptions).to.deep.equal({ HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
    expect(ofType('AWS::EC2::SecurityGroupIngress')).to.deep.equal([]);
    const groups = ofType('AWS::EC2::SecurityGroup');
    expect(groups).to.have.length(1);
    const [groupName, group] = groups[0]!;
    expect(group.Properties).to.not.have.property('SecurityGroupIngress');
    expect(instance.Properties.SecurityGroupIds).to.deep.equal([{ Ref: groupName }]);
    // Out: HTTPS only (an empty egress list would mean "everything out").
    expect(group.Properties.SecurityGroupEgress.map((e: Record<string, unknown>) => [e.IpProtocol, e.FromPort, e.ToPort])).to.deep.equal([['tcp', 443, 443]]);
    expect(ofType('AWS::EC2::NetworkInterface')).to.deep.equal([]);
    expect(instance.Properties).to.not.have.property('NetworkInterfaces');
  });

  it('the parent role holds only the README\'s KMS permissions, on the sealing key only, Decrypt/GenerateDataKey only for the attested image', () => {
    const roles = ofType('AWS::IAM::Role');
    expect(roles).to.have.length(1);
    const [roleName, role] = roles[0]!;
    expect(role.Properties).to.not.have.any.keys('Policies', 'ManagedPolicyArns', 'PermissionsBoundary');
    expect(role.Properties.AssumeRolePolicyDocument.Statement).to.deep.equal([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]);
    expect(ofType('AWS::IAM::ManagedPolicy')).to.deep.equal([]);
    expect(ofType('AWS::IAM::User')).to.deep.equal([]);
    const policies = ofType('AWS::IAM::Policy');
    expect(policies).to.have.length(1);
    expect(policies[0]![1].Properties.Roles).to.deep.equal([{ Ref: roleName }]);

    for (const params of [{}, { EnclavePcr0: PCR0 }, { EnclavePcr8: PCR8, EnclavePcr3: PCR3 }] as Array<Record<string, string>>) {
      const doc = stack(params).evaluate(policies[0]![1].Properties.PolicyDocument) as { Statement: Array<{ Effect: string; Action: string[]; Resource: unknown; Condition?: Record<string, Record<string, string>> }> };
      for (const s of doc.Statement) {
        expect(s.Effect).to.equal('Allow');
        expect(s.Resource).to.equal(KEY);
        expect(s.Action.every((a) => ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants', 'kms:Decrypt', 'kms:GenerateDataKey'].includes(a)), s.Action.join()).to.equal(true);
        if (s.Action.some((a) => a === 'kms:Decrypt' || a === 'kms:GenerateDataKey')) {
          const keys = Object.keys(s.Condition?.StringEqualsIgnoreCase ?? {});
          expect(keys.some((k) => /^kms:RecipientAttestation:(ImageSha384|PCR8)$/.test(k)), JSON.stringify(s)).to.equal(true);
        }
      }
      const usable = doc.Statement.filter((s) => s.Action.includes('kms:Decrypt'));
      expect(usable.length).to.equal(Object.keys(params).length > 0 ? 1 : 0);
      // The role's condition is the key policy's, value for value.
      const keyPolicy = stack(params).evaluate(resources.SealingKey!.Properties.KeyPolicy) as { Statement: Array<{ Action: string[]; Condition?: unknown }> };
      const keyEnclave = keyPolicy.Statement.filter((s) => s.Action.includes('kms:Decrypt'));
      expect(usable.map((s) => s.Condition)).to.deep.equal(keyEnclave.map((s) => s.Condition));
    }
  });

  const cases: Array<[string, Record<string, string>, string[]]> = [
    ['PCR0', { EnclavePcr0: PCR0 }, ['--pcr0', PCR0]],
    ['PCR0 and PCR3', { EnclavePcr0: PCR0, EnclavePcr3: PCR3 }, ['--pcr0', PCR0, '--pcr3', PCR3]],
    ['PCR8', { EnclavePcr8: PCR8 }, ['--pcr8', PCR8]],
    ['PCR8, PCR3 and two administrators', { EnclavePcr8: PCR8, EnclavePcr3: PCR3, KeyAdministrators: `arn:aws:iam::${ACCOUNT}:role/a,arn:aws:iam::${ACCOUNT}:role/b` },
      ['--pcr8', PCR8, '--pcr3', PCR3, '--admin', `arn:aws:iam::${ACCOUNT}:role/a`, '--admin', `arn:aws:iam::${ACCOUNT}:role/b`]],
  ];
  for (const [name, params, argv] of cases) {
    it(`the key policy for ${name} is what cosigner kms-policy prints, and passes the enclave's boot check`, async () => {
      const fromStack = stack(params).evaluate(resources.SealingKey!.Properties.KeyPolicy);
      const printed = await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, ...argv);
      expect(printed.code, printed.stderr).to.equal(0);
      expect(normalised(fromStack)).to.deep.equal(normalised(JSON.parse(printed.stdout)));
      const own = { pcr0: fromHex(PCR0), pcr8: fromHex(params.EnclavePcr8 ? PCR8 : '00'.repeat(48)) };
      checkSealingKeyPolicy(JSON.stringify(fromStack), own);
      expectCosignerError(() => checkSealingKeyPolicy(JSON.stringify(fromStack), { pcr0: fromHex('d4'.repeat(48)), pcr8: fromHex('e5'.repeat(48)) }), 'KMS_KEY_POLICY_UNSAFE', /PCR mismatch/);
    });
  }

  it('before a measurement is given, the key admits no one: the enclave refuses it rather than seal', () => {
    const policy = stack({}).evaluate(resources.SealingKey!.Properties.KeyPolicy) as { Statement: Array<{ Sid: string }> };
    expect(policy.Statement.map((s) => s.Sid)).to.deep.equal(['KeyAdministration', 'EnclaveReadsKeyAtBoot']);
    expectCosignerError(() => checkSealingKeyPolicy(JSON.stringify(policy), { pcr0: fromHex(PCR0), pcr8: fromHex('00'.repeat(48)) }), 'KMS_KEY_POLICY_UNSAFE', /no statement lets this enclave decrypt/);
  });

  it('the key and the state volume are kept when the stack goes; the key is single-Region and symmetric', () => {
    const key = resources.SealingKey!;
    expect([key.DeletionPolicy, key.UpdateReplacePolicy]).to.deep.equal(['Retain', 'Retain']);
    expect(key.Properties).to.include({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', MultiRegion: false });
    expect(key.Properties).to.not.have.property('BypassPolicyLockoutSafetyCheck');
    const volume = resources.StateVolume!;
    expect([volume.DeletionPolicy, volume.UpdateReplacePolicy, volume.Properties.Encrypted]).to.deep.equal(['Retain', 'Retain', true]);
  });

  it('the instance set-up writes the same allocator size and vsock-proxy allowlist as deploy/, and passes shellcheck', () => {
    const shellcheck = requireTool('shellcheck');
    const userData = stack({}).evaluate(resources.ParentInstance!.Properties.UserData) as string;
    const allocator = parse(readFileSync(join(REPO_ROOT, 'deploy', 'allocator.yaml'), 'utf8')) as Record<string, number>;
    expect(userData).to.contain(`printf -- '---\\nmemory_mib: ${allocator.memory_mib}\\ncpu_count: ${allocator.cpu_count}\\n' > /etc/nitro_enclaves/allocator.yaml`);
    const allowlist = readFileSync(join(REPO_ROOT, 'deploy', 'vsock-proxy.yaml'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).join('\\n').replace('REGION', REGION);
    expect(userData).to.contain(`printf '${allowlist}\\n' > /etc/nitro_enclaves/vsock-proxy.yaml`);
    expect(userData).to.contain(`COSIGNER_KMS_REGION=${REGION}`);
    const r = spawnSync(shellcheck, ['--shell=bash', '-'], { input: userData, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
  });
});
