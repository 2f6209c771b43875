// The emulator as the program the local stack runs: spawned, used through its socket, stopped.
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openNsm } from '../../enclave/nsm/open-nsm.js';
import { pinnedRootDer } from '../../shared/attestation/root-pin.js';
import { verifyAttestationDocument } from '../../shared/attestation/verify.js';
import { REPO_ROOT } from '../support/fixtures.js';

interface Running {
  child: ChildProcess;
  fingerprint: string;
  socket: string;
}

function startEmulator(dir: string, extra: string[] = []): Promise<Running> {
  const socket = join(dir, 'nsm.sock');
  const bundleRoot = join(dir, 'bundle');
  mkdirSync(join(bundleRoot, 'enclave'), { recursive: true });
  writeFileSync(join(bundleRoot, 'enclave', 'main.ts'), 'export {};\n');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'emulators/nsm/main.ts', '--state-dir', join(dir, 'state'), '--socket', socket, '--bundle-root', bundleRoot, ...extra],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /root fingerprint \(SHA-256\): ([0-9a-f]{64})/.exec(out);
      if (m && out.includes(`listening on ${socket}`)) resolve({ child, fingerprint: m[1]!, socket });
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}: ${err}`)));
  });
}

function stop(r: Running): Promise<number | null> {
  return new Promise((resolve) => {
    if (r.child.exitCode !== null) return resolve(r.child.exitCode);
    r.child.removeAllListeners('exit');
    r.child.once('exit', (code) => resolve(code));
    r.child.kill('SIGTERM');
  });
}

describe('NSM emulator program (emulators/nsm/main.ts)', function () {
  this.timeout(60_000);
  let dir: string;
  const running: Running[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-main-'));
  });
  after(async () => {
    for (const r of running) await stop(r);
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints its socket and root fingerprint, serves attestation, and cleans up on SIGTERM', async () => {
    const r = await startEmulator(join(dir, 'a'), ['--instance-id', 'i-0123456789abcdef0']);
    running.push(r);
    const rootPem = readFileSync(join(dir, 'a', 'state', 'root.pem'), 'utf8');
    const root = pinnedRootDer(rootPem, r.fingerprint); // the printed fingerprint pins root.pem
    const nsm = await openNsm({ emulatorSocket: r.socket });
    try {
      const nonce = new Uint8Array([9, 9, 9]);
      const d = await verifyAttestationDocument(await nsm.attestation({ nonce }), { root, expectedNonce: nonce });
      expect(d.moduleId).to.match(/^i-0123456789abcdef0-enc/);
      expect(d.debug).to.equal(false);
    } finally {
      await nsm.close();
    }
    expect(await stop(r)).to.equal(0);
    expect(existsSync(r.socket)).to.equal(false);
  });

  it('--debug produces debug documents that verifiers refuse unless allowed', async () => {
    const r = await startEmulator(join(dir, 'b'), ['--debug']);
    running.push(r);
    const root = readFileSync(join(dir, 'b', 'state', 'root.pem'), 'utf8');
    const nsm = await openNsm({ emulatorSocket: r.socket });
    try {
      const doc = await nsm.attestation({});
      await verifyAttestationDocument(doc, { root }).then(
        () => expect.fail('accepted a debug document'),
        (e) => expect((e as Error).message).to.match(/debug mode/),
      );
      expect((await verifyAttestationDocument(doc, { root, allowDebug: true })).debug).to.equal(true);
    } finally {
      await nsm.close();
    }
    expect(await stop(r)).to.equal(0);
  });

  it('exits 2 with usage when required options are missing', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'emulators/nsm/main.ts', '--socket', join(dir, 'x.sock')], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/usage: nsm-emulator/);
  });
});
