// `cosigner kms-policy`: what it prints passes the enclave's own boot-time check for the measured
// image and is refused for any other; bad arguments are usage errors (exit 2), never a policy.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_ACTIONS, buildKeyPolicy } from '../../parent/kms-policy.js';
import { checkSealingKeyPolicy } from '../../enclave/sealing/key-policy-check.js';
import { fromHex } from '../../shared/bytes.js';
import { expectCosignerError } from '../support/expect-error.js';
import { kmsPolicy } from './support.js';

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/cosigner-parent`;
const PCR0 = 'a1'.repeat(48);
const PCR8 = 'b2'.repeat(48);
const PCR3 = 'c3'.repeat(48);
const OTHER = 'd4'.repeat(48);
const ZERO = '00'.repeat(48);

const own = (pcr0: string, pcr8 = ZERO) => ({ pcr0: fromHex(pcr0), pcr8: fromHex(pcr8) });

/** IAM action matching, as KMS does it: case-insensitive with * and ? wildcards. */
function covers(pattern: string, action: string): boolean {
  return new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i').test(action);
}

type Statement = { Sid: string; Effect: string; Principal: { AWS: string | string[] }; Action: string[]; Condition?: Record<string, Record<string, string>> };

describe('deploy: cosigner kms-policy', () => {
  it('prints a policy the enclave accepts for its own PCR0, and refuses for another image (PCR mismatch)', async () => {
    const r = await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', PCR0.toUpperCase());
    expect(r.code, r.stderr).to.equal(0);
    checkSealingKeyPolicy(r.stdout, own(PCR0));
    checkSealingKeyPolicy(r.stdout, own(PCR0, PCR8)); // signed or not: PCR0 decides
    const e = expectCosignerError(() => checkSealingKeyPolicy(r.stdout, own(OTHER)), 'KMS_KEY_POLICY_UNSAFE');
    expect(e.message).to.contain(`lets another enclave image decrypt (PCR0 ${PCR0})`);
    expect(e.message).to.contain(`this enclave measures PCR0 ${OTHER} — a PCR mismatch`);

    const other = await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', OTHER);
    expectCosignerError(() => checkSealingKeyPolicy(other.stdout, own(PCR0)), 'KMS_KEY_POLICY_UNSAFE', /PCR mismatch/);
  });

  it('PCR8 (signed image): accepted by any image of that signer, refused by another signer and by an unsigned image', async () => {
    const r = await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, '--pcr8', PCR8);
    expect(r.code, r.stderr).to.equal(0);
    checkSealingKeyPolicy(r.stdout, own(PCR0, PCR8));
    checkSealingKeyPolicy(r.stdout, own(OTHER, PCR8));
    expectCosignerError(() => checkSealingKeyPolicy(r.stdout, own(PCR0, OTHER)), 'KMS_KEY_POLICY_UNSAFE', /PCR8 b2b2/);
    expectCosignerError(() => checkSealingKeyPolicy(r.stdout, own(PCR0)), 'KMS_KEY_POLICY_UNSAFE', /PCR8 b2b2/);
  });

  it('lets only the attested enclave decrypt and make data keys; administrators manage without use; the parent only reads', async () => {
    const admin = `arn:aws:iam::${ACCOUNT}:role/key-admin`;
    const r = await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', PCR0, '--pcr3', PCR3, '--admin', admin);
    expect(r.code, r.stderr).to.equal(0);
    checkSealingKeyPolicy(r.stdout, own(PCR0));
    const statements = (JSON.parse(r.stdout) as { Statement: Statement[] }).Statement;
    expect(statements.every((s) => s.Effect === 'Allow')).to.equal(true);
    const byPrincipal = (arn: string) => statements.filter((s) => ([] as string[]).concat(s.Principal.AWS).includes(arn));

    // Nothing anyone is given outside the attested statement reaches a plaintext or forges state.
    const usage = ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:GenerateDataKeyPair', 'kms:Encrypt',
      'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:CreateGrant', 'kms:ReplicateKey', 'kms:UpdatePrimaryRegion', 'kms:ImportKeyMaterial'];
    for (const s of statements.filter((x) => x.Condition === undefined)) {
      for (const a of s.Action) {
        expect(a, `${s.Sid} uses a wildcard`).to.not.match(/[*?]/);
        expect(usage.filter((u) => covers(a, u)), `${s.Sid}: ${a}`).to.deep.equal([]);
      }
    }
    const [adminStatement] = byPrincipal(admin);
    expect(byPrincipal(admin)).to.have.length(1);
    expect(adminStatement!.Action).to.include.members(['kms:PutKeyPolicy', 'kms:DisableKey', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion']);
    // The parent role: the three reads the enclave does at boot, and Decrypt/GenerateDataKey only
    // with the image's PCR0 and the role's PCR3 attested.
    const parent = byPrincipal(ROLE);
    expect(parent.map((s) => [s.Action, s.Condition])).to.deep.equal([
      [['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants'], undefined],
      [['kms:Decrypt', 'kms:GenerateDataKey'], { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': PCR0, 'kms:RecipientAttestation:PCR3': PCR3 } }],
    ]);
    expect(statements.flatMap((s) => ([] as string[]).concat(s.Principal.AWS)).sort()).to.deep.equal([admin, ROLE, ROLE].sort());
  });

  it('without --admin, the account principal administers (IAM policies decide who), still without use', async () => {
    const r = await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', PCR0);
    const [first] = (JSON.parse(r.stdout) as { Statement: Statement[] }).Statement;
    expect(first!.Principal.AWS).to.equal(`arn:aws:iam::${ACCOUNT}:root`);
    expect(first!.Action).to.deep.equal([...ADMIN_ACTIONS]);
    // A policy of administration alone gives the enclave nothing: the boot check says so.
    const adminOnly = JSON.stringify({ Version: '2012-10-17', Statement: [first] });
    expectCosignerError(() => checkSealingKeyPolicy(adminOnly, own(PCR0)), 'KMS_KEY_POLICY_UNSAFE', /no statement lets this enclave decrypt/);
  });

  it('reads the measurements JSON that build-eif.sh writes, pinning PCR0 by default or PCR8 when asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kms-policy-'));
    try {
      const signed = join(dir, 'signed.json');
      const unsigned = join(dir, 'unsigned.json');
      writeFileSync(signed, JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0, PCR1: 'e5'.repeat(48), PCR2: 'f6'.repeat(48), PCR8 } }));
      writeFileSync(unsigned, JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0, PCR1: 'e5'.repeat(48), PCR2: 'f6'.repeat(48) } }));
      const byPcr0 = await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, '--measurements', unsigned);
      expect(byPcr0.code, byPcr0.stderr).to.equal(0);
      expect(byPcr0.stdout).to.equal((await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', PCR0)).stdout);
      const byPcr8 = await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, '--measurements', signed, '--pin', 'pcr8');
      expect(byPcr8.stdout).to.equal((await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, '--pcr8', PCR8)).stdout);
      const noPcr8 = await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, '--measurements', unsigned, '--pin', 'pcr8');
      expect(noPcr8.code).to.equal(2);
      expect(noPcr8.stderr).to.match(/has no PCR8: the EIF is not signed/);
      writeFileSync(join(dir, 'bad.json'), '{"Measurements": {"PCR0": "abc"}}');
      const bad = await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, '--measurements', join(dir, 'bad.json'));
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.match(/Measurements\.PCR0 must be 96 hex digits/);
      const missing = await kmsPolicy('--account', ACCOUNT, '--parent-role', ROLE, '--measurements', join(dir, 'nope.json'));
      expect(missing.stderr).to.match(/cannot read .*nope\.json: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses, with a usage error and no policy, what would make a weak or broken policy', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--parent-role', ROLE, '--pcr0', PCR0], /--account and --parent-role are required/],
      [['--account', '12345', '--parent-role', ROLE, '--pcr0', PCR0], /12-digit AWS account id/],
      [['--account', ACCOUNT, '--parent-role', 'arn:aws:iam::111122223333:user/bob', '--pcr0', PCR0], /must be an IAM role ARN/],
      [['--account', ACCOUNT, '--parent-role', 'arn:aws:iam::444455556666:role/cosigner-parent', '--pcr0', PCR0], /in account 444455556666, not in --account/],
      [['--account', ACCOUNT, '--parent-role', ROLE], /exactly one of --pcr0, --pcr8 or --measurements/],
      [['--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', PCR0, '--pcr8', PCR8], /exactly one of/],
      [['--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', 'abcd'], /PCR0 must be 96 hex digits/],
      [['--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', ZERO], /all zero: that is what a debug-mode enclave attests/],
      [['--account', ACCOUNT, '--parent-role', ROLE, '--pcr8', ZERO], /PCR8 is all zero: the image is not signed/],
      [['--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', PCR0, '--pcr3', 'xyz'], /PCR3 must be 96 hex digits/],
      [['--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', PCR0, '--admin', ROLE], /parent role must not administer/],
      [['--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', PCR0, '--admin', 'alice'], /--admin must be an IAM role, user or account root ARN/],
      [['--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', PCR0, '--pin', 'pcr8'], /--pin goes with --measurements/],
      [['--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', PCR0, '--bogus'], /Unknown option '--bogus'/],
      [['--account', ACCOUNT, '--parent-role', ROLE, '--pcr0', PCR0, 'extra'], /unexpected argument "extra"/],
    ];
    for (const [argv, message] of cases) {
      const r = await kmsPolicy(...argv);
      expect(r.code, argv.join(' ')).to.equal(2);
      expect(r.stdout, argv.join(' ')).to.equal('');
      expect(r.stderr, argv.join(' ')).to.match(message);
      expect(r.stderr).to.contain('usage: cosigner kms-policy');
    }
    const help = await kmsPolicy('--help');
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/^usage: cosigner kms-policy --account/);
    expectCosignerError(() => buildKeyPolicy({ account: ACCOUNT, parentRoleArn: ROLE, pin: { pcr: 0, hex: PCR0 }, admins: ['arn:aws-cn:iam::111122223333:root'] }), 'CONFIG_INVALID', /not in partition aws/);
  });
});
