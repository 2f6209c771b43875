// Runs fuzz targets as mocha tests: a few hundred seeded cases each, reproducible. The seed is
// FUZZ_SEED when set (to replay a failure), else fixed; a failure prints the seed, the shrunk
// counterexample as hex and the command that replays it.
import fc from 'fast-check';
import type { FuzzTarget } from './target.js';

export const SUITE_SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : 0x13_2026;

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

export function fuzzSuite(title: string, targets: readonly FuzzTarget[]): void {
  describe(title, function () {
    this.timeout(120_000);
    for (const t of targets) {
      it(`${t.name}: ${t.suiteRuns ?? 300} generated inputs give a value or a typed error, in bounded time`, async () => {
        await t.setup?.();
        const result = await fc.check(fc.asyncProperty(t.input, async (input) => { await t.check(input); }), {
          seed: SUITE_SEED,
          numRuns: t.suiteRuns ?? 300,
          endOnFailure: false,
        });
        if (result.failed) {
          const input = result.counterexample?.[0];
          throw new Error(
            `${t.name} failed after ${result.numRuns} runs (seed ${result.seed}, path "${result.counterexamplePath}")\n` +
              `input (${input?.length ?? 0} bytes): ${input ? hex(input).slice(0, 2000) : '?'}\n` +
              `${String(result.errorInstance)}\n` +
              `replay: FUZZ_SEED=${result.seed} npx mocha test/fuzz/*.test.ts --grep '${t.name}'`,
          );
        }
      });
    }
  });
}
