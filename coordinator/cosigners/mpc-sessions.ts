// Which work item an MPC session belongs to. A work item that runs a session names it in its
// payload (`sessionId`, 64 hex); the mapping is written when the item is first leased, and the
// relay lets only the co-signer holding that item's lease (or, once done, its last holder) speak
// in the session.
import { CosignerError } from '../../shared/errors.js';
import type { Db } from '../storage/database.js';
import { isUniqueViolation } from '../plugins/authenticate.js';
import type { CosignersTable } from '../storage/schema.js';

export function sessionIdOfPayload(payload: unknown): string | null {
  const v = (payload as { sessionId?: unknown } | null)?.sessionId;
  return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? v : null;
}

/** Records sessionId → work item; false if the session already belongs to another item. */
export async function recordMpcSession(db: Db, sessionId: string, workItemId: string, workspaceId: string): Promise<boolean> {
  try {
    await db.insertInto('mpc_sessions').values({ session_id: sessionId, work_item_id: workItemId, workspace_id: workspaceId, created_at: Date.now() }).execute();
    return true;
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    const cur = await db.selectFrom('mpc_sessions').select('work_item_id').where('session_id', '=', sessionId).executeTakeFirst();
    return cur?.work_item_id === workItemId;
  }
}

export function sessionForbidden(): CosignerError {
  // One answer for "no such session" and "not yours": a co-signer learns nothing of others' sessions.
  return new CosignerError('CONFLICT', 'this co-signer does not hold the work item of this MPC session', { reason: 'mpc-session-forbidden' });
}

/** Throws unless `cosigner` may use the session now. */
export async function checkSessionAccess(db: Db, sessionId: string, cosigner: CosignersTable, now = Date.now()): Promise<void> {
  const row = await db.selectFrom('mpc_sessions').innerJoin('work_items', 'work_items.id', 'mpc_sessions.work_item_id')
    .select(['work_items.workspace_id', 'work_items.state', 'work_items.lease_owner', 'work_items.lease_expires_at'])
    .where('mpc_sessions.session_id', '=', sessionId).executeTakeFirst();
  if (!row || row.workspace_id !== cosigner.workspace_id || row.lease_owner !== cosigner.id) throw sessionForbidden();
  const live = row.state === 'LEASED' && row.lease_expires_at !== null && Number(row.lease_expires_at) > now;
  if (!live && row.state !== 'DONE') throw sessionForbidden();
}
