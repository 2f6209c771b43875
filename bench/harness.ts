// Timing harness for `npm run bench`: run a case a bounded number of times (and for a bounded
// wall-clock budget), report the median. Medians, not means: GC pauses and the safe-prime tail
// would otherwise dominate.
import { performance } from 'node:perf_hooks';

export interface Measurement {
  name: string;
  medianMs: number;
  iterations: number;
  /** Median compute time of each party (party id → ms), when the case reports it. */
  perParty?: Map<number, number>;
}

export interface MeasureOptions {
  /** Untimed runs first (JIT, noble's precomputed tables, OpenSSL DH object cache). */
  warmup?: number;
  /** At most this many timed runs … */
  iterations: number;
  /** … and stop early once this much time has been spent (at least `minIterations` runs). */
  budgetMs?: number;
  minIterations?: number;
  /** Untimed work before each run (e.g. refilling a precompute pool, as an idle co-signer would). */
  before?: () => void;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** `fn` may return per-party compute times (from drive()); their medians are reported too. */
export function measure(name: string, fn: () => void | Map<number, number>, o: MeasureOptions): Measurement {
  for (let i = 0; i < (o.warmup ?? 1); i++) {
    o.before?.();
    fn();
  }
  const times: number[] = [];
  const parties = new Map<number, number[]>();
  const begin = performance.now();
  const budget = o.budgetMs ?? Number.POSITIVE_INFINITY;
  const min = o.minIterations ?? 3;
  for (let i = 0; i < o.iterations; i++) {
    o.before?.();
    const t0 = performance.now();
    const spent = fn();
    times.push(performance.now() - t0);
    if (spent) for (const [p, ms] of spent) parties.set(p, [...(parties.get(p) ?? []), ms]);
    if (times.length >= min && performance.now() - begin > budget) break;
  }
  const perParty = parties.size ? new Map([...parties].map(([p, xs]) => [p, median(xs)])) : undefined;
  return { name, medianMs: median(times), iterations: times.length, perParty };
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(3)} ms`;
}

/** One comparison row: an MPC operation next to a one-party baseline from the same run. */
export interface Row {
  operation: string;
  mpc: Measurement;
  baselines: Measurement[];
  /** Target median in ms (printed, not asserted). */
  targetMs?: number;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function printRows(rows: readonly Row[]): void {
  const header = [pad('operation', 36), pad('median', 11), pad('per party (auth = envelopes)', 34), pad('CPU total', 11), pad('runs', 5), pad('target', 13), 'one-party baselines (median, ratio MPC/baseline)'];
  console.log(header.join(' '));
  console.log('-'.repeat(152));
  for (const r of rows) {
    const target = r.targetMs === undefined ? '' : `${r.mpc.medianMs <= r.targetMs ? 'ok' : 'MISS'} ≤${formatMs(r.targetMs)}`;
    const base = r.baselines.map((b) => `${b.name} ${formatMs(b.medianMs)} (×${(r.mpc.medianMs / b.medianMs).toFixed(0)})`).join('; ');
    const per = r.mpc.perParty ? [...r.mpc.perParty].map(([p, ms]) => `${p === 0 ? 'auth' : `P${p}`} ${formatMs(ms)}`).join(', ') : '';
    // CPU per signature over both parties (and the envelopes): what bounds throughput on one host.
    const cpu = r.mpc.perParty ? [...r.mpc.perParty.values()].reduce((a, b) => a + b, 0) : undefined;
    console.log([pad(r.operation, 36), pad(formatMs(r.mpc.medianMs), 11), pad(per, 34), pad(cpu === undefined ? '' : formatMs(cpu), 11), pad(String(r.mpc.iterations), 5), pad(target, 13), base].join(' '));
  }
}
