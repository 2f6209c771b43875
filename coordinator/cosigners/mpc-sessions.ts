// Who may speak in an MPC session: the co-signer holding the lease of the work item that named it
// (or, once the item is done, its last holder). Sessions are recorded with their work item when
// the item is made (mpc_sessions, coordinator/mpc/signing-requests.ts), so the relay reads the
// mapping from there.
import { CosignerError } from '../../shared/errors.js';
import type { Db } from '../storage/database.js';
import type { CosignersTable } from '../storage/schema.js';

export function sessionForbidden(): CosignerError {
  // One answer for "no such session" and "not yours": a co-signer learns nothing of others' sessions.
  return new CosignerError('CONFLICT', 'this co-signer does not hold the work item of this MPC session', { reason: 'mpc-session-forbidden' });
}

/** Throws unless `cosigner` may use the session now. */
export async function checkSessionAccess(db: Db, sessionId: string, cosigner: CosignersTable, now = Date.now()): Promise<void> {
  const row = await db.selectFrom('mpc_sessions').innerJoin('work_items', 'work_items.id', 'mpc_sessions.work_item_id')
    .select(['work_items.workspace_id', 'work_items.state', 'work_items.lease_owner', 'work_items.lease_expires_at'])
    .where('mpc_sessions.id', '=', sessionId).executeTakeFirst();
  if (!row || row.workspace_id !== cosigner.workspace_id || row.lease_owner !== cosigner.id) throw sessionForbidden();
  const live = row.state === 'LEASED' && row.lease_expires_at !== null && Number(row.lease_expires_at) > now;
  if (!live && row.state !== 'DONE') throw sessionForbidden();
}
