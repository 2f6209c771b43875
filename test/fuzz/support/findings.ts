// Findings on disk: fuzz/findings/<target>.<sha256 prefix>.bin holds the failing input exactly;
// a .txt beside it says what happened. fuzz/findings/open/ holds findings in code this work may
// not change yet (they are replayed by `npm run fuzz -- --replay`, not by the suite).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FINDINGS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fuzz', 'findings');

export interface Finding {
  target: string;
  input: Uint8Array;
  file: string;
}

export function saveFinding(dir: string, target: string, input: Uint8Array, description: string): string {
  mkdirSync(dir, { recursive: true });
  const id = createHash('sha256').update(input).digest('hex').slice(0, 12);
  const file = join(dir, `${target}.${id}.bin`);
  if (!existsSync(file)) {
    writeFileSync(file, input);
    writeFileSync(file.replace(/\.bin$/, '.txt'), `${description.trim()}\n`);
  }
  return file;
}

/** Findings in `dir` (not its subfolders). */
export function loadFindings(dir: string = FINDINGS_DIR): Finding[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => ({ target: f.replace(/\.[0-9a-f]{12}\.bin$/, ''), input: new Uint8Array(readFileSync(join(dir, f))), file: join(dir, f) }));
}
