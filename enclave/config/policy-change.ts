// Sealing a CCK-approved enclave policy (shared/cosigner-api/enclave-policy.ts) for a workspace:
// the new document replaces the old one; window counters are kept (a new policy does not reset
// what was spent in the window).
import { createHash } from 'node:crypto';
import { changeApprovalBytes, changeBody, type ChangeApproval, type ConfigChangePayload } from '../../shared/cosigner-api/config-change.js';
import { parseEnclavePolicy } from '../../shared/cosigner-api/enclave-policy.js';
import type { EnclaveState } from '../state.js';

export function approvalDigest(a: ChangeApproval): string {
  return createHash('sha256').update(changeApprovalBytes(a)).digest('hex');
}

export function setPolicy(o: { serviceKeySha256: string; workspaceId: string; payload: ConfigChangePayload; approval: ChangeApproval; now: number }): (s: EnclaveState) => EnclaveState {
  const policy = parseEnclavePolicy(changeBody(o.payload));
  const entry = { serviceKeySha256: o.serviceKeySha256, workspaceId: o.workspaceId, policy, changeId: o.payload.changeId, approvalSha256: approvalDigest(o.approval), setAt: o.now };
  return (s) => ({
    ...s,
    policies: [...(s.policies ?? []).filter((p) => !(p.serviceKeySha256 === o.serviceKeySha256 && p.workspaceId === o.workspaceId)), entry],
  });
}
