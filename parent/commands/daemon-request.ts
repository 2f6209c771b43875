// How an operator command hands a request to the running parent daemon: a file in
// <state-dir>/setup/ (parent/cosigner-service.ts reads it), written whole under a temporary name
// and linked in place so the daemon never reads half of one, then the daemon's
// <id>.result.json waited for. The request stays queued if the daemon does not answer in time.
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setupDir } from '../cosigner-service.js';

export const DEFAULT_STATE_DIR = '/var/lib/cosigner';

export type DaemonAnswer = { ok: true; [k: string]: unknown } | { ok: false; error: string };

/**
 * Puts `<id>.<suffix>` with `body` in the daemon's request folder and waits for its answer; null
 * when none came in time. A request with this id already queued is waited for (`queued` is told).
 */
export async function requestFromDaemon(stateDir: string, id: string, suffix: 'token' | 'callback-update', body: string, timeoutMs: number, queued: () => void): Promise<DaemonAnswer | null> {
  const dir = setupDir(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const result = join(dir, `${id}.result.json`);
  // An answer to an earlier run with this id is not this run's answer.
  rmSync(result, { force: true });
  const tmp = join(dir, `.${id}.${process.pid}.tmp`);
  writeFileSync(tmp, body, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, join(dir, `${id}.${suffix}`));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    queued();
  } finally {
    rmSync(tmp, { force: true });
  }
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (existsSync(result)) return JSON.parse(readFileSync(result, 'utf8')) as DaemonAnswer;
    await new Promise((res) => setTimeout(res, 250));
  }
  return null;
}

/** --timeout in seconds (default 180) as milliseconds, or null when it is not a positive number. */
export function timeoutOption(v: string | undefined): number | null {
  const ms = Number(v ?? 180) * 1000;
  return Number.isFinite(ms) && ms > 0 ? ms : null;
}
