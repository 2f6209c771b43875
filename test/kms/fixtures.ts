// Locates the real-world fixtures beside the repository (../shared/fixtures), per the fixtures README.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = resolve(repoRoot, '../shared/fixtures');

export function kmsCmsFixture(name: 'kms-recipient-primitive.ber' | 'kms-recipient-constructed.ber'): Uint8Array | null {
  const p = resolve(fixturesDir, 'kms-cms', name);
  return existsSync(p) ? new Uint8Array(readFileSync(p)) : null;
}
