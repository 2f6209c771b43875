// Regression: every input `npm run fuzz` found (and that was fixed) stays fixed. Each file in
// fuzz/findings/ is the exact failing input of the target its name gives; it must now pass that
// target's properties. Findings in code owned elsewhere wait in fuzz/findings/open/ until fixed.
import { expect } from 'chai';
import { loadFindings, FINDINGS_DIR } from './support/findings.js';
import { targetNamed } from './targets/index.js';

describe('fuzz findings stay fixed', function () {
  this.timeout(120_000);
  const findings = loadFindings(FINDINGS_DIR);

  it('fuzz/findings holds at least one saved input, each named after a known target', () => {
    expect(findings.length, `no findings in ${FINDINGS_DIR}`).to.be.greaterThan(0);
    for (const f of findings) expect(targetNamed(f.target), `${f.file} names no target`).to.not.equal(undefined);
  });

  for (const f of findings) {
    it(`${f.file.slice(FINDINGS_DIR.length + 1)} passes ${f.target}`, async () => {
      const t = targetNamed(f.target)!;
      await t.setup?.();
      await t.check(f.input);
    });
  }
});
