// Webhook events are written to an outbox in the same database transaction as the change they
// report (a transaction created, a status changed), and delivered afterwards by the dispatcher:
// a receiver that is slow or down never delays or fails the transaction itself, and no event is
// lost by a crash between the change and its delivery.
import { randomUUID } from 'node:crypto';
import type { Db } from '../storage/database.js';

export const WEBHOOK_EVENTS = ['transaction.created', 'transaction.status.updated'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export async function recordEvent(trx: Db, workspaceId: string, eventType: WebhookEvent, resourceId: string, data: unknown): Promise<void> {
  const hooks = await trx.selectFrom('webhooks').select(['id', 'events']).where('workspace_id', '=', workspaceId).where('status', '=', 'ENABLED').execute();
  const now = Date.now();
  for (const h of hooks) {
    if (!(JSON.parse(h.events) as string[]).includes(eventType)) continue;
    const id = randomUUID();
    const payload = JSON.stringify({ id, eventType, eventVersion: 1, resourceId, workspaceId, createdAt: now, data });
    await trx.insertInto('webhook_deliveries').values({ id, webhook_id: h.id, event_type: eventType, payload, state: 'PENDING', attempts: 0, next_attempt_at: now, last_error: null, created_at: now }).execute();
  }
}
