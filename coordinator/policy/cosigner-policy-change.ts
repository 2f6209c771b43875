// An enclave policy approved by the co-signer's CCK (config-changes/apply-change.ts): recorded as the
// workspace's current one. The enclave sealed it before it reported the approval.
import { parseEnclavePolicy } from '../../shared/cosigner-api/enclave-policy.js';
import type { ChangeApplier } from '../config-changes/apply-change.js';

export const cosignerPolicyApplier: ChangeApplier = {
  async approved(trx, item, change, body) {
    await trx.insertInto('cosigner_policies').values({
      change_id: change.changeId, workspace_id: item.workspace_id, document: JSON.stringify(parseEnclavePolicy(body)), approved_by: item.lease_owner ?? '', approved_at: Date.now(),
    }).execute();
  },
};
