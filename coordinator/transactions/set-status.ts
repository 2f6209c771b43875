// The one way a transaction's status changes: along the edges of status.ts, compare-and-set on the
// status read, in the caller's database transaction, with its webhook event in the same transaction.
import { ApiCode, ApiError } from '../api-error.js';
import type { Db } from '../storage/database.js';
import type { TransactionsTable } from '../storage/schema.js';
import { recordEvent } from '../webhooks/outbox.js';
import { canMove, type TxStatus } from './status.js';

/** Move a transaction's status in the caller's db transaction; refuses a move the table does not allow. */
export async function setStatus(db: Db, row: TransactionsTable, to: TxStatus, subStatus: string): Promise<void> {
  if (!canMove(row.status as TxStatus, to)) throw new ApiError(400, ApiCode.INVALID_REQUEST, `Transaction ${row.id} cannot move from ${row.status} to ${to}`);
  const r = await db.updateTable('transactions').set({ status: to, sub_status: subStatus, last_updated: Date.now() })
    .where('id', '=', row.id).where('status', '=', row.status).executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new ApiError(409, ApiCode.CONFLICT, `Transaction ${row.id} changed meanwhile; read it again`);
  await recordEvent(db, row.workspace_id, 'transaction.status.updated', row.id, { id: row.id, status: to, subStatus, previousStatus: row.status });
}
