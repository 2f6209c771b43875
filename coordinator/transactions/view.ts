// A stored transaction as GET /v1/transactions/{id} returns it: the TransactionResponse fields both
// SDKs type (reference §3), including the deprecated numeric ones v5 marks non-optional.
import { formatAmount, type AssetCatalogue } from '../assets/index.js';
import { authorizationInfo, type AuthorizationInfo, type Vote } from '../policy/index.js';
import type { TransactionsTable } from '../storage/schema.js';
import type { StoredRequest } from './create.js';
import { storedDecision } from './create.js';

export interface SignedMessageJson {
  content: string;
  algorithm: string;
  derivationPath: number[];
  signature: { fullSig: string; r?: string; s?: string; v?: number };
  publicKey: string;
}

export interface TransactionResult {
  signedMessages?: SignedMessageJson[];
  txHash?: string;
  numOfConfirmations?: number;
  blockInfo?: { blockHeight: string; blockHash: string };
  networkFee?: string;
  errorDescription?: string;
  sourceAddress?: string;
}

export function transactionJson(row: TransactionsTable, assets: AssetCatalogue, votes: readonly Vote[]) {
  const req = JSON.parse(row.request) as StoredRequest;
  const result = (row.result ? JSON.parse(row.result) : {}) as TransactionResult;
  const decimals = row.asset_id && assets.has(row.asset_id) ? assets.get(row.asset_id).decimals : 0;
  const amount = row.amount !== null ? formatAmount(BigInt(row.amount), decimals) : '0';
  const { decision } = storedDecision(row);
  const auth: AuthorizationInfo = authorizationInfo(decision, votes, { initiator: row.created_by });
  const destination = req.destination?.type === 'VAULT_ACCOUNT'
    ? { type: 'VAULT_ACCOUNT', id: req.destination.id, name: '', subType: '' }
    : req.destination ? { type: 'ONE_TIME_ADDRESS', name: 'N/A', subType: '' } : { type: 'UNKNOWN', name: '', subType: '' };
  return {
    id: row.id,
    externalTxId: row.external_tx_id ?? undefined,
    status: row.status,
    subStatus: row.sub_status,
    txHash: result.txHash ?? '',
    operation: row.operation,
    note: row.note ?? '',
    assetId: row.asset_id ?? undefined,
    source: { type: 'VAULT_ACCOUNT', id: row.source_id ?? '', name: '', subType: '' },
    sourceAddress: result.sourceAddress ?? '',
    destination,
    destinations: [],
    destinationAddress: row.destination_address ?? '',
    destinationAddressDescription: '',
    destinationTag: '',
    addressType: req.destination?.type === 'ONE_TIME_ADDRESS' ? 'ONE_TIME' : '',
    amountInfo: { amount, requestedAmount: amount, netAmount: amount, amountUSD: '0' },
    feeInfo: result.networkFee ? { networkFee: result.networkFee } : {},
    feeCurrency: row.asset_id ? (assets.has(row.asset_id) ? assets.get(row.asset_id).nativeAsset : row.asset_id) : '',
    createdAt: Number(row.created_at),
    lastUpdated: Number(row.last_updated),
    createdBy: row.created_by,
    signedBy: [] as string[],
    rejectedBy: votes.find((v) => v.vote === 'REJECT')?.user ?? '',
    authorizationInfo: auth,
    exchangeTxId: '',
    customerRefId: row.customer_ref_id ?? undefined,
    signedMessages: result.signedMessages ?? [],
    numOfConfirmations: result.numOfConfirmations ?? 0,
    blockInfo: result.blockInfo ?? {},
    errorDescription: result.errorDescription,
    // Deprecated numbers (v5 types them non-optional); the strings above are exact.
    amount: Number(amount),
    requestedAmount: Number(amount),
    netAmount: Number(amount),
    amountUSD: 0,
    fee: 0,
    networkFee: result.networkFee ? Number(result.networkFee) : 0,
    serviceFee: 0,
  };
}
