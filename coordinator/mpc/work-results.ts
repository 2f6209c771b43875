// What a co-signer's report on a KEYGEN or SIGN item does (registered with app.workResults; runs
// in WorkQueue.complete's transaction). The coordinator's own sessions are the record of what was
// signed; the report adds what only the co-signer knows: that its callback handler or enclave
// policy REJECTED the request (the transaction is rejected, nothing more is signed for it), or
// that it FAILED to take part (sessions not finished are issued again, within the attempt limit,
// unless the report is final: its callback gave no approval, and the transaction fails).
import { CosignerError, isCosignerError } from '../../shared/errors.js';
import * as s from '../../shared/schema.js';
import { MpcWorkResultSchema, type MpcWorkResult } from '../../shared/cosigner-api/mpc-work-result.js';
import type { Db } from '../storage/database.js';
import type { WorkItemsTable } from '../storage/schema.js';
import type { WorkQueue } from '../work-queue/work-queue.js';
import type { WorkResultHandler } from '../cosigners/work-results.js';
import { recordRejection, recordSigningFailure } from './signature-result.js';
import { reissueSigning, requestMasterKeys, type KeygenItemPayload } from './signing-requests.js';
import type { MasterKeys } from './master-keys.js';

function parse(result: unknown): MpcWorkResult {
  try {
    return s.parse(MpcWorkResultSchema, result) as MpcWorkResult;
  } catch (e) {
    if (isCosignerError(e, 'SCHEMA_VIOLATION')) throw new CosignerError('SCHEMA_VIOLATION', `MPC work result: ${e.message}`);
    throw e;
  }
}

/** Ends the item's sessions that are still open (the co-signer will not continue them). */
async function closeOpen(trx: Db, item: WorkItemsTable, why: string): Promise<void> {
  await trx.updateTable('mpc_sessions').set({ state: 'FAILED', failure: why.slice(0, 500), updated_at: Date.now() })
    .where('work_item_id', '=', item.id).where('state', '=', 'OPEN').execute();
}

/**
 * KEYGEN: GENERATED (the co-signer stored its share) makes the pending key ACTIVE; anything else
 * drops a pending key, so a workspace never keeps a key whose co-signer share may not exist, and
 * FAILED asks for a new key generation (at most MAX_KEYGEN_ATTEMPTS failures per algorithm).
 */
/** Key generations of one algorithm that may fail in a workspace before the coordinator stops asking (an operator then looks). */
export const MAX_KEYGEN_ATTEMPTS = 5;

export function keygenResults(queue: WorkQueue, masterKeys: MasterKeys): WorkResultHandler<MpcWorkResult> {
  return {
    parse,
    async apply(trx, item, r) {
      const p = JSON.parse(item.payload) as KeygenItemPayload;
      if (r.outcome === 'GENERATED') {
        if (!(await masterKeys.activate(trx, p.sessionId))) throw new CosignerError('CONFLICT', 'GENERATED reported, but this key generation left no pending key (it did not finish on the coordinator\'s side)');
        return;
      }
      await closeOpen(trx, item, `co-signer reported ${r.outcome}: ${r.reason ?? ''}`);
      // The co-signer holds no share of this key: the coordinator's pending one is of no use.
      await masterKeys.discardPending(trx, p.sessionId);
      // REJECTED: it will not generate this key (it holds another one): asking again cannot help.
      // FAILED: asked again, a bounded number of times, so a co-signer that always fails does not
      // turn the queue into a loop.
      if (r.outcome !== 'FAILED') return;
      const failed = await trx.selectFrom('mpc_sessions').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('workspace_id', '=', item.workspace_id).where('kind', '=', 'KEYGEN').where('algorithm', '=', p.algorithm).where('state', '=', 'FAILED').executeTakeFirst();
      if (Number(failed?.n ?? 0) >= MAX_KEYGEN_ATTEMPTS) return;
      await requestMasterKeys(trx, queue, masterKeys, item.workspace_id, [p.algorithm]);
    },
  };
}

export function signResults(queue: WorkQueue): WorkResultHandler<MpcWorkResult> {
  return {
    parse,
    async apply(trx, item, r) {
      if (r.outcome === 'SIGNED' || r.outcome === 'GENERATED') return;
      const txId = (JSON.parse(item.payload) as { transactionId: string }).transactionId;
      const reason = `co-signer ${r.outcome === 'REJECTED' ? 'rejected' : 'failed'}: ${r.reason ?? 'no reason given'}`;
      await closeOpen(trx, item, reason);
      if (r.outcome === 'REJECTED') return recordRejection(trx, txId, reason);
      // final: the co-signer's callback gave no approval; another item would only ask it again.
      if (r.final) return recordSigningFailure(trx, txId, reason);
      if ((await reissueSigning(trx, queue, txId)).kind === 'exhausted') await recordSigningFailure(trx, txId, reason);
    },
  };
}
