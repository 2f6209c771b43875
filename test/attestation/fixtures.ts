// Real-world fixtures live beside the repository in ../shared/fixtures (never copied into it).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES_DIR = resolve(REPO_ROOT, '..', 'shared', 'fixtures');

export const PRODUCTION_TIMESTAMP = 1725719859545; // 2024-09-07T14:37:39.545Z (fixtures README)
export const DEBUG_TIMESTAMP = 1725719886508; // 2024-09-07T14:38:06.508Z

export function fixturesPresent(): boolean {
  return existsSync(join(FIXTURES_DIR, 'nitro', 'nitrite-production.b64'));
}

/** Call inside a describe(): skips the suite with a clear message when the fixtures are absent. */
export function requireFixtures(): void {
  before(function () {
    if (!fixturesPresent()) {
      console.warn(`    (skipped: real fixtures not found at ${FIXTURES_DIR})`);
      this.skip();
    }
  });
}

export function fixturePath(...parts: string[]): string {
  return join(FIXTURES_DIR, ...parts);
}

export function readFixtureDocument(kind: 'production' | 'debug'): Uint8Array {
  const b64 = readFileSync(fixturePath('nitro', `nitrite-${kind}.b64`), 'utf8').trim();
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

export function readAwsRootPem(): string {
  return readFileSync(fixturePath('nitro', 'aws_nitro_root_g1.pem'), 'utf8');
}
