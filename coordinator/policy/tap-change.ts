// Publishing a TAP version approved by the co-signer's CCK (config-changes/apply-change.ts): the
// document published is the body the initiating Admin signed.
import { publishPolicyIn } from '../storage/policy-store.js';
import type { ChangeApplier } from '../config-changes/apply-change.js';

export const tapApplier: ChangeApplier = {
  async approved(trx, item, change, body) {
    await publishPolicyIn(trx, item.workspace_id, body, change.initiatorId);
  },
};
