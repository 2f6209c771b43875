// What the enclave signs for a checked SIGN item (DESIGN.md "The trust boundary is the design":
// "the hash signed is the approved content"). The approved content is the callback's answer to a
// request the enclave builds from the verified item; with no callback configured for the user the
// item's own content is approved, and the caller logs that (DESIGN.md "Callback handler").
//   TRANSFER: the enclave decodes the unsigned EIP-1559 transaction itself and signs keccak256 of
//             it only if chain id, destination and amount are the approved ones (evm-transfer.ts);
//   RAW:      each message byte-equal to the approved payload (raw-check.ts).
// Not yet bound: which ERC-20 contract an asset id means. Until the enclave holds its own asset
// table (enclave policy), a token transfer's contract is the one the coordinator's transaction
// calls, so the coordinator is trusted for "this contract is USDC"; recipient and amount are not.
import { decodeEip1559Unsigned, checkEvmTransfer, type ApprovedEvmTransfer } from './evm-transfer.js';
import { checkRawMessages } from './raw-check.js';
import type { CheckedWorkItem } from './work-item-check.js';

export type CheckedSignItem = CheckedWorkItem & { kind: 'SIGN' };

/**
 * The bytes to sign per message, each recomputed or compared here. `approvedRaw[index]`: the RAW
 * payloads the callback approved; null when no callback is configured (the item's own contents).
 */
export function messagesToSign(item: CheckedSignItem, approvedRaw: readonly Uint8Array[] | null): Uint8Array[] {
  const p = item.payload;
  if (p.transfer) {
    const t = p.transfer;
    const tx = decodeEip1559Unsigned(new Uint8Array(Buffer.from(t.serializedUnsigned.replace(/^0x/, ''), 'hex')));
    const asset: ApprovedEvmTransfer['asset'] = tx.data.length === 0 ? { kind: 'NATIVE' } : { kind: 'ERC20', contract: `0x${Buffer.from(tx.to).toString('hex')}` };
    return [checkEvmTransfer(t.serializedUnsigned, { chainId: t.chainId, asset, to: t.to, amount: t.amount }, p.messages[0]!.content)];
  }
  let approved = approvedRaw;
  if (!approved) {
    const own: Uint8Array[] = [];
    for (const m of p.messages) own[m.index] = new Uint8Array(Buffer.from(m.content, 'hex'));
    approved = own;
  }
  return checkRawMessages(p.algorithm, p.messages, approved);
}
