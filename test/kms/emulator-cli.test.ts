// The KMS emulator as a program: started from its CLI, reached by the real client, stopped by pid.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { GenerateRandomCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { selfSignedTlsCertificate } from '../../emulators/kms/tls-cert.js';
import { REPO_ROOT as repoRoot } from '../support/fixtures.js';
import { PARENT_CREDENTIAL, adminClient, tempDir } from './support.js';

describe('KMS emulator CLI', () => {
  let dir: ReturnType<typeof tempDir>;
  let child: ChildProcess | null = null;
  before(() => { dir = tempDir('kms-cli-'); });
  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    dir.remove();
  });

  it('starts, prints its URL, serves the real client, and exits on SIGTERM', async () => {
    const root = join(dir.path, 'root.pem');
    writeFileSync(root, (await selfSignedTlsCertificate(['attestation-root.test'])).cert);
    const creds = join(dir.path, 'creds.json');
    writeFileSync(creds, JSON.stringify([PARENT_CREDENTIAL]));
    child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'emulators/kms/main.ts'),
      '--port', '0', '--host', '127.0.0.1', '--state', join(dir.path, 'state.json'), '--attestation-root', root, '--credentials', creds], {
      cwd: repoRoot, env: { ...process.env, NODE_ENV: 'test' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child!.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child!.once('exit', (code) => reject(new Error(`emulator exited with ${code}: ${out}`)));
    });
    const client = adminClient(url);
    try {
      expect((await client.send(new GenerateRandomCommand({ NumberOfBytes: 16 }))).Plaintext!.length).to.equal(16);
      expect((await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId).to.match(/^[0-9a-f-]{36}$/);
    } finally {
      client.destroy();
    }
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).to.equal(0);
  });

  it('refuses to start without its required options', async () => {
    const c = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'emulators/kms/main.ts'), '--port', '0'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const [code] = await once(c, 'exit');
    expect(code).to.equal(2);
    expect(err).to.contain('usage: kms-emulator');
  });
});
