// The coordinator's REST throughput and long-poll wake-up, next to a bare fastify route measured
// in the same run (the baseline: what the framework and the loopback HTTP stack cost alone).
// Request JWTs are signed before the timed part (each needs its own nonce), so the figures are the
// server's work — authentication included — not the client's RSA signing.
import { createHash, createPrivateKey, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { startCoordinator, type TestCoordinator, type TestUser } from '../test/coordinator/support/build-app.js';

export interface LoadResult {
  name: string;
  concurrency: number;
  requests: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export interface CoordinatorBench {
  loads: LoadResult[];
  wakeP50Ms: number;
  wakeP99Ms: number;
  wakeSamples: number;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

async function tokens(user: TestUser, method: string, path: string, body: string, n: number): Promise<string[]> {
  const key = createPrivateKey(user.privateKeyPem);
  const bodyHash = createHash('sha256').update(body).digest('hex');
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const now = Math.floor(Date.now() / 1000);
    out.push(await new SignJWT({ uri: path, nonce: randomUUID(), iat: now, exp: now + 55, sub: user.row.api_key, bodyHash }).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(key));
  }
  return out;
}

/** `total` requests over `concurrency` keep-alive connections; per-request latency. */
async function load(name: string, url: string, concurrency: number, next: (i: number) => { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }, total: number): Promise<LoadResult> {
  const agent = new Agent({ connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let issued = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (;;) {
      const i = issued++;
      if (i >= total) return;
      const r = next(i);
      const s = performance.now();
      const res = await request(url, { method: r.method, headers: r.headers, body: r.body, dispatcher: agent });
      await res.body.text();
      if (res.statusCode >= 300) throw new Error(`${name}: HTTP ${res.statusCode}`);
      latencies.push(performance.now() - s);
    }
  }));
  const elapsed = performance.now() - t0;
  await agent.close();
  return { name, concurrency, requests: total, perSecond: (total / elapsed) * 1000, p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99) };
}

export async function measureCoordinator(opts: { requests?: number } = {}): Promise<CoordinatorBench> {
  const total = opts.requests ?? 2000;
  const loads: LoadResult[] = [];
  // Baseline: a bare fastify route on loopback.
  const bare = Fastify({ logger: false });
  bare.get('/v1/x', async () => ({ id: 'x', status: 'QUEUED' }));
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
  let c: TestCoordinator | undefined;
  try {
    for (const conc of [10, 50]) loads.push(await load('bare fastify GET (baseline)', `${bareUrl}/v1/x`, conc, () => ({ method: 'GET', headers: {} }), total));
    c = await startCoordinator();
    const user = await c.user('ADMIN');
    // A workspace with a policy and a vault, and one transaction to read.
    const post = async (path: string, body: unknown) => {
      const text = JSON.stringify(body);
      const [t] = await tokens(user, 'POST', path, text, 1);
      const r = await request(c!.baseUrl + path, { method: 'POST', headers: { 'x-api-key': user.row.api_key, authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: text });
      return (await r.body.json()) as { id: string };
    };
    await post('/v1/vault/accounts', { name: 'bench' });
    await post('/v1/tap/policy', { rules: [{ name: 'all', operations: '*', initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] });
    const txBody = JSON.stringify({ operation: 'TRANSFER', assetId: 'ETH_TEST5', amount: '0.001', source: { type: 'VAULT_ACCOUNT', id: '0' }, destination: { type: 'ONE_TIME_ADDRESS', oneTimeAddress: { address: '0x52908400098527886E0F7030069857D2E4169EE7' } } });
    const tx = await post('/v1/transactions', JSON.parse(txBody));
    const getPath = `/v1/transactions/${tx.id}`;
    for (const conc of [10, 50]) {
      const getTokens = await tokens(user, 'GET', getPath, '', total);
      loads.push(await load('GET /v1/transactions/{id} (JWT verified)', c.baseUrl + getPath, conc, (i) => ({ method: 'GET', headers: { 'x-api-key': user.row.api_key, authorization: `Bearer ${getTokens[i]}` } }), total));
      const n = Math.floor(total / 4);
      const postTokens = await tokens(user, 'POST', '/v1/transactions', txBody, n);
      loads.push(await load('POST /v1/transactions (JWT, TAP, stored)', `${c.baseUrl}/v1/transactions`, conc, (i) => ({ method: 'POST', headers: { 'x-api-key': user.row.api_key, authorization: `Bearer ${postTokens[i]}`, 'content-type': 'application/json' }, body: txBody }), n));
    }
    // Long-poll wake-up: a waiting poll, then an item is added and wake() called; time to the poll's answer.
    const q = c.app.workQueue;
    const wakes: number[] = [];
    for (let i = 0; i < 200; i++) {
      const waiting = q.poll([c.workspace.id], 'bench', { holdMs: 10_000 });
      await new Promise((r) => setTimeout(r, 1));
      const id = await c.db.transaction().execute((trx) => q.enqueue(trx, c!.workspace.id, 'SIGN', { i }));
      const s = performance.now();
      q.wake(c.workspace.id);
      const got = await waiting;
      wakes.push(performance.now() - s);
      await q.complete(id, 'bench', { ok: true }, async () => undefined);
      if (got?.id !== id) throw new Error('wake-up bench: wrong item');
    }
    return { loads, wakeP50Ms: pct(wakes, 50), wakeP99Ms: pct(wakes, 99), wakeSamples: wakes.length };
  } finally {
    await bare.close();
    await c?.close();
  }
}
