// `cosigner logs [N] [--state-dir <dir>] [--log-dir <dir>]`: the last N lines (default 100) of
// customer_cosigner.log, across its rotated files, oldest first. Exit codes: 0 printed, 1 no log
// there yet, 2 usage error.
import { parseArgs } from 'node:util';
import { lastLogLines } from '../logs/customer-log-tail.js';
import { CUSTOMER_LOG_FILE } from '../logs/customer-log.js';
import { DEFAULT_STATE_DIR } from './daemon-request.js';
import type { CommandIo } from './verify-attestation.js';

const USAGE = 'usage: cosigner logs [N (default 100)] [--state-dir <dir>] [--log-dir <dir>]';
const MAX_LINES = 1_000_000;

export async function logsCommand(argv: string[], io: CommandIo): Promise<number> {
  let values: { 'state-dir'?: string; 'log-dir'?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'state-dir': { type: 'string' }, 'log-dir': { type: 'string' } } }));
  } catch (e) {
    io.stderr(`cosigner logs: ${(e as Error).message.split('\n')[0]}; ${USAGE}`);
    return 2;
  }
  if (positionals.length > 1) {
    io.stderr(`cosigner logs: one line count at most; ${USAGE}`);
    return 2;
  }
  const arg = positionals[0] ?? '100';
  if (!/^\d{1,7}$/.test(arg) || Number(arg) < 1 || Number(arg) > MAX_LINES) {
    io.stderr(`cosigner logs: N must be a whole number from 1 to ${MAX_LINES}, got ${JSON.stringify(arg.slice(0, 40))}`);
    return 2;
  }
  // The daemon's --log-dir, else its state folder (parent/config.ts).
  const dir = values['log-dir'] ?? values['state-dir'] ?? DEFAULT_STATE_DIR;
  let lines: string[] | null;
  try {
    lines = await lastLogLines(dir, Number(arg));
  } catch (e) {
    io.stderr(`cosigner logs: cannot read ${CUSTOMER_LOG_FILE} in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return 1;
  }
  if (lines === null) {
    io.stderr(`cosigner logs: no ${CUSTOMER_LOG_FILE} in ${dir} yet (the parent daemon writes it; --log-dir if it was started with one)`);
    return 1;
  }
  for (const l of lines) io.stdout(l);
  return 0;
}
