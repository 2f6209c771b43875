// Real-world fixtures live in the project under test/fixtures (provenance and licences in its
// README). A missing fixture is a failure that names the file, never a skipped test.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES_DIR = resolve(REPO_ROOT, 'test', 'fixtures');

export const PRODUCTION_TIMESTAMP = 1725719859545; // 2024-09-07T14:37:39.545Z (fixtures README)
export const DEBUG_TIMESTAMP = 1725719886508; // 2024-09-07T14:38:06.508Z

/** Path of a fixture file; throws naming the file when it is not there. */
export function fixturePath(...parts: string[]): string {
  const p = join(FIXTURES_DIR, ...parts);
  if (!existsSync(p)) {
    throw new Error(`fixture missing: ${relative(REPO_ROOT, p)} (see test/fixtures/README.md for where it comes from)`);
  }
  return p;
}

export function readFixture(...parts: string[]): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(...parts)));
}

export function readFixtureDocument(kind: 'production' | 'debug'): Uint8Array {
  const b64 = readFileSync(fixturePath('nitro', `nitrite-${kind}.b64`), 'utf8').trim();
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

export function readAwsRootPem(): string {
  return readFileSync(fixturePath('nitro', 'aws_nitro_root_g1.pem'), 'utf8');
}

export function kmsCmsFixture(name: 'kms-recipient-primitive.ber' | 'kms-recipient-constructed.ber'): Uint8Array {
  return readFixture('kms-cms', name);
}
