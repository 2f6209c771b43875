// Helpers for the deployment checks: the operator CLI in process, the repository root, and the
// system tools the checks need (installed by scripts/ci-deps.sh, never by a test).
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../parent/cli.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function kmsPolicy(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['kms-policy', ...argv], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** The path of a system tool, or an error naming the script that installs it (a test fails, never skips). */
export function requireTool(name: 'shellcheck' | 'systemd-analyze'): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path) throw new Error(`${name} is not installed: run scripts/ci-deps.sh (as root) first; .ci/run does`);
  return path;
}
