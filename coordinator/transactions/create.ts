// Accepting a transaction: check the request against what exists (vault, asset, amount,
// destination), run it through the TAP, and store it with the decision — all in one database
// transaction, so a cumulative limit cannot be passed by two concurrent requests and nothing is
// stored for a request that is refused. ALLOW → QUEUED (signing picks it up), BLOCK → BLOCKED,
// REQUIRE_APPROVAL → PENDING_AUTHORIZATION.
import { randomUUID } from 'node:crypto';
import { CosignerError } from '../../shared/errors.js';
import { ApiCode, ApiError, badRequest, conflict } from '../api-error.js';
import { amountFromWire, normaliseAddress, type AssetCatalogue, type AssetDefinition } from '../assets/index.js';
import { authorizationInfo, evaluate, type TapDecision, type TransactionFacts } from '../policy/index.js';
import type { ApiUser } from '../plugins/authenticate.js';
import { isUniqueViolation } from '../plugins/authenticate.js';
import { findVault } from '../routes/vault-accounts.js';
import type { Db } from '../storage/database.js';
import { currentPolicy } from '../storage/policy-store.js';
import type { TransactionsTable } from '../storage/schema.js';
import type { CreateTransactionBody } from './request-schema.js';
import { DEAD_STATUSES, type TxStatus } from './status.js';
import { transactionJson } from './view.js';
import { recordEvent } from '../webhooks/outbox.js';

/** What a stored transaction asks to be signed, in the form the signer reads (`request` column). */
export interface StoredRequest {
  operation: 'TRANSFER' | 'RAW';
  assetId: string | null;
  sourceVault: number;
  /** TRANSFER: base units, decimal string. */
  amount?: string;
  destination?: { type: 'ONE_TIME_ADDRESS'; address: string } | { type: 'EXTERNAL_WALLET'; id: string; address: string } | { type: 'VAULT_ACCOUNT'; id: string };
  raw?: { algorithm: string; messages: Array<{ content: string; derivationPath?: number[]; bip44addressIndex?: number; bip44change?: number }> };
}

const RAW_ALGORITHMS = new Set(['MPC_ECDSA_SECP256K1', 'MPC_EDDSA_ED25519']);

function asset(assets: AssetCatalogue, id: string | undefined): Readonly<AssetDefinition> {
  if (id === undefined) throw badRequest('assetId is required');
  try {
    return assets.get(id);
  } catch {
    throw new ApiError(404, ApiCode.UNKNOWN_ASSET, `Asset ${JSON.stringify(id.slice(0, 64))} is not supported`);
  }
}

