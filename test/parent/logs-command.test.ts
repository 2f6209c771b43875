// `cosigner logs [N]`: the last N lines of customer_cosigner.log across its rotated files, in the
// order written; a bad argument is a one-line message and exit code 2.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../parent/cli.js';
import { LineLogFile } from '../../parent/logs/customer-log.js';
import { LOG_LINE, MAX_LINE_BYTES } from '../../parent/logs/customer-log-format.js';

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out, err };
}

const seqOf = (line: string) => Number(LOG_LINE.exec(line)![2]);

describe('cosigner logs [N]', function () {
  this.timeout(30_000);
  let dir: string;
  let written: number;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cosigner-logs-'));
    // Small files (the real stream, a low bound) so that the lines span every rotated file.
    const log = LineLogFile.customerLog(dir, { maxFileBytes: 2 * MAX_LINE_BYTES });
    written = 3000;
    for (let i = 1; i <= written; i++) log.info('EnclaveWorkHandler', 'handle', `SIGN work item w-${i}: signed ${'.'.repeat(60)}`);
    await log.close();
    expect(readdirSync(dir)).to.have.length(10);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the last N lines in the order written, across the rotated files', async () => {
    const r = await cli(['logs', '5', '--state-dir', dir]);
    expect(r.code, r.err.join('\n')).to.equal(0);
    expect(r.out.map(seqOf)).to.deep.equal([written - 4, written - 3, written - 2, written - 1, written]);
    // More lines than the live file holds: they come from .1, .2, … in order, none missing.
    const many = await cli(['logs', '700', '--state-dir', dir]);
    expect(many.out).to.have.length(700);
    many.out.forEach((l, i) => expect(seqOf(l)).to.equal(written - 700 + 1 + i));
    expect(many.out.every((l) => LOG_LINE.test(l))).to.equal(true);
  });

  it('prints 100 by default, and everything kept when N is larger', async () => {
    const d = await cli(['logs', '--state-dir', dir]);
    expect(d.out).to.have.length(100);
    expect(seqOf(d.out.at(-1)!)).to.equal(written);
    const all = await cli(['logs', '1000000', '--log-dir', dir]);
    expect(all.code).to.equal(0);
    expect(all.out.length).to.be.within(100, written - 1); // the oldest files were overwritten
    all.out.forEach((l, i) => i > 0 && expect(seqOf(l)).to.equal(seqOf(all.out[i - 1]!) + 1));
  });

  it('refuses bad arguments with one line on stderr and exit code 2', async () => {
    for (const argv of [['0'], ['-3'], ['abc'], ['1.5'], ['10', '20'], ['1e3'], ['10000001'], ['--bogus'], ['--state-dir']]) {
      const r = await cli(['logs', ...argv, ...(argv[0] === '--state-dir' ? [] : ['--state-dir', dir])]);
      expect(r.code, argv.join(' ')).to.equal(2);
      expect(r.err, argv.join(' ')).to.have.length(1);
      expect(r.err[0]).to.match(/^cosigner logs: /);
      expect(r.out).to.deep.equal([]);
    }
  });

  it('says so when there is no log in that folder (exit code 1)', async () => {
    const r = await cli(['logs', '--state-dir', join(dir, 'elsewhere')]);
    expect(r.code).to.equal(1);
    expect(r.err.join('\n')).to.match(/no customer_cosigner\.log in .*elsewhere yet/);
  });
});
