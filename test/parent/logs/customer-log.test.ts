// customer_cosigner.log through the real rotating stream: rotation at 4.1 MB, exactly 10 files
// kept (the oldest overwritten), every line in the format and none lost between the files kept.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CUSTOMER_LOG_FILE, CUSTOMER_LOG_FILES, CUSTOMER_LOG_MAX_FILE_BYTES, LineLogFile, RUN_LOG_FILE } from '../../../parent/logs/customer-log.js';
import { LOG_LINE, MAX_LINE_BYTES } from '../../../parent/logs/customer-log-format.js';
import { expectCosignerError } from '../../support/expect-error.js';

/** The kept files, oldest first: .9 … .1, then the live file. */
function keptFiles(dir: string): string[] {
  return [...Array.from({ length: CUSTOMER_LOG_FILES - 1 }, (_, i) => `${CUSTOMER_LOG_FILE}.${CUSTOMER_LOG_FILES - 1 - i}`), CUSTOMER_LOG_FILE];
}

describe('customer_cosigner.log: rotation', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'customer-log-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('rotates at 4.1 MB and keeps exactly 10 files, the oldest overwritten; the lines kept are whole, in order and in the format', async () => {
    const log = LineLogFile.customerLog(dir);
    const text = 'approval request r-… answered APPROVE by the callback handler; '.repeat(15); // ~1 KB lines
    const lines = Math.ceil((12 * CUSTOMER_LOG_MAX_FILE_BYTES) / (text.length + 80)); // twelve files' worth
    for (let i = 1; i <= lines; i++) log.info('EnclaveWorkHandler', 'handle', `${i} ${text}`);
    // A line over the cap is cut, not split across files.
    log.warn('CosignerService', 'request', 'y'.repeat(3 * MAX_LINE_BYTES));
    await log.close();

    expect(readdirSync(dir).sort()).to.deep.equal(keptFiles(dir).sort());
    let previous = 0;
    for (const name of keptFiles(dir)) {
      const size = statSync(join(dir, name)).size;
      expect(size, `${name} is at most 4.1 MB`).to.be.at.most(CUSTOMER_LOG_MAX_FILE_BYTES);
      if (name !== CUSTOMER_LOG_FILE) expect(size, `${name} was rotated near the bound`).to.be.at.least(CUSTOMER_LOG_MAX_FILE_BYTES - 2 * MAX_LINE_BYTES);
      const content = readFileSync(join(dir, name), 'utf8');
      expect(content.endsWith('\n'), `${name} ends with a whole line`).to.equal(true);
      for (const line of content.slice(0, -1).split('\n')) {
        const m = LOG_LINE.exec(line);
        expect(m, line.slice(0, 120)).to.not.equal(null);
        const seq = Number(m![2]);
        if (previous !== 0) expect(seq, 'no line lost between kept files').to.equal(previous + 1);
        previous = seq;
      }
    }
    expect(previous, 'the last line is the cut one').to.equal(lines + 1);
    const oldest = LOG_LINE.exec(readFileSync(join(dir, keptFiles(dir)[0]!), 'utf8').split('\n')[0]!)!;
    expect(Number(oldest[2]), 'the first files were overwritten').to.be.greaterThan(lines / 12);
  });

  it('a restarted daemon appends to the live file, numbering its lines from 1 again', async () => {
    const first = LineLogFile.customerLog(dir);
    first.info('CosignerService', 'start', 'one');
    first.info('CosignerService', 'start', 'two');
    await first.close();
    const second = LineLogFile.customerLog(dir);
    second.error('CosignerService', 'start', 'three');
    await second.flushed();
    expect(readFileSync(join(dir, CUSTOMER_LOG_FILE), 'utf8').split('\n').map((l) => l.replace(/ \d{2}\/.* ::/, ' … ::'))).to.deep.equal([
      'cosigner:1 INFO … ::start - one', 'cosigner:2 INFO … ::start - two', 'cosigner:1 ERROR … ::start - three', '',
    ]);
    await second.close();
    expect(readdirSync(dir)).to.deep.equal([CUSTOMER_LOG_FILE]);
  });

  it('writes DEBUG only when asked; run.log is appended to and never rotated', async () => {
    const quiet = LineLogFile.runLog(dir);
    quiet.debug('CosignerService', 'request', 'not written');
    quiet.info('CosignerService', 'request', 'setup: paired');
    await quiet.close();
    const verbose = LineLogFile.runLog(dir, { level: 'debug' });
    verbose.debug('CosignerService', 'request', 'written');
    await verbose.close();
    const lines = readFileSync(join(dir, RUN_LOG_FILE), 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => LOG_LINE.exec(l)?.[8])).to.deep.equal(['setup: paired', 'written']);
    expect(lines[1]).to.match(/^cosigner:1 DEBUG /);
  });

  it('a file that cannot be written is reported once, and the daemon goes on', async () => {
    const errors: Error[] = [];
    const log = LineLogFile.runLog(join(dir, 'missing-folder'), { onError: (e) => errors.push(e) });
    log.info('CosignerService', 'request', 'lost');
    await log.close();
    log.info('CosignerService', 'request', 'after the failure');
    expect(errors).to.have.length(1);
    expect((errors[0] as NodeJS.ErrnoException).code).to.equal('ENOENT');
  });

  it('refuses a size bound too small to hold two lines', () => {
    expectCosignerError(() => LineLogFile.customerLog(dir, { maxFileBytes: 1000 }), 'CONFIG_INVALID', /at least/);
  });
});