/** The request as the signer will read it, and the facts the TAP sees. */
async function interpret(db: Db, assets: AssetCatalogue, user: ApiUser, body: CreateTransactionBody, now: number): Promise<{ req: StoredRequest; facts: TransactionFacts; asset: Readonly<AssetDefinition> | null }> {
  const operation = body.operation ?? 'TRANSFER';
  if (operation !== 'TRANSFER' && operation !== 'RAW') throw badRequest(`operation ${JSON.stringify(operation.slice(0, 32))} is not supported (TRANSFER, RAW)`);
  if (!body.source || body.source.type !== 'VAULT_ACCOUNT' || body.source.id === undefined) throw badRequest('source must be {type: "VAULT_ACCOUNT", id}');
  const vault = await findVault(db, user.workspace_id, body.source.id);
  if (operation === 'RAW') {
    const data = body.extraParameters?.rawMessageData;
    if (!data) throw badRequest('RAW needs extraParameters.rawMessageData.messages');
    const a = body.assetId !== undefined ? asset(assets, body.assetId) : null;
    const algorithm = data.algorithm ?? a?.algorithm ?? 'MPC_ECDSA_SECP256K1';
    if (!RAW_ALGORITHMS.has(algorithm)) throw badRequest(`rawMessageData.algorithm ${JSON.stringify(algorithm.slice(0, 64))} is not supported`);
    if (a && a.algorithm !== algorithm) throw badRequest(`asset ${a.id} signs with ${a.algorithm}, not ${algorithm}`);
    for (const m of data.messages) {
      // The path's account index must be the source vault's (reference §3, "open point").
      if (m.derivationPath && (m.derivationPath.length !== 5 || m.derivationPath[0] !== 44 || m.derivationPath[2] !== vault.id)) {
        throw badRequest(`derivationPath must be [44, coin, ${vault.id}, change, index] for source vault ${vault.id}`);
      }
      if (m.derivationPath && (m.bip44addressIndex !== undefined || m.bip44change !== undefined)) throw badRequest('give derivationPath or bip44addressIndex, not both');
      if (!m.derivationPath && !a) throw badRequest('a RAW message without assetId needs a derivationPath');
    }
    const raw = { algorithm, messages: data.messages.map((m) => ({ ...m, content: m.content.replace(/^0x/, '').toLowerCase() })) };
    return {
      req: { operation, assetId: a?.id ?? null, sourceVault: vault.id, raw },
      facts: { operation, initiator: user.id, assetId: a?.id ?? null, source: { type: 'VAULT_ACCOUNT', id: String(vault.id) }, destination: null, amount: null, at: now },
      asset: a,
    };
  }
  const a = asset(assets, body.assetId);
  if (a.chain.family !== 'EVM') throw badRequest(`transfers of ${a.id} are not supported yet (EVM assets only)`);
  if (body.amount === undefined) throw badRequest('amount is required');
  let base: bigint;
  try {
    base = amountFromWire(body.amount, a.decimals);
  } catch (e) {
    throw badRequest(`amount: ${(e as Error).message}`);
  }
  if (base === 0n) throw badRequest('amount must be greater than zero');
  const d = body.destination;
  let destination: StoredRequest['destination'];
  let destFacts: TransactionFacts['destination'];
  if (d?.type === 'ONE_TIME_ADDRESS' && d.oneTimeAddress) {
    let address: string;
    try {
      address = normaliseAddress(a, d.oneTimeAddress.address);
    } catch (e) {
      throw badRequest((e as CosignerError).message);
    }
    destination = { type: 'ONE_TIME_ADDRESS', address };
    destFacts = { type: 'ONE_TIME_ADDRESS', address };
  } else if (d?.type === 'EXTERNAL_WALLET' && d.id !== undefined) {
    const w = await db.selectFrom('external_wallets').innerJoin('external_wallet_assets', 'external_wallet_assets.wallet_id', 'external_wallets.id')
      .select(['external_wallets.id as id', 'external_wallet_assets.address as address', 'external_wallet_assets.status as status'])
      .where('external_wallets.workspace_id', '=', user.workspace_id).where('external_wallets.id', '=', d.id).where('external_wallet_assets.asset_id', '=', a.id).executeTakeFirst();
    if (!w) throw badRequest(`external wallet ${JSON.stringify(d.id.slice(0, 64))} has no ${a.id} address`);
    // Not yet approved by the co-signer's CCK: the TAP sees it as not whitelisted (rules for whitelisted wallets do not match).
    destination = { type: 'EXTERNAL_WALLET', id: w.id, address: w.address };
    destFacts = { type: 'EXTERNAL_WALLET', id: w.id, whitelisted: w.status === 'APPROVED' };
  } else if (d?.type === 'VAULT_ACCOUNT' && d.id !== undefined) {
    const to = await findVault(db, user.workspace_id, d.id);
    destination = { type: 'VAULT_ACCOUNT', id: String(to.id) };
    destFacts = { type: 'VAULT_ACCOUNT', id: String(to.id) };
  } else {
    throw badRequest('destination must be {type: "ONE_TIME_ADDRESS", oneTimeAddress: {address}}, {type: "EXTERNAL_WALLET", id} or {type: "VAULT_ACCOUNT", id}');
  }
  return {
    req: { operation, assetId: a.id, sourceVault: vault.id, amount: base.toString(), destination },
    facts: { operation, initiator: user.id, assetId: a.id, source: { type: 'VAULT_ACCOUNT', id: String(vault.id) }, destination: destFacts, amount: { base, decimals: a.decimals }, at: now },
    asset: a,
  };
}

