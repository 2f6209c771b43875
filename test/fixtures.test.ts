// The real-world fixtures are part of the project: each one is listed with its provenance and
// licence, and removing one makes the suite fail, naming the file (no test is skipped instead).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FIXTURES_DIR, REPO_ROOT } from './support/fixtures.js';

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [relative(FIXTURES_DIR, join(dir, e.name))],
  );
}

describe('test fixtures', function () {
  this.timeout(120_000);
  const readme = readFileSync(join(FIXTURES_DIR, 'README.md'), 'utf8');
  const files = listFiles(FIXTURES_DIR).filter((f) => f !== 'README.md');

  it('each fixture is listed in test/fixtures/README.md, with a licence file beside it', () => {
    const data = files.filter((f) => !f.split('/').pop()!.startsWith('LICENSE'));
    expect(data.length).to.be.greaterThanOrEqual(7);
    for (const f of data) {
      expect(readme, `${f} is not in the fixtures README`).to.contain('`' + f + '`');
      const folder = f.split('/')[0]!;
      expect(files.some((g) => g.startsWith(`${folder}/LICENSE`)), `no licence file in ${folder}/`).to.equal(true);
    }
  });

  it('a deleted fixture fails the tests that read it, naming the file', () => {
    // A copy of the project (dependencies linked, not copied) with one fixture removed.
    const dir = mkdtempSync(join(tmpdir(), 'fixture-missing-'));
    try {
      for (const entry of ['package.json', 'tsconfig.json', '.mocharc.json', 'shared', 'enclave', 'parent', 'emulators', 'test']) {
        cpSync(join(REPO_ROOT, entry), join(dir, entry), { recursive: true });
      }
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
      rmSync(join(dir, 'test/fixtures/nitro/nitrite-production.b64'));
      const r = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/mocha/bin/mocha.js'), 'test/attestation/verify.test.ts'], {
        cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'test' }, maxBuffer: 16 << 20,
      });
      const out = r.stdout + r.stderr;
      expect(r.status, out).to.not.equal(0);
      expect(out).to.contain('fixture missing: test/fixtures/nitro/nitrite-production.b64');
      expect(out).to.match(/\b0 passed|\d+ passed, [1-9]\d* failed/);
      expect(out).to.not.match(/skipped|pending/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
