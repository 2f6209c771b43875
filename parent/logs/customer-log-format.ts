// The line format of customer_cosigner.log and run.log (DESIGN.md "Logs"), as the Fireblocks
// co-signer writes it, so operators' existing parsers and alerts keep working:
//   ${AppName}:${Line} ${LogLevel} ${dd/MM/yyyy} ${HH:mm:ss,fff} ${ClassName} ::${MethodName} - ${LogMessage}
// AppName is always `cosigner`. Line is the line's sequence number in its file since the daemon
// started (1, 2, …; a new process starts again at 1): TypeScript has no cheap, meaningful source
// line, while a sequence shows a shipper's gaps and orders lines written in the same millisecond.
// Times are UTC (a parent's local zone is whatever its AMI says; UTC lines merge with the
// coordinator's and AWS's). One record is one line: the message is escaped so that nothing in it
// (an error text from a peer, say) can start a line of its own.
export const APP_NAME = 'cosigner';

export const LEVEL_NAMES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export type LevelName = (typeof LEVEL_NAMES)[number];

/** A line is cut (its message shortened) to this many bytes, newline included: rotation relies on it. */
export const MAX_LINE_BYTES = 16 * 1024;
const TRUNCATED = ' …[truncated]';

/** One line of the format; the groups are app, line, level, date, time, class, method, message. */
export const LOG_LINE =
  /^(cosigner):([1-9]\d*) (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) (\d{2}\/\d{2}\/\d{4}) (\d{2}:\d{2}:\d{2},\d{3}) ([A-Za-z0-9_$.]+) ::([A-Za-z0-9_$.]+) - ([^\n\r\u2028\u2029]*)$/;

export interface LogRecord {
  line: number;
  level: LevelName;
  /** Epoch milliseconds. */
  time: number;
  className: string;
  methodName: string;
  message: string;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `dd/MM/yyyy HH:mm:ss,fff` in UTC. */
export function formatLogTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())},${pad(d.getUTCMilliseconds(), 3)}`;
}

/** One character of a message as written: backslash and control characters escaped, JSON-style. */
function escapeChar(ch: string): string {
  switch (ch) {
    case '\\': return '\\\\';
    case '\n': return '\\n';
    case '\r': return '\\r';
    case '\t': return '\\t';
  }
  const c = ch.codePointAt(0)!;
  // C0, DEL, C1 and the Unicode line/paragraph separators (some tools break lines there).
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return `\\u${c.toString(16).padStart(4, '0')}`;
  return ch;
}

/** The message on one line (reversible: `\\` stands for a backslash). */
export function escapeLogMessage(message: string): string {
  let out = '';
  for (const ch of message) out += escapeChar(ch);
  return out;
}

/** Class and method names come from code; anything else in them is replaced, so the line still parses. */
function identifier(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_$.]/g, '_').slice(0, 128);
  return s.length > 0 ? s : '_';
}

/** The record as one line, without its newline, at most MAX_LINE_BYTES - 1 bytes. */
export function formatLogLine(r: LogRecord): string {
  const prefix = `${APP_NAME}:${r.line} ${r.level} ${formatLogTime(r.time)} ${identifier(r.className)} ::${identifier(r.methodName)} - `;
  const full = prefix + escapeLogMessage(r.message);
  const budget = MAX_LINE_BYTES - 1;
  if (Buffer.byteLength(full) <= budget) return full;
  // Cut whole escaped characters, so no escape sequence is left half written.
  let used = Buffer.byteLength(prefix) + Buffer.byteLength(TRUNCATED);
  let out = prefix;
  for (const ch of r.message) {
    const e = escapeChar(ch);
    const n = Buffer.byteLength(e);
    if (used + n > budget) break;
    out += e;
    used += n;
  }
  return out + TRUNCATED;
}

/** The level name of a pino level number (10 trace … 60 fatal). */
export function levelName(pinoLevel: number): LevelName {
  if (pinoLevel >= 60) return 'FATAL';
  if (pinoLevel >= 50) return 'ERROR';
  if (pinoLevel >= 40) return 'WARN';
  if (pinoLevel >= 30) return 'INFO';
  if (pinoLevel >= 20) return 'DEBUG';
  return 'TRACE';
}
