// The daemon's line logs in the customer's format (customer-log-format.ts): customer_cosigner.log,
// what the co-signer did for the workspace (approval requests and their outcome, signings, key
// generations, pairings and configuration changes), and run.log, the setup and configuration
// history. pino is underneath (levels, one write per record); its JSON record is turned into the
// customer's line on the way to the file. The daemon's own pino JSON on stdout is separate and
// unchanged (Docker's json-file driver and shippers read that).
//
// customer_cosigner.log rotates with rotating-file-stream in its classical logrotate mode
// (`rotate: 9`): customer_cosigner.log and .1 … .9, exactly 10 files, .9 the oldest and overwritten
// at the next rotation. (Its `maxFiles` counts rotated files only and keeps a history file beside
// them; `rotate` is the mode that names a fixed set of files.) The library rotates once a write has
// brought the file to its `size`, and never splits a write, so a file ends up to one line over
// `size`: `size` is the bound less the longest line, which makes the bound hold.
// run.log does not rotate: it is a few hundred bytes per configuration command, kept whole.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { pino } from 'pino';
import { createStream } from 'rotating-file-stream';
import { CosignerError } from '../../shared/errors.js';
import { formatLogLine, levelName, MAX_LINE_BYTES } from './customer-log-format.js';

export const CUSTOMER_LOG_FILE = 'customer_cosigner.log';
export const RUN_LOG_FILE = 'run.log';
/** "4.1 MB": decimal megabytes, as the Fireblocks co-signer documents it. */
export const CUSTOMER_LOG_MAX_FILE_BYTES = 4_100_000;
/** The live file and its rotated predecessors. */
export const CUSTOMER_LOG_FILES = 10;

/** What the daemon's components write: `log.info('EnclaveWorkHandler', 'handle', 'SIGN … signed')`. */
export interface CustomerLog {
  debug(className: string, methodName: string, message: string): void;
  info(className: string, methodName: string, message: string): void;
  warn(className: string, methodName: string, message: string): void;
  error(className: string, methodName: string, message: string): void;
}

export interface LineLogOptions {
  /** Lowest level written (default info). */
  level?: 'debug' | 'info' | 'warn' | 'error';
  /** The file could not be written (disk full, folder gone): told once; later lines are dropped. */
  onError?: (e: Error) => void;
}

/** A log file of customer-format lines. */
export class LineLogFile implements CustomerLog {
  private readonly logger: pino.Logger;
  private seq = 0;
  private failed = false;
  private closing: Promise<void> | null = null;

  private constructor(readonly path: string, private readonly out: Writable, opts: LineLogOptions) {
    out.on('error', (e: Error) => {
      if (this.failed) return;
      this.failed = true;
      opts.onError?.(e);
    });
    // pino hands every record, serialised, to write(); it becomes one line of the file.
    const destination = { write: (json: string) => this.writeRecord(json) };
    this.logger = pino({ level: opts.level ?? 'info', base: null, timestamp: pino.stdTimeFunctions.epochTime }, destination);
  }

  /** `<dir>/customer_cosigner.log`, rotated over CUSTOMER_LOG_FILES files of at most `maxFileBytes`. */
  static customerLog(dir: string, opts: LineLogOptions & { maxFileBytes?: number } = {}): LineLogFile {
    const max = opts.maxFileBytes ?? CUSTOMER_LOG_MAX_FILE_BYTES;
    if (!Number.isInteger(max) || max < 2 * MAX_LINE_BYTES) throw new CosignerError('CONFIG_INVALID', `a log file's size bound must be at least ${2 * MAX_LINE_BYTES} bytes`);
    const stream = createStream(CUSTOMER_LOG_FILE, { path: dir, size: `${max - MAX_LINE_BYTES}B`, rotate: CUSTOMER_LOG_FILES - 1, mode: 0o600 });
    return new LineLogFile(join(dir, CUSTOMER_LOG_FILE), stream, opts);
  }

  /** `<dir>/run.log`, appended to. */
  static runLog(dir: string, opts: LineLogOptions = {}): LineLogFile {
    const path = join(dir, RUN_LOG_FILE);
    return new LineLogFile(path, createWriteStream(path, { flags: 'a', mode: 0o600 }), opts);
  }

  debug(className: string, methodName: string, message: string): void {
    this.logger.debug({ c: className, m: methodName }, message);
  }

  info(className: string, methodName: string, message: string): void {
    this.logger.info({ c: className, m: methodName }, message);
  }

  warn(className: string, methodName: string, message: string): void {
    this.logger.warn({ c: className, m: methodName }, message);
  }

  error(className: string, methodName: string, message: string): void {
    this.logger.error({ c: className, m: methodName }, message);
  }

  /** Resolves once every line written so far is in the file. */
  flushed(): Promise<void> {
    if (this.failed || this.out.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      // An empty write's callback runs after every write queued before it.
      this.out.write('', () => resolve());
    });
  }

  /** Writes what is pending and closes the file. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.failed || this.out.writableEnded) return resolve();
      this.out.once('error', () => resolve());
      this.out.end(() => resolve());
    });
    return this.closing;
  }

  private writeRecord(json: string): void {
    if (this.failed || this.closing) return;
    const r = JSON.parse(json) as { level: number; time: number; c: string; m: string; msg?: string };
    this.seq += 1;
    this.out.write(formatLogLine({ line: this.seq, level: levelName(r.level), time: r.time, className: r.c, methodName: r.m, message: r.msg ?? '' }) + '\n');
  }
}
