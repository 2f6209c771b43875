// The customer log line format: exactly the documented shape, UTC times, one record per line
// whatever the message holds, and a bounded line length.
import { expect } from 'chai';
import { LOG_LINE, MAX_LINE_BYTES, escapeLogMessage, formatLogLine, formatLogTime, levelName } from '../../../parent/logs/customer-log-format.js';

const at = Date.UTC(2026, 11, 3, 11, 2, 3, 45);

describe('customer log line format', () => {
  it('writes ${AppName}:${Line} ${LogLevel} ${dd/MM/yyyy} ${HH:mm:ss,fff} ${ClassName} ::${MethodName} - ${LogMessage}', () => {
    const line = formatLogLine({ line: 17, level: 'INFO', time: at, className: 'EnclaveWorkHandler', methodName: 'handle', message: 'SIGN work item w-1 signed' });
    expect(line).to.equal('cosigner:17 INFO 03/12/2026 11:02:03,045 EnclaveWorkHandler ::handle - SIGN work item w-1 signed');
    const m = LOG_LINE.exec(line)!;
    expect(m.slice(1)).to.deep.equal(['cosigner', '17', 'INFO', '03/12/2026', '11:02:03,045', 'EnclaveWorkHandler', 'handle', 'SIGN work item w-1 signed']);
  });

  it('uses UTC whatever the process time zone, zero-padded', () => {
    expect(formatLogTime(Date.UTC(2027, 0, 9, 3, 4, 5, 6))).to.equal('09/01/2027 03:04:05,006');
    expect(formatLogTime(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).to.equal('31/12/2026 23:59:59,999');
  });

  it('maps pino levels to DEBUG/INFO/WARN/ERROR names', () => {
    expect([10, 20, 30, 40, 50, 60].map(levelName)).to.deep.equal(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']);
  });

  it('keeps a record on one line: newlines, carriage returns, separators and control characters are escaped, reversibly', () => {
    const hostile = 'refused: bad\nforged line\r\ncosigner:1 INFO 01/01/2026 00:00:00,000 X ::y - injected\u2028\u0000\u001b[31m \\n';
    const line = formatLogLine({ line: 1, level: 'WARN', time: at, className: 'CosignerService', methodName: 'request', message: hostile });
    expect(line.split(/\r\n|\r|\n|\u2028|\u2029/)).to.have.length(1);
    expect(line).to.match(LOG_LINE);
    expect(escapeLogMessage('a\\nb')).to.equal('a\\\\nb'); // a literal backslash-n stays distinguishable from a newline
    expect(escapeLogMessage('a\nb')).to.equal('a\\nb');
    expect(escapeLogMessage('\u001b\u007f\u2029')).to.equal('\\u001b\\u007f\\u2029');
    expect(escapeLogMessage('Grüße, 署名 ✓')).to.equal('Grüße, 署名 ✓');
  });

  it('replaces characters that would break the class or method field', () => {
    const line = formatLogLine({ line: 2, level: 'INFO', time: at, className: 'Bad Class', methodName: '', message: 'x' });
    expect(line).to.equal('cosigner:2 INFO 03/12/2026 11:02:03,045 Bad_Class ::_ - x');
    expect(line).to.match(LOG_LINE);
  });

  it('cuts a long message to a line of at most MAX_LINE_BYTES with its newline, never mid-escape', () => {
    for (const unit of ['x', '€', '\n', '😀']) {
      const line = formatLogLine({ line: 3, level: 'ERROR', time: at, className: 'C', methodName: 'm', message: unit.repeat(MAX_LINE_BYTES) });
      expect(Buffer.byteLength(line + '\n')).to.be.at.most(MAX_LINE_BYTES);
      expect(line).to.match(LOG_LINE);
      expect(line.endsWith(' …[truncated]')).to.equal(true);
      expect(line).to.not.match(/[^\\]\\(u[0-9a-f]{0,3})? …\[truncated\]$/);
    }
  });

  it('the regex refuses lines that are not the format', () => {
    for (const bad of [
      'cosigner:0 INFO 03/12/2026 11:02:03,045 C ::m - x', // lines count from 1
      'cosigner:1 NOTICE 03/12/2026 11:02:03,045 C ::m - x',
      'cosigner:1 INFO 2026-12-03 11:02:03,045 C ::m - x',
      'cosigner:1 INFO 03/12/2026 11:02:03.045 C ::m - x',
      'cosigner:1 INFO 03/12/2026 11:02:03,045 C :: m - x',
      'cosigner:1 INFO 03/12/2026 11:02:03,045 C ::m -x',
      'other:1 INFO 03/12/2026 11:02:03,045 C ::m - x',
      '{"level":30,"msg":"x"}',
    ]) expect(bad, bad).to.not.match(LOG_LINE);
  });
});
