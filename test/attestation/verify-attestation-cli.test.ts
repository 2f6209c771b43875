// Spawns the real operator CLI (tsx parent/cli.ts) against the recorded documents.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildChain } from './chain-builder.js';
import { fixturePath, readFixtureDocument, REPO_ROOT } from '../support/fixtures.js';

function cosigner(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'parent/cli.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cosigner verify-attestation (CLI)', function () {
  this.timeout(60_000);
  const prod = () => fixturePath('nitro', 'nitrite-production.b64');
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'verify-cli-'));
  });
  after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  it('verifies the production document at its timestamp and prints what it attests', () => {
    const r = cosigner('verify-attestation', prod(), '--at', '2024-09-07T14:37:39.545Z');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/module id:\s+i-0a22e5c5f24d22174-enc0191cceb4289903f/);
    expect(r.stdout).to.match(/timestamp:\s+2024-09-07T14:37:39\.545Z/);
    expect(r.stdout).to.match(/PCR0\s+e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a/);
    expect(r.stdout).to.match(/nonce:\s+1024 bytes/);
    expect(r.stdout).to.match(/sha256=641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b/);
    expect(r.stdout).to.match(/verdict:\s+VERIFIED/);
  });

  it('reads raw CBOR as well as base64, and --at as epoch milliseconds', () => {
    const raw = join(tmp, 'doc.cbor');
    writeFileSync(raw, readFixtureDocument('production'));
    const r = cosigner('verify-attestation', raw, '--at', '1725719859545');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/VERIFIED/);
  });

  it('fails now, because the leaf certificate has expired', () => {
    const r = cosigner('verify-attestation', prod());
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/certificate: expired 2024-09-07T17:37:39\.000Z/);
    expect(r.stdout).to.match(/NOT VERIFIED/);
  });

  it('fails when an expected PCR differs, naming it', () => {
    const r = cosigner('verify-attestation', prod(), '--at', '2024-09-07T14:37:39.545Z', '--expect-pcr', `0=${'00'.repeat(48)}`);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/PCR0 does not match/);
  });

  it('accepts the debug document only with --allow-debug', () => {
    const debug = fixturePath('nitro', 'nitrite-debug.b64');
    expect(cosigner('verify-attestation', debug, '--at', '1725719886508').code).to.equal(1);
    const r = cosigner('verify-attestation', debug, '--at', '1725719886508', '--allow-debug');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/debug mode:\s+yes/);
  });

  it('fails against another root given with --root', () => {
    const pem = join(tmp, 'other.pem');
    writeFileSync(pem, `-----BEGIN CERTIFICATE-----\n${Buffer.from(buildChain().root.der).toString('base64')}\n-----END CERTIFICATE-----\n`);
    const r = cosigner('verify-attestation', prod(), '--at', '1725719859545', '--root', pem);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/cabundle\[0\] is not the pinned root/);
  });

  it('exits 2 on usage errors and unknown commands', () => {
    expect(cosigner('verify-attestation').code).to.equal(2);
    expect(cosigner('verify-attestation', prod(), '--expect-pcr', 'x').code).to.equal(2);
    const r = cosigner('no-such-command');
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/unknown command/);
  });
});
