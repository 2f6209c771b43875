// Delivers the webhook outbox: POSTs each event's exact bytes with a `Fireblocks-Signature`
// header (base64 RSA-SHA512 of the body, under the coordinator's webhook key), retries failures
// with exponential backoff (1 s, 2 s, 4 s … capped at 10 min) up to MAX_ATTEMPTS, and records
// every outcome. One delivery at a time per dispatcher, each bounded by a timeout.
import { sign } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import type { Db } from '../storage/database.js';
import type { WebhookKey } from '../secrets/service-keys.js';

export const MAX_ATTEMPTS = 12;
const TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 10 * 60_000;

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly db: Db, private readonly key: () => Promise<WebhookKey>, private readonly log: Logger, private readonly intervalMs = 250) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.deliverDue().then(() => undefined, (e: unknown) => this.log.error({ errorName: (e as Error).name }, 'webhook dispatch failed')).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Delivers every due event once; returns how many were attempted. */
  async deliverDue(): Promise<number> {
    const due = await this.db.selectFrom('webhook_deliveries').innerJoin('webhooks', 'webhooks.id', 'webhook_deliveries.webhook_id')
      .select(['webhook_deliveries.id as id', 'webhook_deliveries.payload as payload', 'webhook_deliveries.attempts as attempts', 'webhooks.url as url'])
      .where('webhook_deliveries.state', '=', 'PENDING').where('webhook_deliveries.next_attempt_at', '<=', Date.now())
      .orderBy('webhook_deliveries.next_attempt_at').limit(20).execute();
    if (due.length === 0) return 0;
    const key = await this.key();
    for (const d of due) {
      if (this.stopped) break;
      const signature = sign('sha512', Buffer.from(d.payload), key.privateKey).toString('base64');
      let error: string | null = null;
      try {
        const res = await fetch(d.url, { method: 'POST', headers: { 'content-type': 'application/json', 'fireblocks-signature': signature }, body: d.payload, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual' });
        await res.body?.cancel();
        if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
      } catch (e) {
        error = (e as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS} ms` : 'connection failed';
      }
      const attempts = d.attempts + 1;
      if (error === null) {
        await this.db.updateTable('webhook_deliveries').set({ state: 'DELIVERED', attempts, last_error: null }).where('id', '=', d.id).execute();
      } else {
        const final = attempts >= MAX_ATTEMPTS;
        await this.db.updateTable('webhook_deliveries').set({ state: final ? 'FAILED' : 'PENDING', attempts, last_error: error, next_attempt_at: Date.now() + Math.min(1000 * 2 ** (attempts - 1), MAX_BACKOFF_MS) }).where('id', '=', d.id).execute();
        this.log.warn({ delivery: d.id, attempts, final, reason: error }, final ? 'webhook delivery given up' : 'webhook delivery failed; will retry');
      }
    }
    return due.length;
  }
}
