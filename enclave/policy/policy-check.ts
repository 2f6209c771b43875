// The enclave's own policy, checked before it contributes to any signature (DESIGN.md "The trust
// boundary is the design": "the enclave's own policy allows it"; shared/cosigner-api/enclave-policy.ts).
// The coordinator's TAP may allow a transfer; this check runs after it, on what the enclave itself
// decoded (enclave/signing/evm-transfer.ts checked that the signed hash is this transfer), so no
// platform compromise lifts it. Windows count every transfer of the workspace's asset, whoever
// initiated it, from the spends sealed in state (a restart does not reset them).
//   - operation not allowed for the initiating user        POLICY_VIOLATION (operation)
//   - amount above the per-transaction limit               POLICY_VIOLATION (amount)
//   - destination outside the asset's allowlist            POLICY_VIOLATION (destination)
//   - window sum (sealed spends + this) above its limit    POLICY_VIOLATION (window)
//   - too many spends sealed to count one more             POLICY_VIOLATION (window-full)
// Pure: the clock is `now`.
import { createHash } from 'node:crypto';
import { CosignerError } from '../../shared/errors.js';
import { MAX_WINDOW_SECONDS, type PolicyOperation } from '../../shared/cosigner-api/enclave-policy.js';
import type { SignItemPayload } from '../../shared/cosigner-api/sign-item.js';
import { MAX_SEALED_SPENDS, type EnclaveState, type Spend } from '../state.js';

function violation(reason: string, message: string): CosignerError {
  return new CosignerError('POLICY_VIOLATION', message, { reason });
}

export interface PolicyDecision {
  /** A transfer under a window limit: the spend to seal before the enclave signs. */
  spend: Spend | null;
}

export function checkPolicy(
  state: EnclaveState,
  o: { serviceKeySha256: string; workspaceId: string; payload: SignItemPayload; now: number },
): PolicyDecision {
  const sealed = (state.policies ?? []).find((p) => p.serviceKeySha256 === o.serviceKeySha256 && p.workspaceId === o.workspaceId);
  if (!sealed) return { spend: null };
  const { policy } = sealed;
  const operation: PolicyOperation = o.payload.transfer ? 'TRANSFER' : 'RAW';
  const initiator = o.payload.initiatorId;
  const rule = initiator === undefined ? undefined : policy.users.find((u) => u.userId === initiator);
  // A workspace whose policy limits users' operations refuses work that names no initiator.
  if ((rule && !rule.operations.includes(operation)) || (initiator === undefined && policy.users.length > 0)) {
    throw violation('operation', `the enclave policy does not allow ${operation} for API user ${initiator ?? '(none named)'}`);
  }
  const t = o.payload.transfer;
  if (!t) return { spend: null };
  const limit = policy.assets.find((a) => a.assetId === t.assetId);
  if (!limit) return { spend: null };
  const amount = BigInt(t.amount);
  if (limit.maxAmountPerTransaction !== undefined && amount > BigInt(limit.maxAmountPerTransaction)) {
    throw violation('amount', `${t.amount} ${t.assetId} is above the enclave policy's limit of ${limit.maxAmountPerTransaction} per transaction`);
  }
  if (limit.allowedDestinations && !limit.allowedDestinations.some((d) => d.toLowerCase() === t.to.toLowerCase())) {
    throw violation('destination', `${t.to} is not on the enclave policy's allowlist for ${t.assetId}`);
  }
  if (!limit.window) return { spend: null };
  const since = o.now - limit.window.seconds * 1000;
  const transferDigest = createHash('sha256').update(`${t.chainId}:${t.serializedUnsigned}`).digest('hex');
  const inWindow = (state.spends ?? []).filter((s) => s.serviceKeySha256 === o.serviceKeySha256 && s.workspaceId === o.workspaceId && s.assetId === t.assetId && s.at > since);
  if (inWindow.some((s) => s.transferDigest === transferDigest)) return { spend: null };
  const spent = inWindow.reduce((sum, s) => sum + BigInt(s.amount), 0n);
  if (spent + amount > BigInt(limit.window.maxAmount)) {
    throw violation('window', `${t.amount} ${t.assetId} would bring the last ${limit.window.seconds} s to ${spent + amount}, above the enclave policy's ${limit.window.maxAmount}`);
  }
  if (liveSpends(state, o.now).length >= MAX_SEALED_SPENDS) throw violation('window-full', `${MAX_SEALED_SPENDS} transfers are counted in open windows; no more can be counted`);
  return { spend: { serviceKeySha256: o.serviceKeySha256, workspaceId: o.workspaceId, assetId: t.assetId, amount: t.amount, at: o.now, transferDigest } };
}

/** Spends still inside the longest possible window; older ones are dropped when the next is sealed. */
function liveSpends(state: EnclaveState, now: number): Spend[] {
  return (state.spends ?? []).filter((s) => s.at > now - MAX_WINDOW_SECONDS * 1000);
}

/** The state change that counts `spend` (and forgets spends no window can reach). */
export function recordSpend(spend: Spend): (s: EnclaveState) => EnclaveState {
  return (s) => ({ ...s, spends: [...liveSpends(s, spend.at), spend] });
}
