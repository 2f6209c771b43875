// The callback request the enclave builds for a checked SIGN item (DESIGN.md "Callback handler":
// the claims come from the verified work item, never from the parent). `rawTx[].payload` is the
// hex of exactly what the enclave will sign: for a transfer the keccak256 it recomputed from the
// unsigned transaction (also given, as `preHash`), for RAW the message itself.
// What the work item does not carry yet is sent empty: source vault id, destination id and type,
// note. `amountStr` is in the asset's base units (wei for ETH): the item carries no decimals; a
// RAW signing moves no amount ("0") and names its algorithm as the asset.
import type { TxSignRequestClaims } from '../../shared/callback/claims.js';
import type { CheckedSignItem } from '../signing/approve-sign-item.js';

export function signRequestClaims(item: CheckedSignItem, signerId: string, toSign: readonly Uint8Array[]): TxSignRequestClaims {
  const p = item.payload;
  const t = p.transfer;
  const rawTx = p.messages.map((m, i) => ({
    payload: Buffer.from(toSign[i]!).toString('hex'),
    derivationPath: [...m.derivationPath],
    ...(t ? { preHash: { content: t.serializedUnsigned, hashAlgorithm: 'KECCAK256' } } : {}),
  }));
  return {
    requestId: item.id,
    txId: p.transactionId,
    operation: t ? 'TRANSFER' : 'RAW',
    sourceType: 'VAULT_ACCOUNT',
    sourceId: '',
    destType: t ? 'ONE_TIME_ADDRESS' : '',
    destId: '',
    destAddress: t?.to ?? '',
    asset: t?.assetId ?? p.algorithm,
    amountStr: t?.amount ?? '0',
    destinations: t ? [{ amountNativeStr: t.amount, dstType: 'ONE_TIME_ADDRESS', displayDstAddress: t.to }] : [],
    rawTx,
    signerId,
    note: '',
  };
}
