// Sends run.log (the setup and configuration history) to the coordinator of every active pairing
// after each configuration command and at start, so the platform's support staff see what was
// configured here (PUT /cosigner/v1/run-log). A failure is logged and tried again at the next
// command or start: it never fails the command. What each co-signer id last received (SHA-256 of
// the text) is kept in <state-dir>/run-log-delivery.json, so a restart sends only what is missing.
// The text is the newest whole lines that fit in the coordinator's 1 MiB bound.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.js';
import { describeError } from '../../shared/errors.js';
import { MAX_RUN_LOG_BYTES } from '../../shared/cosigner-api/run-log.js';
import { CosignerApiClient } from '../coordinator/cosigner-api-client.js';
import type { PairingRecord } from '../pairing/pairing-records.js';
import type { CustomerLog } from './customer-log.js';

export const RUN_LOG_DELIVERY_FILE = 'run-log-delivery.json';

/** What the coordinator can take: the whole file, or its newest whole lines within `max` bytes. */
export async function runLogTail(path: string, max = MAX_RUN_LOG_BYTES): Promise<string | null> {
  let h;
  try {
    h = await fsp.open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const { size } = await h.stat();
    if (size <= max) return (await h.readFile()).toString('utf8');
    // The last max bytes and the one before them: a line starts after the first newline.
    const buf = Buffer.alloc(max + 1);
    await h.read(buf, 0, max + 1, size - max - 1);
    const nl = buf.indexOf(0x0a);
    return nl < 0 ? '' : buf.subarray(nl + 1).toString('utf8');
  } finally {
    await h.close();
  }
}

export interface RunLogDeliveryOptions {
  stateDir: string;
  runLogPath: string;
  log: Logger;
  /** Where failures are told to the operator too (customer_cosigner.log). */
  customerLog?: CustomerLog;
  /** The API client of a pairing (default: a new CosignerApiClient, closed after the call). */
  clientFor?: (r: PairingRecord) => Pick<CosignerApiClient, 'putRunLog' | 'close'>;
}

export class RunLogDelivery {
  private running: Promise<void> | null = null;
  private again: PairingRecord[] | null = null;

  constructor(private readonly o: RunLogDeliveryOptions) {}

  /**
   * Sends run.log to each of `records` that has not received this text yet. Calls made while one
   * runs are folded into one more round after it. Never rejects.
   */
  deliver(records: PairingRecord[]): Promise<void> {
    if (this.running) {
      this.again = records;
      return this.running;
    }
    this.running = (async () => {
      let next: PairingRecord[] | null = records;
      while (next) {
        this.again = null;
        await this.round(next).catch((e: unknown) => this.o.log.error(`run.log delivery failed: ${describeError(e)}`));
        next = this.again;
      }
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async round(records: PairingRecord[]): Promise<void> {
    const text = await runLogTail(this.o.runLogPath);
    if (text === null || records.length === 0) return;
    const digest = createHash('sha256').update(text).digest('hex');
    const delivered = await this.load();
    let changed = false;
    for (const r of records) {
      if (delivered[r.cosignerId] === digest) continue;
      const client = this.o.clientFor ? this.o.clientFor(r) : new CosignerApiClient({ baseUrl: r.coordinatorUrl, refreshToken: r.refreshToken, logger: this.o.log });
      try {
        const receipt = await client.putRunLog(text);
        delivered[r.cosignerId] = digest;
        changed = true;
        this.o.log.info({ cosignerId: r.cosignerId, sizeBytes: receipt.sizeBytes }, 'run.log delivered to the coordinator');
      } catch (e) {
        const why = describeError(e);
        this.o.log.warn({ cosignerId: r.cosignerId }, `run.log not delivered to the coordinator (tried again at the next configuration command or start): ${why}`);
        this.o.customerLog?.warn('RunLogDelivery', 'deliver', `run.log not delivered to ${new URL(r.coordinatorUrl).origin} for co-signer ${r.cosignerId}; it is sent again with the next configuration command or start: ${why}`);
      } finally {
        client.close();
      }
    }
    if (changed) await this.save(delivered);
  }

  private get statePath(): string {
    return join(this.o.stateDir, RUN_LOG_DELIVERY_FILE);
  }

  private async load(): Promise<Record<string, string>> {
    try {
      const v = JSON.parse(await fsp.readFile(this.statePath, 'utf8')) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).filter(([, d]) => typeof d === 'string')) as Record<string, string>;
    } catch {
      // Missing or unreadable: everything is sent again, which the coordinator takes as a replacement.
    }
    return {};
  }

  private async save(delivered: Record<string, string>): Promise<void> {
    const tmp = `${this.statePath}.${randomBytes(6).toString('hex')}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify(delivered, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    await fsp.rename(tmp, this.statePath);
  }
}
