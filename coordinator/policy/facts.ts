// What the policy sees of a transaction. The coordinator builds these from the stored request
// after it has resolved ids (the vault account exists, the asset is known, an external wallet's
// address for the asset is approved or not); the policy engine never touches the database.
import { CosignerError } from '../../shared/errors.js';
import { MAX_DECIMALS } from '../assets/amount.js';
import type { TapOperation } from './schema.js';

export type DestinationFacts =
  /** `whitelisted`: the wallet's address for this asset has status APPROVED. */
  | { type: 'EXTERNAL_WALLET'; id: string; whitelisted: boolean }
  | { type: 'ONE_TIME_ADDRESS'; address: string }
  | { type: 'VAULT_ACCOUNT'; id: string };

export interface TransactionFacts {
  operation: TapOperation;
  /** API user id of the initiator. */
  initiator: string;
  /** null only for RAW signing by derivation path without an asset. */
  assetId: string | null;
  /** Peer type as in the request (only VAULT_ACCOUNT sources exist here) and its id. */
  source: { type: string; id: string | null };
  /** null for RAW (nothing is sent anywhere). */
  destination: DestinationFacts | null;
  /** In base units with the asset's decimals; null for RAW (no amount). */
  amount: { base: bigint; decimals: number } | null;
  /** Creation time of the transaction, ms since the epoch (the end of any cumulative window). */
  at: number;
}

function bad(why: string): never {
  throw new CosignerError('SCHEMA_VIOLATION', `transaction facts: ${why}`);
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 1024;

/** Refuse facts the engine could misread (a programming error on the caller's side, never user input). */
export function checkFacts(f: TransactionFacts): void {
  if (typeof f !== 'object' || f === null) bad('expected an object');
  if (f.operation !== 'TRANSFER' && f.operation !== 'RAW') bad(`unknown operation ${String(f.operation).slice(0, 32)}`);
  if (!isId(f.initiator)) bad('initiator must be a non-empty string');
  if (f.assetId !== null && !isId(f.assetId)) bad('assetId must be a non-empty string or null');
  if (typeof f.source !== 'object' || f.source === null || !isId(f.source.type) || (f.source.id !== null && !isId(f.source.id))) bad('source must be {type, id}');
  if (f.destination !== null) {
    const d = f.destination;
    if (typeof d !== 'object') bad('destination must be an object or null');
    if (d.type === 'EXTERNAL_WALLET') {
      if (!isId(d.id) || typeof d.whitelisted !== 'boolean') bad('an EXTERNAL_WALLET destination needs id and whitelisted');
    } else if (d.type === 'ONE_TIME_ADDRESS') {
      if (!isId(d.address)) bad('a ONE_TIME_ADDRESS destination needs an address');
    } else if (d.type === 'VAULT_ACCOUNT') {
      if (!isId(d.id)) bad('a VAULT_ACCOUNT destination needs an id');
    } else bad(`unknown destination type ${String((d as { type?: unknown }).type).slice(0, 32)}`);
  }
  if (f.amount !== null) {
    if (typeof f.amount !== 'object' || typeof f.amount.base !== 'bigint' || f.amount.base < 0n) bad('amount.base must be a non-negative bigint');
    if (!Number.isSafeInteger(f.amount.decimals) || f.amount.decimals < 0 || f.amount.decimals > MAX_DECIMALS) bad(`amount.decimals must be an integer in 0..${MAX_DECIMALS}`);
  }
  if (f.operation === 'TRANSFER') {
    if (f.amount === null) bad('a TRANSFER has an amount');
    if (f.assetId === null) bad('a TRANSFER has an asset');
    if (f.destination === null) bad('a TRANSFER has a destination');
  }
  if (!Number.isSafeInteger(f.at) || f.at < 0) bad('at must be a time in ms since the epoch');
}