function statusFor(decision: TapDecision): { status: TxStatus; subStatus: string } {
  switch (decision.action) {
    case 'ALLOW':
      return { status: 'QUEUED', subStatus: '' };
    case 'BLOCK':
      return { status: 'BLOCKED', subStatus: 'BLOCKED_BY_POLICY' };
    case 'REQUIRE_APPROVAL':
      return { status: 'PENDING_AUTHORIZATION', subStatus: '' };
  }
}

export interface CreateHooks {
  /** Runs in the same database transaction when the TAP lets it through (QUEUED): signing work is queued with it. */
  queued?(trx: Db, row: TransactionsTable): Promise<unknown>;
  /** The request's Idempotency-Key, stored with the transaction. */
  idempotencyKey?: string;
}

export async function createTransaction(db: Db, assets: AssetCatalogue, user: ApiUser, body: CreateTransactionBody, hooks: CreateHooks = {}): Promise<TransactionsTable> {
  const now = Date.now();
  const { req, facts } = await interpret(db, assets, user, body, now);
  try {
    return await db.transaction().execute(async (trx) => {
      const published = await currentPolicy(trx, user.workspace_id);
      const decision: TapDecision = published
        ? await evaluate(published.policy, facts, {
          sumAmounts: async (q) => {
            const rows = await trx.selectFrom('transactions').select('amount')
              .where('workspace_id', '=', user.workspace_id).where('policy_rule', '=', q.ruleName).where('created_by', '=', q.initiator)
              .where('asset_id', '=', q.assetId).where('created_at', '>=', q.since).where('status', 'not in', DEAD_STATUSES).execute();
            return rows.reduce((sum, r) => sum + BigInt(r.amount ?? '0'), 0n);
          },
        })
        : { action: 'BLOCK', ruleIndex: null, ruleName: null, reason: 'no Transaction Authorization Policy has been published: everything is blocked', approvers: null };
      const { status, subStatus } = statusFor(decision);
      const row: TransactionsTable = {
        id: randomUUID(), workspace_id: user.workspace_id, external_tx_id: body.externalTxId ?? null, status, sub_status: subStatus,
        operation: req.operation, asset_id: req.assetId, source_type: 'VAULT_ACCOUNT', source_id: String(req.sourceVault),
        destination_type: req.destination?.type ?? null, destination_id: req.destination && 'id' in req.destination ? req.destination.id : null,
        destination_address: req.destination && 'address' in req.destination ? req.destination.address : null,
        amount: req.amount ?? null, note: body.note ?? null, customer_ref_id: body.customerRefId ?? null,
        request: JSON.stringify(req),
        authorization: JSON.stringify({ decision, policyVersion: published?.version ?? null }),
        policy_rule: decision.ruleName, created_by: user.id, created_at: now, last_updated: now, result: null, idem_key: hooks.idempotencyKey ?? null,
      };
      await trx.insertInto('transactions').values(row).execute();
      await recordEvent(trx, user.workspace_id, 'transaction.created', row.id, transactionJson(row, assets, []));
      if (row.status === 'QUEUED') await hooks.queued?.(trx, row);
      return row;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(`A transaction with externalTxId ${JSON.stringify((body.externalTxId ?? '').slice(0, 64))} already exists`);
    throw e;
  }
}

/** The decision stored with a transaction, and authorizationInfo for the votes so far. */
export function storedDecision(row: TransactionsTable): { decision: TapDecision; policyVersion: number | null } {
  return JSON.parse(row.authorization) as { decision: TapDecision; policyVersion: number | null };
}

export { authorizationInfo };
