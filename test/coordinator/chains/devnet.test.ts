// The devnet launcher: options honoured, blocks mined on an interval, the node always reaped (on
// stop, on a failed start, and when the process that started it is killed outright).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createEvmAdapter } from '../../../coordinator/chains/evm/evm-adapter.js';
import { startDevnet, type Devnet } from '../../../scripts/devnet/devnet.js';
import { expectCosignerRejection } from '../../support/expect-error.js';
import { newSigner } from './chain-test-kit.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Running (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Processes of ours whose environment names this devnet data directory. */
function nodesFor(dataDir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (env.includes(`DEVNET_DATA_DIR=${dataDir}`)) found.push(Number(entry));
    } catch {
      /* gone, or not ours */
    }
  }
  return found;
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

describe('local EVM devnet', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  let devnet: Devnet | undefined;
  let blocker: Server | undefined;

  function freshDir(): string {
    const d = mkdtempSync(join(tmpdir(), 'devnet-test-'));
    dirs.push(d);
    return d;
  }

  after(async () => {
    await devnet?.stop();
    blocker?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('starts on a free port with the options given, mines on an interval, and stops', async () => {
    const dataDir = freshDir();
    devnet = await startDevnet({ port: 0, dataDir, chainId: 1337, blockIntervalMs: 200, token: { name: 'Other', symbol: 'OTH', decimals: 2 } });
    expect(devnet.rpcUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(devnet.chainId).to.equal(1337);
    expect(devnet.token).to.include({ name: 'Other', symbol: 'OTH', decimals: 2 });

    const adapter = createEvmAdapter({ rpcUrl: devnet.rpcUrl, chainId: 1337 });
    const token = { id: 'OTH', chainId: 1337, kind: 'ERC20', contract: devnet.token.address, decimals: 2 } as const;
    expect(await adapter.decimals(token)).to.equal(2);
    const who = newSigner().address;
    const hash = await devnet.mintToken(who, 250n);
    expect(await adapter.balance(who, token)).to.equal(250n);
    // Confirmations grow with no transactions and no mine() call.
    const first = await adapter.confirmations(hash);
    await new Promise((r) => setTimeout(r, 1_000));
    const later = await adapter.confirmations(hash);
    expect(later.state).to.equal('CONFIRMED');
    expect(later.confirmations).to.be.greaterThan(first.confirmations);

    const pid = devnet.pid;
    expect(alive(pid)).to.equal(true);
    await devnet.stop();
    await devnet.stop();
    expect(alive(pid)).to.equal(false);
    expect(existsSync(dataDir), 'a given data directory is left in place').to.equal(true);
    devnet = undefined;
  });

  it('a failed start (port taken) is a typed error and leaves no node behind', async () => {
    blocker = createServer();
    const port = await new Promise<number>((res) => blocker!.listen(0, '127.0.0.1', () => res((blocker!.address() as { port: number }).port)));
    const dataDir = freshDir();
    await expectCosignerRejection(startDevnet({ port, dataDir }), 'INTERNAL', /did not start[\s\S]*EADDRINUSE/);
    expect(await until(() => nodesFor(dataDir).length === 0, 10_000)).to.equal(true);
  });

  it('refuses bad options', async () => {
    await expectCosignerRejection(startDevnet({ port: 70_000 }), 'CONFIG_INVALID');
    await expectCosignerRejection(startDevnet({ chainId: 0 }), 'CONFIG_INVALID');
    await expectCosignerRejection(startDevnet({ blockIntervalMs: -5 }), 'CONFIG_INVALID');
    await expectCosignerRejection(startDevnet({ token: { name: 'x', symbol: 'x', decimals: 256 } }), 'CONFIG_INVALID');
  });

  it('the node does not outlive a parent killed with SIGKILL', async () => {
    const dataDir = freshDir();
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'devnet-child.ts'), dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((res, rej) => {
        createInterface({ input: child.stdout! }).once('line', res);
        child.once('exit', (c) => rej(new Error(`devnet child exited (${c}) before starting`)));
      });
      const { pid } = JSON.parse(line) as { pid: number };
      expect(alive(pid)).to.equal(true);
      child.kill('SIGKILL');
      expect(await until(() => !alive(pid), 15_000), 'the node exited with its parent').to.equal(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
