// Whitelisting is a configuration change: adding an address to an external wallet makes a
// CONFIG_CHANGE_APPROVAL work item, and the address stays WAITING_FOR_APPROVAL until a co-signer
// reports its Configuration Change Key's decision (the enclave side of that comes with the
// co-signer configuration issue). The decision takes effect in the same database transaction as
// the report (WorkQueue.complete's apply).
import { CosignerError } from '../../shared/errors.js';
import type { Db } from '../storage/database.js';
import type { WorkItemsTable } from '../storage/schema.js';

export interface AddAddressChange {
  type: 'ADD_WHITELISTED_ADDRESS';
  walletId: string;
  walletName: string;
  assetId: string;
  address: string;
  tag: string;
}

export interface ConfigChangeResult {
  action: 'APPROVE' | 'REJECT';
  rejectionReason?: string;
}

export function parseConfigChangeResult(v: unknown): ConfigChangeResult {
  const r = v as ConfigChangeResult;
  if (typeof r !== 'object' || r === null || (r.action !== 'APPROVE' && r.action !== 'REJECT')) {
    throw new CosignerError('SCHEMA_VIOLATION', 'a configuration change result is {action: APPROVE | REJECT, rejectionReason?}');
  }
  return r;
}

/** WorkQueue.complete's `apply` for a configuration change. */
export async function applyConfigChange(trx: Db, item: WorkItemsTable, result: ConfigChangeResult): Promise<void> {
  const change = JSON.parse(item.payload) as AddAddressChange;
  if (change.type !== 'ADD_WHITELISTED_ADDRESS') throw new CosignerError('SCHEMA_VIOLATION', `unknown configuration change ${String(change.type)}`);
  await trx.updateTable('external_wallet_assets').set({ status: result.action === 'APPROVE' ? 'APPROVED' : 'REJECTED' })
    .where('wallet_id', '=', change.walletId).where('asset_id', '=', change.assetId).where('work_item_id', '=', item.id).where('status', '=', 'WAITING_FOR_APPROVAL').execute();
}
