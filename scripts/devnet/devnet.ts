// The local EVM devnet: Hardhat 2's `hardhat node` as a child process on 127.0.0.1, with the test
// ERC-20 token deployed from the node's first development account. Used by the local stack and the
// chain tests. The node keeps its chain in memory: a restarted devnet is a new, empty chain.
//
// No orphans: stop() ends the node (SIGTERM, then SIGKILL); an exiting parent kills it on its way
// out; and if the parent dies without running any code (SIGKILL), the node sees its stdin pipe close
// and exits (hardhat.config.cjs).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createPublicClient, createWalletClient, defineChain, getAddress, http, type PublicClient } from 'viem';
import { CosignerError } from '../../shared/errors.js';
import { compileTestToken } from './compile-token.js';
import { createDevFaucet, type DevFaucet } from '../../coordinator/chains/evm/dev-faucet.js';

type Address = `0x${string}`;
type Hex = `0x${string}`;

export interface DevnetOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Folder for Hardhat's project paths (nothing of the chain is kept); default: a temporary folder removed on stop. */
  readonly dataDir?: string;
  /** Default 31337 (Hardhat's). */
  readonly chainId?: number;
  /** Also mine a block every this many ms, so confirmations grow by themselves; default: only on each transaction. */
  readonly blockIntervalMs?: number;
  /** The test token's metadata; default "Test Token", "TTK", 6 decimals. */
  readonly token?: { readonly name: string; readonly symbol: string; readonly decimals: number };
  /** Give up starting after this long; default 60 s. */
  readonly startTimeoutMs?: number;
  /** Every output line of the node, for logs. */
  readonly onLine?: (line: string) => void;
}

export interface DevnetToken {
  readonly address: Address;
  readonly name: string;
  readonly symbol: string;
  readonly decimals: number;
}

export interface Devnet {
  readonly rpcUrl: string;
  readonly chainId: number;
  /** The node's process id. */
  readonly pid: number;
  /** The funded development account everything below is paid from (unlocked in the node). */
  readonly devAccount: Address;
  readonly token: DevnetToken;
  /** Sends `wei` from the development account; resolves with the hash once mined. */
  fund(address: Address, wei: bigint): Promise<Hex>;
  /** Mints `amount` base units of the token to `address`; resolves with the hash once mined. */
  mintToken(address: Address, amount: bigint): Promise<Hex>;
  /** Mines `blocks` empty blocks (default 1), e.g. to add confirmations. */
  mine(blocks?: number): Promise<void>;
  /** Turns mining on each transaction off (transactions stay pending until mine()) or back on. */
  setAutomine(on: boolean): Promise<void>;
  /** Stops the node and waits for it to exit; safe to call more than once. */
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const CONFIG = join(here, 'hardhat.config.cjs');
const HARDHAT_CLI = createRequire(import.meta.url).resolve('hardhat/internal/cli/bootstrap.js');
const STOP_GRACE_MS = 5_000;

function fail(message: string): never {
  throw new CosignerError('CONFIG_INVALID', message);
}

function checkOptions(o: DevnetOptions): void {
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) fail('devnet port must be an integer from 0 to 65535');
  if (o.chainId !== undefined && (!Number.isSafeInteger(o.chainId) || o.chainId <= 0)) fail('devnet chain id must be a positive integer');
  if (o.blockIntervalMs !== undefined && (!Number.isInteger(o.blockIntervalMs) || o.blockIntervalMs <= 0)) fail('devnet block interval must be a positive number of ms');
  if (o.token && (!Number.isInteger(o.token.decimals) || o.token.decimals < 0 || o.token.decimals > 255)) fail('token decimals must be from 0 to 255');
}

