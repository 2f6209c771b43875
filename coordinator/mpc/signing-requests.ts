// What asks the co-signers for work: a KEYGEN item per missing master key of a workspace, and a
// SIGN item for a RAW transaction the TAP let through (QUEUED). Each item names its MPC sessions
// (one per key, one per message), stored with it in the caller's database transaction, so the
// coordinator's party knows at the first message what it is allowed to do in that session — it
// never takes the key, path or hash from the co-signer.
import { randomBytes } from 'node:crypto';
import { badRequest } from '../api-error.js';
import { ASSET_ALGORITHMS, bip44Path, TESTNET_COIN_TYPE, type AssetAlgorithm, type AssetCatalogue } from '../assets/index.js';
import type { Db } from '../storage/database.js';
import type { TransactionsTable } from '../storage/schema.js';
import type { StoredRequest } from '../transactions/create.js';
import type { WorkQueue } from '../work-queue/work-queue.js';
import type { MasterKeys } from './master-keys.js';

/** Party ids in every coordinator ↔ co-signer session: the coordinator is P1 (it holds the Paillier key). */
export const COORDINATOR_PARTY_ID = 1;
export const COSIGNER_PARTY_ID = 2;

export interface KeygenItemPayload {
  sessionId: string;
  algorithm: AssetAlgorithm;
  coordinatorPartyId: number;
  cosignerPartyId: number;
}

export interface SignItemPayload {
  transactionId: string;
  /** The API user who created the transaction: a co-signer applies that user's callback handler. */
  initiatorId: string;
  algorithm: AssetAlgorithm;
  coordinatorPartyId: number;
  cosignerPartyId: number;
  /** One MPC session per message; `content` is hex (ECDSA: the 32-byte hash; Ed25519: the message). */
  messages: Array<{ index: number; sessionId: string; content: string; derivationPath: number[] }>;
  /**
   * TRANSFER only: the unsigned transaction whose hash is messages[0].content, so that the
   * co-signer can decode it and check recipient, amount and chain before it signs.
   */
  transfer?: { assetId: string; chainId: number; from: string; serializedUnsigned: string; to: string; amount: string };
}

/** What the coordinator's party reads back for a SIGN session (mpc_sessions.params). */
export interface SignSessionParams {
  content: string;
  derivationPath: number[];
}

export const newSessionId = () => randomBytes(32).toString('hex');
const MAX_RAW_MESSAGE_BYTES = 4096;

/** Enqueues a KEYGEN item for every algorithm the workspace has no key and no open key generation for; returns their ids. */
export async function requestMasterKeys(trx: Db, queue: WorkQueue, masterKeys: MasterKeys, workspaceId: string, algorithms: readonly AssetAlgorithm[] = ASSET_ALGORITHMS): Promise<string[]> {
  const ids: string[] = [];
  for (const algorithm of algorithms) {
    if (await masterKeys.has(trx, workspaceId, algorithm)) continue;
    const open = await trx.selectFrom('mpc_sessions').select('id').where('workspace_id', '=', workspaceId).where('kind', '=', 'KEYGEN')
      .where('algorithm', '=', algorithm).where('state', '=', 'OPEN').executeTakeFirst();
    if (open) continue;
    const sessionId = newSessionId();
    const payload: KeygenItemPayload = { sessionId, algorithm, coordinatorPartyId: COORDINATOR_PARTY_ID, cosignerPartyId: COSIGNER_PARTY_ID };
    const itemId = await queue.enqueue(trx, workspaceId, 'KEYGEN', payload);
    const t = Date.now();
    await trx.insertInto('mpc_sessions').values({
      id: sessionId, workspace_id: workspaceId, kind: 'KEYGEN', algorithm, work_item_id: itemId, transaction_id: null, message_index: null,
      params: '{}', cosigner_id: null, state: 'OPEN', result: null, failure: null, created_at: t, updated_at: t,
    }).execute();
    ids.push(itemId);
  }
  return ids;
}

/**
 * Called where a transaction becomes QUEUED, in that database transaction: a RAW transaction gets
 * its SIGN item (TRANSFER signing comes with broadcasting). Refuses (400, nothing stored) a
 * message the engine could not sign: an ECDSA content that is not a 32-byte hash, or no key yet.
 */
