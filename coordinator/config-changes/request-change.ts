// Queuing a configuration change for the co-signer's Configuration Change Key
// (shared/cosigner-api/config-change.ts). The work item carries the initiator's REST request as
// received — method, request-target, the body's exact bytes and the JWT that signs them — so the
// enclave can check who asked for what without believing this coordinator.
//
// While a workspace has no paired co-signer there is no CCK to ask: changes take effect at once
// (a workspace is set up — its first API users, its first TAP — before its co-signer pairs).
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { ConfigChangePayload, ConfigChangeType } from '../../shared/cosigner-api/config-change.js';
import type { Db } from '../storage/database.js';
import type { WorkQueue } from '../work-queue/work-queue.js';

/** Whether the workspace has a paired co-signer (of an enabled API user) whose CCK must approve. */
export async function cckRequired(db: Db, workspaceId: string): Promise<boolean> {
  const row = await db.selectFrom('cosigners').innerJoin('api_users', 'api_users.id', 'cosigners.api_user_id')
    .select('cosigners.id').where('cosigners.workspace_id', '=', workspaceId).where('api_users.enabled', '=', 1).executeTakeFirst();
  return row !== undefined;
}

/** The initiator's request as the enclave will check it (the JWT verified by authenticate.ts). */
export function initiatorRequest(request: FastifyRequest): ConfigChangePayload['request'] {
  const m = /^Bearer (\S+)$/.exec(String(request.headers.authorization ?? '').trim());
  return { method: request.method as ConfigChangePayload['request']['method'], path: request.url, body: request.rawBody.toString('utf8'), jwt: m?.[1] ?? '' };
}

export interface QueuedChange {
  changeId: string;
  workItemId: string;
}

/** Records the change as WAITING_FOR_APPROVAL and queues its CONFIG_CHANGE_APPROVAL item, in `trx`. */
export async function queueConfigChange(
  trx: Db,
  queue: WorkQueue,
  o: { workspaceId: string; type: ConfigChangeType; initiatorId: string; request: ConfigChangePayload['request']; displayInfo?: string },
): Promise<QueuedChange> {
  const changeId = randomUUID();
  const payload: ConfigChangePayload = { changeId, type: o.type, initiatorId: o.initiatorId, request: o.request, displayInfo: (o.displayInfo ?? '').slice(0, 512) };
  const workItemId = await queue.enqueue(trx, o.workspaceId, 'CONFIG_CHANGE_APPROVAL', payload);
  await trx.insertInto('config_changes').values({
    id: changeId, workspace_id: o.workspaceId, type: o.type, initiator_id: o.initiatorId, work_item_id: workItemId,
    status: 'WAITING_FOR_APPROVAL', reason: null, decided_by: null, created_at: Date.now(), decided_at: null,
  }).execute();
  return { changeId, workItemId };
}
