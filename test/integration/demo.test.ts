// `npm run demo` on a fresh state folder (issue 9 "The local stack and the demo"): the whole local
// stack from nothing — emulators, enclave, parent daemon, devnet, coordinator, the reference
// callback handler — pairs, generates the keys by DKG, sends an EIP-1559 transfer through the API
// and an Ed25519 RAW signing, and exits 0 only if everything verified.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/net.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('npm run demo', function () {
  this.timeout(420_000);
  let dir: string;
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the whole stack from an empty folder, signs a transfer and a RAW message through the co-signer, verifies both, exits 0', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cosigner-demo-'));
    const env = {
      ...process.env,
      COSIGNER_LOCAL_DIR: dir,
      KMS_EMULATOR_PORT: String(await freePort()),
      DEVNET_PORT: String(await freePort()),
      COORDINATOR_PORT: String(await freePort()),
      CALLBACK_HANDLER_PORT: String(await freePort()),
    };
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/local-stack.ts', '--demo-and-exit'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((r) => child.once('close', r));
    const stackLines = out.split('\n').filter((l) => l.startsWith('[stack]')).join('\n');
    expect(code, stackLines).to.equal(0);
    expect(stackLines).to.match(/demo: raw signed transaction 0x02[0-9a-f]+/);
    expect(stackLines).to.match(/demo: it recovers to 0x[0-9a-fA-F]{40}; transaction hash 0x[0-9a-f]{64}/);
    expect(stackLines).to.include('verifies under');
    expect(stackLines).to.include('demo: everything verified');
    expect(out).to.match(/decision.*action=APPROVE/);
  });
});