export async function queueForSigning(trx: Db, queue: WorkQueue, masterKeys: MasterKeys, assets: AssetCatalogue, row: TransactionsTable): Promise<string | null> {
  if (row.operation !== 'RAW') return null;
  const req = JSON.parse(row.request) as StoredRequest;
  const raw = req.raw!;
  const algorithm = raw.algorithm as AssetAlgorithm;
  if (!(await masterKeys.has(trx, row.workspace_id, algorithm, 'active'))) {
    throw badRequest(`the workspace has no ${algorithm} master key yet: pair a co-signer and let key generation finish`);
  }
  const coin = req.assetId ? assets.get(req.assetId).coinType : TESTNET_COIN_TYPE;
  const messages = raw.messages.map((m, index) => {
    if (!/^([0-9a-f]{2})+$/.test(m.content)) throw badRequest(`rawMessageData.messages[${index}].content must be hex`);
    if (algorithm === 'MPC_ECDSA_SECP256K1' && m.content.length !== 64) throw badRequest(`rawMessageData.messages[${index}].content must be a 32-byte hash for ${algorithm}`);
    if (m.content.length / 2 > MAX_RAW_MESSAGE_BYTES) throw badRequest(`rawMessageData.messages[${index}].content is longer than ${MAX_RAW_MESSAGE_BYTES} bytes`);
    const derivationPath = m.derivationPath ?? bip44Path(coin, req.sourceVault, m.bip44change ?? 0, m.bip44addressIndex ?? 0);
    return { index, sessionId: newSessionId(), content: m.content, derivationPath };
  });
  return enqueueSign(trx, queue, row, algorithm, messages);
}

/** The SIGN item and one session per message, in the caller's transaction. */
export async function enqueueSign(trx: Db, queue: WorkQueue, row: TransactionsTable, algorithm: AssetAlgorithm, messages: SignItemPayload['messages'], transfer?: SignItemPayload['transfer']): Promise<string> {
  const payload: SignItemPayload = { transactionId: row.id, initiatorId: row.created_by, algorithm, coordinatorPartyId: COORDINATOR_PARTY_ID, cosignerPartyId: COSIGNER_PARTY_ID, messages, ...(transfer ? { transfer } : {}) };
  const itemId = await queue.enqueue(trx, row.workspace_id, 'SIGN', payload);
  const t = Date.now();
  for (const m of messages) {
    const params: SignSessionParams = { content: m.content, derivationPath: m.derivationPath };
    await trx.insertInto('mpc_sessions').values({
      id: m.sessionId, workspace_id: row.workspace_id, kind: 'SIGN', algorithm, work_item_id: itemId, transaction_id: row.id, message_index: m.index,
      params: JSON.stringify(params), cosigner_id: null, state: 'OPEN', result: null, failure: null, created_at: t, updated_at: t,
    }).execute();
  }
  return itemId;
}

/** New sessions for a transaction's messages that have no signature yet, after its sessions were lost (at most this many times). */
export const MAX_SIGNING_ATTEMPTS = 5;

/**
 * A SIGN item whose sessions died with a coordinator process, or whose lease went to another
 * co-signer mid-session, is issued again with fresh sessions for the messages not yet signed: no
 * signature left the coordinator for them (it answers with a signature only after recording it),
 * so signing them in a new session cannot produce a second signature of anything. 'live': another
 * attempt is still running (nothing to do); 'exhausted': the attempts are used up (the caller fails it).
 */
export type Reissue = { kind: 'issued'; itemId: string } | { kind: 'live' } | { kind: 'nothing-left' } | { kind: 'exhausted' };

export async function reissueSigning(trx: Db, queue: WorkQueue, txId: string): Promise<Reissue> {
  const sessions = await trx.selectFrom('mpc_sessions').selectAll().where('transaction_id', '=', txId).where('kind', '=', 'SIGN').orderBy('created_at').execute();
  const row = await trx.selectFrom('transactions').selectAll().where('id', '=', txId).executeTakeFirstOrThrow();
  if (sessions.length === 0 || (row.status !== 'QUEUED' && row.status !== 'PENDING_SIGNATURE')) return { kind: 'nothing-left' };
  if (sessions.some((s) => s.state === 'OPEN')) return { kind: 'live' };
  const latest = new Map<number, typeof sessions[number]>();
  const done = new Set<number>();
  const attempts = new Map<number, number>();
  for (const s of sessions) {
    latest.set(s.message_index!, s);
    attempts.set(s.message_index!, (attempts.get(s.message_index!) ?? 0) + 1);
    if (s.state === 'DONE') done.add(s.message_index!);
  }
  const todo = [...latest.values()].filter((s) => !done.has(s.message_index!));
  if (todo.length === 0) return { kind: 'nothing-left' };
  if (todo.some((s) => (attempts.get(s.message_index!) ?? 0) >= MAX_SIGNING_ATTEMPTS)) return { kind: 'exhausted' };
  const item = await trx.selectFrom('work_items').select('payload').where('id', '=', todo[0]!.work_item_id).executeTakeFirstOrThrow();
  const previous = JSON.parse(item.payload) as SignItemPayload;
  const messages = todo.map((s) => {
    const p = JSON.parse(s.params) as SignSessionParams;
    return { index: s.message_index!, sessionId: newSessionId(), content: p.content, derivationPath: p.derivationPath };
  });
  return { kind: 'issued', itemId: await enqueueSign(trx, queue, row, todo[0]!.algorithm as AssetAlgorithm, messages, previous.transfer) };
}