export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  checkOptions(options);
  const chainId = options.chainId ?? 31337;
  const ownDir = options.dataDir === undefined;
  const dataDir = ownDir ? mkdtempSync(join(tmpdir(), 'devnet-')) : resolve(options.dataDir!);
  if (!ownDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const proc = spawn(process.execPath, [HARDHAT_CLI, 'node', '--config', CONFIG, '--hostname', '127.0.0.1', '--port', String(options.port ?? 0)], {
    cwd: repoRoot,
    env: {
      ...process.env,
      DEVNET_DATA_DIR: dataDir,
      DEVNET_CHAIN_ID: String(chainId),
      DEVNET_BLOCK_INTERVAL_MS: String(options.blockIntervalMs ?? 0),
      DEVNET_EXIT_WITH_PARENT: '1',
      HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true',
      NO_COLOR: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const child = new NodeProcess(proc, options.onLine);
  const cleanup = async (): Promise<void> => {
    await child.stop();
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    // solc-js is synchronous and slow to load (seconds): compile while the node boots.
    const ready = child.waitForReady(options.startTimeoutMs ?? 60_000);
    ready.catch(() => undefined);
    const token = compileTestToken();
    const port = await ready;
    const rpcUrl = `http://127.0.0.1:${port}`;
    const chain = defineChain({ id: chainId, name: 'devnet', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
    const transport = http(rpcUrl, { timeout: 30_000, retryCount: 0 });
    const pub = createPublicClient({ chain, transport, cacheTime: 0, pollingInterval: 50 });
    const nodeChainId = await pub.getChainId();
    if (nodeChainId !== chainId) throw new CosignerError('INTERNAL', `the devnet serves chain ${nodeChainId}, asked for ${chainId}`);
    const accounts = await createWalletClient({ chain, transport }).getAddresses();
    if (!accounts[0]) throw new CosignerError('INTERNAL', 'the devnet has no development account');
    const devAccount = getAddress(accounts[0]);
    const wallet = createWalletClient({ chain, transport, account: devAccount });

    const meta = options.token ?? { name: 'Test Token', symbol: 'TTK', decimals: 6 };
    const deployHash = await wallet.deployContract({ abi: token.abi, bytecode: token.bytecode, args: [meta.name, meta.symbol, meta.decimals], chain, account: devAccount });
    const deployed = await pub.waitForTransactionReceipt({ hash: deployHash });
    if (deployed.status !== 'success' || !deployed.contractAddress) throw new CosignerError('INTERNAL', 'deploying the test token failed');
    const tokenAddress = getAddress(deployed.contractAddress);

    const faucet = await createDevFaucet({ rpcUrl, chainId, account: devAccount });
    return new RunningDevnet(rpcUrl, chainId, child, devAccount, { address: tokenAddress, ...meta }, faucet, pub, cleanup);
  } catch (e) {
    await cleanup();
    if (e instanceof CosignerError) throw e;
    throw new CosignerError('INTERNAL', `the devnet did not start: ${e instanceof Error ? e.message : String(e)}${child.tail()}`);
  }
}

class RunningDevnet implements Devnet {
  private stopping: Promise<void> | undefined;

  constructor(
    readonly rpcUrl: string,
    readonly chainId: number,
    private readonly child: NodeProcess,
    readonly devAccount: Address,
    readonly token: DevnetToken,
    private readonly faucet: DevFaucet,
    private readonly pub: PublicClient,
    private readonly cleanup: () => Promise<void>,
  ) {}

  get pid(): number {
    return this.child.pid;
  }

  fund(address: Address, wei: bigint): Promise<Hex> {
    return this.faucet.sendNative(address, wei);
  }

  mintToken(address: Address, amount: bigint): Promise<Hex> {
    return this.faucet.mintToken(this.token.address, address, amount);
  }

  async mine(blocks = 1): Promise<void> {
    if (!Number.isInteger(blocks) || blocks < 1) throw new CosignerError('CONFIG_INVALID', 'blocks must be a positive integer');
    await this.pub.request({ method: 'hardhat_mine', params: [`0x${blocks.toString(16)}`] } as never);
  }

  async setAutomine(on: boolean): Promise<void> {
    await this.pub.request({ method: 'evm_setAutomine', params: [on] } as never);
  }

  stop(): Promise<void> {
    this.stopping ??= this.cleanup();
    return this.stopping;
  }
}

/** The hardhat process: its ready line, its last output lines, and a stop that always reaps it. */
class NodeProcess {
  private readonly lines: string[] = [];
  private readonly exited: Promise<void>;
  private hasExited = false;
  private readonly killOnExit = (): void => {
    if (!this.hasExited) this.proc.kill('SIGKILL');
  };

  constructor(
    private readonly proc: ChildProcess,
    private readonly onLine: ((line: string) => void) | undefined,
  ) {
    this.exited = new Promise((res) => proc.once('exit', () => res()));
    proc.once('exit', () => {
      this.hasExited = true;
      process.removeListener('exit', this.killOnExit);
    });
    process.on('exit', this.killOnExit);
    // A failed spawn emits 'error' and maybe no 'exit'.
    proc.once('error', (e) => {
      this.push(`spawn error: ${e.message}`);
      this.hasExited = true;
      process.removeListener('exit', this.killOnExit);
    });
    proc.stdin?.on('error', () => undefined);
    for (const stream of [proc.stdout, proc.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (l) => this.push(l));
    }
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  private push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 40) this.lines.shift();
    this.onLine?.(line);
  }

  tail(): string {
    return this.lines.length ? `\n--- devnet output ---\n${this.lines.join('\n')}` : '';
  }

  /** The port from the ready line hardhat.config.cjs prints. */
  waitForReady(timeoutMs: number): Promise<number> {
    return new Promise<number>((res, rej) => {
      const timer = setTimeout(() => done(new Error(`no ready line within ${timeoutMs} ms`)), timeoutMs);
      const onLine = (line: string): void => {
        if (!line.startsWith('{"devnet":"ready"')) return;
        try {
          const m = JSON.parse(line) as { port: unknown };
          if (typeof m.port === 'number' && Number.isInteger(m.port) && m.port > 0) done(undefined, m.port);
        } catch {
          /* not the ready line */
        }
      };
      // 'close', not 'exit': by then its last output lines (the reason) have been read.
      const onExit = (code: number | null, signal: string | null): void => done(new Error(`hardhat node exited (${signal ?? `code ${code}`}) before it was ready`));
      const onError = (e: Error): void => done(new Error(`hardhat node could not be started: ${e.message}`));
      const rl = this.proc.stdout ? createInterface({ input: this.proc.stdout }) : undefined;
      rl?.on('line', onLine);
      this.proc.once('close', onExit);
      this.proc.once('error', onError);
      const done = (err: Error | undefined, port?: number): void => {
        clearTimeout(timer);
        rl?.removeListener('line', onLine);
        this.proc.removeListener('close', onExit);
        this.proc.removeListener('error', onError);
        if (err) rej(err);
        else res(port!);
      };
    });
  }

  async stop(): Promise<void> {
    if (this.hasExited) return;
    this.proc.kill('SIGTERM');
    const graceful = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), STOP_GRACE_MS).unref())]);
    if (!graceful && !this.hasExited) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}
