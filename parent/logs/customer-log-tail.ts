// The last lines of customer_cosigner.log across its rotated files (.9 oldest … .1, then the live
// file), in the order they were written: what `cosigner logs [N]` prints.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { CUSTOMER_LOG_FILE, CUSTOMER_LOG_FILES } from './customer-log.js';

/** Newest first: the live file, then .1, .2, … */
function filesNewestFirst(dir: string): string[] {
  return [join(dir, CUSTOMER_LOG_FILE), ...Array.from({ length: CUSTOMER_LOG_FILES - 1 }, (_, i) => join(dir, `${CUSTOMER_LOG_FILE}.${i + 1}`))];
}

/** The last `n` lines, oldest first; null when there is no log at all in `dir`. */
export async function lastLogLines(dir: string, n: number): Promise<string[] | null> {
  const chunks: string[][] = [];
  let have = 0;
  let found = false;
  for (const file of filesNewestFirst(dir)) {
    if (have >= n) break;
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // not rotated that far yet
      throw e;
    }
    found = true;
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    const take = lines.slice(Math.max(0, lines.length - (n - have)));
    chunks.unshift(take);
    have += take.length;
  }
  return found ? chunks.flat() : null;
}
