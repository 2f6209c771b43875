// A co-signer's result for a CONFIG_CHANGE_APPROVAL item (WorkQueue.complete's apply, in the same
// transaction as the report). An APPROVE counts only with a CCK signature that verifies under the
// CCK pinned at pairing for the co-signer that held the lease, over the approval recomputed here
// from the item as stored; the change is then applied from the initiator's signed request body.
// Anything else — REJECT, IGNORE, FAILED, or a signature that does not verify (another co-signer's
// CCK, a payload changed after approval) — is recorded and applies nothing.
import { createPublicKey } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import { isCosignerError } from '../../shared/errors.js';
import {
  changeApproval, parseConfigChangePayload, parseConfigChangeResult, verifyChangeApproval,
  type ConfigChangePayload, type ConfigChangeResult, type ConfigChangeType,
} from '../../shared/cosigner-api/config-change.js';
import type { Db } from '../storage/database.js';
import type { WorkItemsTable } from '../storage/schema.js';
import type { WorkResultHandler } from '../cosigners/work-results.js';

export type ChangeStatus = 'APPROVED' | 'REJECTED' | 'CANCELLED' | 'FAILED';

/** What a change type does once decided; `decided` runs for every outcome (e.g. to mark a whitelisted address). */
export interface ChangeApplier {
  approved(trx: Db, item: WorkItemsTable, change: ConfigChangePayload, body: unknown): Promise<void>;
  decided?(trx: Db, item: WorkItemsTable, change: ConfigChangePayload, status: ChangeStatus): Promise<void>;
}

const STATUS: Record<Exclude<ConfigChangeResult['action'], 'APPROVE'>, ChangeStatus> = { REJECT: 'REJECTED', IGNORE: 'CANCELLED', FAILED: 'FAILED' };

export function configChangeResults(appliers: Partial<Record<ConfigChangeType, ChangeApplier>>, log: Logger): WorkResultHandler<ConfigChangeResult> {
  return {
    parse: parseConfigChangeResult,
    async apply(trx, item, result) {
      const change = parseConfigChangePayload(JSON.parse(item.payload));
      const applier = appliers[change.type];
      let status: ChangeStatus;
      let reason: string | null = result.rejectionReason ?? null;
      if (result.action !== 'APPROVE') {
        status = STATUS[result.action];
      } else if (!(await signedByLeaseholder(trx, item, change, result.signature!))) {
        status = 'FAILED';
        reason = 'CCK_SIGNATURE_INVALID: the approval is not signed by the Configuration Change Key pinned for this co-signer over this change';
        log.error({ changeId: change.changeId, itemId: item.id, cosignerId: item.lease_owner }, 'configuration change approval refused: the CCK signature does not verify; nothing applied');
      } else if (!applier) {
        status = 'FAILED';
        reason = `no applier for ${change.type}`;
      } else {
        // An applier checks before it writes, so a refusal here leaves nothing half-applied.
        try {
          await applier.approved(trx, item, change, JSON.parse(change.request.body));
          status = 'APPROVED';
        } catch (e) {
          if (!isCosignerError(e)) throw e;
          status = 'FAILED';
          reason = `approved, but not applicable: ${e.message}`;
          log.error({ changeId: change.changeId, itemId: item.id }, `configuration change approved but not applied: ${e.message.slice(0, 200)}`);
        }
      }
      await applier?.decided?.(trx, item, change, status);
      await trx.updateTable('config_changes').set({ status, reason: reason?.slice(0, 500) ?? null, decided_by: item.lease_owner, decided_at: Date.now() })
        .where('id', '=', change.changeId).where('work_item_id', '=', item.id).execute();
      log.info({ changeId: change.changeId, type: change.type, status, cosignerId: item.lease_owner }, 'configuration change decided');
    },
  };
}

async function signedByLeaseholder(trx: Db, item: WorkItemsTable, change: ConfigChangePayload, signature: string): Promise<boolean> {
  if (!item.lease_owner) return false;
  const c = await trx.selectFrom('cosigners').select(['cck_public_key', 'workspace_id']).where('id', '=', item.lease_owner).executeTakeFirst();
  if (!c || c.workspace_id !== item.workspace_id) return false;
  let key;
  try {
    key = createPublicKey({ key: Buffer.from(c.cck_public_key, 'base64'), format: 'der', type: 'spki' });
  } catch {
    return false;
  }
  if (key.asymmetricKeyType !== 'ed25519') return false;
  return verifyChangeApproval(changeApproval({ id: item.id, workspaceId: item.workspace_id }, change), signature, key);
}
