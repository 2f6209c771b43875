// One fuzzing worker of `npm run fuzz` (scripts/fuzz.ts): runs its targets' properties in chunks
// of seeded fast-check runs until each target's input count or time share is used up. Before each
// case it copies the input into shared memory and bumps a counter, so the main thread can tell a
// hang (the counter stops) and save the input that caused it.
import fc from 'fast-check';
import { parentPort, workerData } from 'node:worker_threads';
import { targetNamed } from '../targets/index.js';
import { saveFinding } from './findings.js';

export interface WorkerJob {
  targets: { name: string; count: number; ms: number }[];
  seed: number;
  findingsDir: string;
  chunk: number;
  /** [0]: cases started, [1]: index of the running target, [2]: length of the current input; input bytes after 16. */
  shared: SharedArrayBuffer;
}

export type WorkerMessage =
  | { kind: 'progress'; target: string; runs: number; ms: number }
  | { kind: 'finding'; target: string; file: string; message: string }
  | { kind: 'target-done'; target: string; runs: number; ms: number }
  | { kind: 'done' };

const job = workerData as WorkerJob;
const counters = new Int32Array(job.shared, 0, 4);
const inputArea = new Uint8Array(job.shared, 16);
const post = (m: WorkerMessage) => parentPort!.postMessage(m);

for (const [index, spec] of job.targets.entries()) {
  const target = targetNamed(spec.name)!;
  Atomics.store(counters, 1, index);
  await target.setup?.();
  const t0 = performance.now();
  let runs = 0;
  for (let i = 0; runs < spec.count && performance.now() - t0 < spec.ms; i++) {
    const numRuns = Math.min(job.chunk, spec.count - runs);
    const seed = (job.seed + i * 7919 + index * 104_729) | 0;
    const property = fc.asyncProperty(target.input, async (input) => {
      const n = Math.min(input.length, inputArea.length);
      inputArea.set(input.subarray(0, n));
      Atomics.store(counters, 2, n);
      Atomics.add(counters, 0, 1);
      await target.check(input);
    });
    const result = await fc.check(property, { seed, numRuns });
    runs += result.numRuns;
    if (result.failed && result.counterexample) {
      const input = result.counterexample[0];
      const message = `${String(result.errorInstance)}\nseed ${result.seed} path ${result.counterexamplePath}`;
      const file = saveFinding(job.findingsDir, target.name, input, `target ${target.name}\n${message}`);
      post({ kind: 'finding', target: target.name, file, message });
    }
    post({ kind: 'progress', target: target.name, runs, ms: performance.now() - t0 });
  }
  post({ kind: 'target-done', target: target.name, runs, ms: performance.now() - t0 });
}
post({ kind: 'done' });
