// The end-to-end signing path (issue 9 "Benchmark"): API call → TAP → long poll → parent → enclave
// → callback (the reference handler, approving RAW signings at once) → MPC with the coordinator →
// COMPLETED seen through the API. Every part is its own process as `npm start` runs it (NSM and KMS
// emulators, enclave and parent over loopback vsock, `coordinator serve`, the handler); the client
// is the official v5 SDK in this process. RAW ECDSA signings, so no chain is involved.
//
// Completion is seen by one poller listing the workspace's recently updated transactions every
// POLL_MS (a per-transaction poll at concurrency 50 would be the load); each latency is therefore
// up to POLL_MS late. Client and system share the machine's cores.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { FireblocksSDK } from 'fireblocks-sdk';
import { LocalStack } from '../scripts/stack.js';
import { publishTap } from '../scripts/demo/demo.js';
import { freePort } from '../test/support/net.js';

const POLL_MS = 3;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface E2ELoad {
  concurrency: number;
  requests: number;
  completed: number;
  p50Ms: number;
  p99Ms: number;
  perSecond: number;
}

export interface E2EBench {
  loads: E2ELoad[];
  setupMs: number;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

const RAW = (content: string) => ({ operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' }, extraParameters: { rawMessageData: { algorithm: 'MPC_ECDSA_SECP256K1', messages: [{ content, derivationPath: [44, 60, 0, 0, 0] }] } } });

/** Watches the workspace's transactions: resolves each id's wait when it reaches a final status. */
class CompletionWatch {
  private readonly waiting = new Map<string, (status: string) => void>();
  private readonly early = new Map<string, string>();
  private since = Date.now() - 1;
  private stopped = false;
  readonly done: Promise<void>;

  constructor(private readonly sdk: FireblocksSDK) {
    this.done = this.loop();
  }

  wait(id: string): Promise<string> {
    const s = this.early.get(id);
    if (s) return Promise.resolve(s);
    return new Promise((res) => this.waiting.set(id, res));
  }

  stop(): void {
    this.stopped = true;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      // A failed list call is tried again at the next tick: the waits must not be left hanging.
      const txs = await this.sdk.getTransactions({ orderBy: 'lastUpdated' as never, sort: 'ASC', after: this.since - 1, status: 'COMPLETED,FAILED,REJECTED,BLOCKED' as never, limit: 500 }).catch(() => []);
      for (const t of txs) {
        this.since = Math.max(this.since, t.lastUpdated);
        const w = this.waiting.get(t.id);
        if (w) {
          this.waiting.delete(t.id);
          w(t.status);
        } else this.early.set(t.id, t.status);
      }
      await sleep(POLL_MS);
    }
  }
}

async function load(sdk: FireblocksSDK, watch: CompletionWatch, concurrency: number, requests: number): Promise<E2ELoad> {
  const latencies: number[] = [];
  let next = 0;
  let completed = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < requests) {
      next++;
      const content = createHash('sha256').update(randomBytes(16)).digest('hex');
      const start = performance.now();
      const { id } = await sdk.createTransaction(RAW(content) as never);
      const status = await watch.wait(id);
      latencies.push(performance.now() - start);
      if (status === 'COMPLETED') completed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return { concurrency, requests, completed, p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99), perSecond: completed / seconds };
}

export async function measureEndToEnd(shape: Array<{ concurrency: number; requests: number }>): Promise<E2EBench> {
  const t0 = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'e2e-bench-'));
  const stack = new LocalStack({ root: ROOT, workDir: work, kmsPort: await freePort() });
  try {
    await stack.startNsm();
    await stack.startKms();
    await stack.ensureKey();
    stack.startEnclave();
    stack.startParent();
    await stack.waitFor('parent', /"msg":"ready"/, 120_000);
    const co = await stack.startCoordinator(await freePort());
    const handler = await stack.startCallbackHandler(await freePort());
    await stack.pairCosigner(co, handler);
    const sdk = new FireblocksSDK(readFileSync(co.privateKeyFile, 'utf8'), co.apiKey, co.baseUrl, undefined, { anonymousPlatform: true });
    await sdk.createVaultAccount('bench');
    await publishTap(co, { rules: [{ name: 'raw', operations: ['RAW'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] });
    const watch = new CompletionWatch(sdk);
    try {
      // The ECDSA master key is ACTIVE once the DKG pairing asked for is done: until then, 400.
      const end = Date.now() + 300_000;
      for (;;) {
        try {
          if ((await load(sdk, watch, 1, 1)).completed === 1) break;
        } catch (e) {
          if ((e as { response?: { status?: number } }).response?.status !== 400 || Date.now() > end) throw e;
        }
        await sleep(500);
      }
      const setupMs = performance.now() - t0;
      await load(sdk, watch, 4, 8); // warm-up: JIT, connection pools, the derivation cache
      const loads: E2ELoad[] = [];
      for (const s of shape) loads.push(await load(sdk, watch, s.concurrency, s.requests));
      return { loads, setupMs };
    } finally {
      watch.stop();
      await watch.done.catch(() => undefined);
    }
  } finally {
    await stack.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(stack.socketDir, { recursive: true, force: true });
  }
}
