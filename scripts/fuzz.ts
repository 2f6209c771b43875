// `npm run fuzz`: the properties of test/fuzz at volume (issue 13).
//
//   npm run fuzz                               10^6 inputs over every parser (default), 1 worker
//   npm run fuzz -- --count 200000 --time 300  fewer inputs / a time budget in seconds
//   npm run fuzz -- --only mpc. --workers 2    targets whose name starts with a prefix; 2 workers
//   npm run fuzz -- --replay                   re-run every saved finding (fuzz/findings, open/ too)
//   npm run fuzz -- --enclave --batches 200    generated frames to a running enclave process
//   npm run fuzz -- --enclave --include f.bin  …starting with saved streams (e.g. a finding)
//
// Inputs are split over targets by cost (a target's weight); each gets a share of the count and
// an equal part of the time budget (the run stops early for a target whose time is used up). Failing inputs are written to fuzz/findings/ (a hang too: a case that runs
// longer than --hang-seconds is stopped and its input saved). Exit status 1 if anything failed.
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { allTargets } from '../test/fuzz/targets/index.js';
import { FINDINGS_DIR, loadFindings, saveFinding } from '../test/fuzz/support/findings.js';
import type { WorkerJob, WorkerMessage } from '../test/fuzz/support/worker.js';
import { fuzzEnclave } from '../test/fuzz/support/enclave-fuzz.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    time: { type: 'string', default: '3600' },
    seed: { type: 'string' },
    only: { type: 'string', multiple: true },
    workers: { type: 'string', default: '1' },
    chunk: { type: 'string', default: '500' },
    'hang-seconds': { type: 'string', default: '60' },
    findings: { type: 'string', default: FINDINGS_DIR },
    replay: { type: 'boolean', default: false },
    enclave: { type: 'boolean', default: false },
    batches: { type: 'string', default: '100' },
    'batch-size': { type: 'string', default: '50' },
    include: { type: 'string', multiple: true },
  },
});

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** Load a worker module written in TypeScript (tsx registers itself inside the worker). */
function tsWorker(module: string, options: ConstructorParameters<typeof Worker>[1] = {}): Worker {
  const url = new URL(module, import.meta.url).href;
  return new Worker(`import { register } from 'tsx/esm/api'; register(); await import(${JSON.stringify(url)});`, {
    ...options,
    eval: true,
    // The enclave parses on its main thread (V8's default stack, just under 1 MiB); a worker's
    // default is 4 MiB, which lets recursive decoders go deeper than they can in production.
    resourceLimits: { stackSizeMb: 1 },
  });
}

async function replay(): Promise<number> {
  const findings = [...loadFindings(values.findings), ...loadFindings(join(values.findings!, 'open'))];
  const hangMs = positive('hang-seconds', values['hang-seconds']) * 1000;
  let failed = 0;
  for (const f of findings) {
    const w = tsWorker('../test/fuzz/support/replay-worker.ts', { workerData: { target: f.target, input: f.input } });
    const outcome = await new Promise<{ ok: boolean; message?: string }>((done) => {
      const timer = setTimeout(() => { void w.terminate(); done({ ok: false, message: `hang: no result within ${hangMs / 1000} s` }); }, hangMs);
      w.once('message', (m: { ok: boolean; message?: string }) => { clearTimeout(timer); void w.terminate(); done(m); });
      w.once('error', (e) => { clearTimeout(timer); done({ ok: false, message: `worker died: ${String(e)}` }); });
    });
    if (!outcome.ok) failed++;
    console.log(`${outcome.ok ? 'ok   ' : 'FAIL '} ${f.file}${outcome.ok ? '' : `: ${outcome.message}`}`);
  }
  console.log(`${findings.length} findings replayed, ${failed} still failing`);
  return failed === 0 ? 0 : 1;
}

interface Totals { runs: number; ms: number; findings: number; stopped: boolean }

