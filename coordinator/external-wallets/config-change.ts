// Whitelisting is a configuration change: adding an address to an external wallet queues a
// CONFIG_CHANGE_APPROVAL work item (config-changes/request-change.ts) and the address stays
// WAITING_FOR_APPROVAL until a co-signer's Configuration Change Key decides
// (config-changes/apply-change.ts). On approval the address must be the one the initiator signed
// (its request body, normalised as the route normalised it), or nothing is approved.
import { CosignerError } from '../../shared/errors.js';
import { normaliseAddress, type AssetCatalogue } from '../assets/index.js';
import type { ChangeApplier, ChangeStatus } from '../config-changes/apply-change.js';

const ASSET_STATUS: Record<ChangeStatus, string> = { APPROVED: 'APPROVED', REJECTED: 'REJECTED', CANCELLED: 'CANCELLED', FAILED: 'FAILED' };

export function whitelistApplier(assets: AssetCatalogue): ChangeApplier {
  return {
    async approved(trx, item, change, body) {
      const [, , , walletId, assetId] = change.request.path.split('/');
      const row = await trx.selectFrom('external_wallet_assets').select('address').where('wallet_id', '=', walletId!).where('asset_id', '=', assetId!).where('work_item_id', '=', item.id).executeTakeFirst();
      const signed = normaliseAddress(assets.get(assetId!), (body as { address?: unknown }).address);
      if (!row || row.address !== signed) throw new CosignerError('SCHEMA_VIOLATION', 'the whitelisted address is not the one the initiator signed');
    },
    async decided(trx, item, change, status) {
      const [, , , walletId, assetId] = change.request.path.split('/');
      await trx.updateTable('external_wallet_assets').set({ status: ASSET_STATUS[status] })
        .where('wallet_id', '=', walletId!).where('asset_id', '=', assetId!).where('work_item_id', '=', item.id).where('status', '=', 'WAITING_FOR_APPROVAL').execute();
    },
  };
}
