// The operator's path on the local stack (real processes: NSM and KMS emulators, enclave, parent):
// `cosigner kms-policy` for the enclave's PCR0, put on the sealing key, and the enclave initialises
// and later unseals under it; a policy printed for another image makes the enclave refuse to boot
// (KMS_KEY_POLICY_UNSAFE, naming the mismatch) and leaves the sealed file as it was.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { ADMIN_ROLE, LocalStack, PARENT_ROLE } from '../../scripts/stack.js';
import { REPO_ROOT } from './support.js';
import { freePort } from '../support/net.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const ACCOUNT = '111122223333';


/** The operator CLI as a process, as run on the instance. */
function cosignerKmsPolicy(pcr0: string): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'parent/cli.ts', 'kms-policy', '--account', ACCOUNT, '--parent-role', PARENT_ROLE, '--admin', ADMIN_ROLE, '--pcr0', pcr0], {
    cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000,
  });
  expect(r.status, r.stderr).to.equal(0);
  return r.stdout;
}

describe('deploy: the generated key policy on the local stack (enclave and parent processes)', function () {
  this.timeout(300_000);
  let work: string;
  let stack: LocalStack;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'cosigner-deploy-'));
    stack = new LocalStack({ root: REPO_ROOT, workDir: work, kmsPort: await freePort() });
    await stack.startNsm();
    await stack.startKms();
    await stack.ensureKey();
  });

  after(async () => {
    await stack?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    if (stack) rmSync(stack.socketDir, { recursive: true, force: true });
  });

  async function putPolicy(policy: string): Promise<void> {
    const kms = stack.kmsAdmin();
    try {
      await kms.send(new PutKeyPolicyCommand({ KeyId: stack.keyId, PolicyName: 'default', Policy: policy }));
    } finally {
      kms.destroy();
    }
  }

  async function boot(): Promise<Record<string, unknown>> {
    const from = stack.lineCount('parent');
    const line = await stack.waitFor('parent', /"msg":"ready"|enclave boot failed/, 120_000, from);
    return JSON.parse(line) as Record<string, unknown>;
  }

  it('initialises and then unseals under the policy for its PCR0; refuses the policy for another PCR0 and keeps the file', async () => {
    await putPolicy(cosignerKmsPolicy(stack.pcr0));
    stack.startEnclave();
    stack.startParent();
    const first = await boot();
    expect(first.msg).to.equal('ready');
    expect(first.outcome).to.equal('initialised');
    const stored = readFileSync(stack.sealedFile);
    // The parent's own credentials cannot rewrite the policy it runs under.
    const asParent = stack.kmsClientAs(stack.credentials());
    try {
      const e = await asParent.send(new PutKeyPolicyCommand({ KeyId: stack.keyId, PolicyName: 'default', Policy: cosignerKmsPolicy('ab'.repeat(48)) })).then(() => null, (err: Error) => err);
      expect(e?.name).to.equal('AccessDeniedException');
    } finally {
      asParent.destroy();
    }

    await stack.stopProcess('enclave', 'SIGKILL');
    stack.startEnclave();
    const second = await boot();
    expect(second.outcome).to.equal('unsealed');
    expect(second.identityPublicKey).to.equal(first.identityPublicKey);

    await stack.stopProcess('parent');
    await stack.stopProcess('enclave');
    const other = 'ab'.repeat(48);
    await putPolicy(cosignerKmsPolicy(other));
    stack.startEnclave();
    stack.startParent();
    const refused = await boot();
    expect(String(refused.msg)).to.match(/enclave boot failed: KMS_KEY_POLICY_UNSAFE/);
    expect(String(refused.msg)).to.contain(`lets another enclave image decrypt (PCR0 ${other}); this enclave measures PCR0 ${stack.pcr0} — a PCR mismatch`);
    expect(readFileSync(stack.sealedFile).equals(stored)).to.equal(true);
  });
});