async function fuzz(): Promise<number> {
  const count = positive('count', values.count);
  const budgetMs = positive('time', values.time) * 1000;
  const workers = Math.max(1, Math.floor(positive('workers', values.workers)));
  const hangMs = positive('hang-seconds', values['hang-seconds']) * 1000;
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
  const chosen = allTargets.filter((t) => !values.only || values.only.some((p) => t.name.startsWith(p)));
  if (chosen.length === 0) throw new Error('no target matches --only');

  // Shares by cost: a target of weight w gets 1/w of the cheapest one's inputs, so every target
  // needs about the same time; each may use an equal part of the workers' time budget.
  const inv = chosen.map((t) => 1 / (t.weight ?? 1));
  const sum = inv.reduce((a, b) => a + b, 0);
  const perTargetMs = Math.max(2000, (budgetMs * workers) / chosen.length);
  const plan = chosen.map((t, i) => ({ name: t.name, count: Math.max(1, Math.ceil((count * inv[i]!) / sum)), ms: perTargetMs }));
  const lanes: (typeof plan)[] = Array.from({ length: workers }, () => []);
  plan.forEach((p, i) => lanes[i % workers]!.push(p));

  console.log(`fuzzing ${chosen.length} targets, ${fmt(count)} inputs, budget ${budgetMs / 1000} s, ${workers} worker(s), seed ${seed}`);
  const totals = new Map<string, Totals>(plan.map((p) => [p.name, { runs: 0, ms: 0, findings: 0, stopped: false }]));
  const t0 = performance.now();
  const ticker = setInterval(() => {
    const runs = [...totals.values()].reduce((a, t) => a + t.runs, 0);
    const s = (performance.now() - t0) / 1000;
    console.log(`  ${s.toFixed(0)} s: ${fmt(runs)} inputs, ${fmt(Math.round(runs / s))} inputs/s`);
  }, 15_000);

  const runLane = async (lane: typeof plan): Promise<void> => {
    let remaining = lane;
    while (remaining.length > 0) {
      const shared = new SharedArrayBuffer(16 + 2 * 1024 * 1024);
      const counters = new Int32Array(shared, 0, 4);
      const job: WorkerJob = { targets: remaining, seed, findingsDir: values.findings!, chunk: Math.floor(positive('chunk', values.chunk)), shared };
      const w = tsWorker('../test/fuzz/support/worker.ts', { workerData: job });
      const stopped = await new Promise<{ index: number; reason: string } | null>((resolveLane) => {
        let last = -1;
        let lastChange = performance.now();
        const watchdog = setInterval(() => {
          const c = Atomics.load(counters, 0);
          if (c !== last) { last = c; lastChange = performance.now(); return; }
          if (performance.now() - lastChange > hangMs) {
            clearInterval(watchdog);
            const index = Atomics.load(counters, 1);
            void w.terminate();
            resolveLane({ index, reason: `hang: a case ran longer than ${hangMs / 1000} s` });
          }
        }, 1000);
        w.on('message', (m: WorkerMessage) => {
          if (m.kind === 'progress' || m.kind === 'target-done') {
            const t = totals.get(m.target)!;
            t.runs = m.runs;
            t.ms = m.ms;
          } else if (m.kind === 'finding') {
            totals.get(m.target)!.findings++;
            console.log(`  FINDING ${m.target}: ${m.message.split('\n')[0]}\n    saved ${m.file}`);
          } else if (m.kind === 'done') {
            clearInterval(watchdog);
            resolveLane(null);
          }
        });
        // An exception outside a property (in a generator, or one that kills the thread) is a finding too.
        w.on('error', (e) => {
          clearInterval(watchdog);
          resolveLane({ index: Atomics.load(counters, 1), reason: `worker died: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` });
        });
      });
      if (stopped === null) break;
      // A hang or a dead worker: save the input that was running, skip that target, go on with the rest.
      const name = remaining[stopped.index]!.name;
      const len = Atomics.load(counters, 2);
      const input = new Uint8Array(shared, 16, len).slice();
      const file = saveFinding(values.findings!, name, input, `target ${name}\n${stopped.reason}`);
      const t = totals.get(name)!;
      t.stopped = true;
      t.findings++;
      console.log(`  STOPPED ${name} (${stopped.reason}): saved ${file}`);
      remaining = remaining.slice(stopped.index + 1);
    }
  };
  await Promise.all(lanes.map(runLane));
  clearInterval(ticker);

  const elapsed = (performance.now() - t0) / 1000;
  const all = [...totals.entries()];
  const runs = all.reduce((a, [, t]) => a + t.runs, 0);
  const findings = all.reduce((a, [, t]) => a + t.findings, 0);
  console.log('\n target                                      inputs     inputs/s  findings');
  for (const [name, t] of all) {
    console.log(` ${name.padEnd(40)} ${fmt(t.runs).padStart(10)} ${fmt(Math.round(t.runs / Math.max(t.ms / 1000, 1e-3))).padStart(12)} ${String(t.findings).padStart(9)}${t.stopped ? ' (stopped)' : ''}`);
  }
  console.log(`\n${fmt(runs)} inputs in ${elapsed.toFixed(1)} s (${fmt(Math.round(runs / elapsed))} inputs/s), ${findings} findings${findings ? ` in ${values.findings}` : ''}`);
  return findings === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  if (values.replay) return replay();
  if (values.enclave) return fuzzEnclave({ batches: positive('batches', values.batches), batchSize: positive('batch-size', values['batch-size']), seed: values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31, findingsDir: values.findings!, include: values.include ?? [] });
  return fuzz();
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(2);
});
