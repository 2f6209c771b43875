// Replays one saved finding in a worker thread (scripts/fuzz.ts --replay), so that an input that
// still hangs a parser can be stopped instead of stopping the replay.
import { parentPort, workerData } from 'node:worker_threads';
import { targetNamed } from '../targets/index.js';
import { PropertyViolation } from './target.js';

const { target, input } = workerData as { target: string; input: Uint8Array };
const t = targetNamed(target);
if (!t) parentPort!.postMessage({ ok: false, message: `no target named ${target}` });
else {
  await t.setup?.();
  try {
    await t.check(input);
    parentPort!.postMessage({ ok: true });
  } catch (e) {
    parentPort!.postMessage({ ok: false, message: e instanceof PropertyViolation ? e.message : String(e) });
  }
}
