// What a signing session's end does to its transaction, in the session's database transaction:
// the first session to start moves it QUEUED → PENDING_SIGNATURE; when every message of a RAW
// transaction has its signature, the transaction is COMPLETED with `signedMessages` in message
// order; a failed session fails the transaction (FAILED / SIGNING_ERROR, with the reason), since
// its messages will not be signed in that session and a new one needs a new request.
import type { Db } from '../storage/database.js';
import type { TransactionResult, SignedMessageJson } from '../transactions/view.js';
import { setStatus } from '../transactions/set-status.js';
import { CosignerError } from '../../shared/errors.js';
import { releaseIn } from '../transfers/db-nonce-allocator.js';

export async function markSigning(trx: Db, txId: string): Promise<void> {
  const row = await trx.selectFrom('transactions').selectAll().where('id', '=', txId).executeTakeFirst();
  if (row?.status === 'QUEUED') await setStatus(trx, row, 'PENDING_SIGNATURE', '');
}

export async function recordSignature(trx: Db, txId: string): Promise<void> {
  const sessions = await trx.selectFrom('mpc_sessions').select(['message_index', 'state', 'result'])
    .where('transaction_id', '=', txId).where('kind', '=', 'SIGN').orderBy('message_index').execute();
  const byIndex = new Map<number, SignedMessageJson>();
  for (const s of sessions) if (s.state === 'DONE' && s.result) byIndex.set(s.message_index!, JSON.parse(s.result) as SignedMessageJson);
  const row = await trx.selectFrom('transactions').selectAll().where('id', '=', txId).executeTakeFirstOrThrow();
  if (row.operation === 'TRANSFER') {
    // One message: the transaction's hash. The pipeline assembles and broadcasts it (transfers/).
    const m = byIndex.get(0);
    if (!m) return;
    const sig = { r: `0x${m.signature.r}`, s: `0x${m.signature.s}`, v: m.signature.v };
    const r = await trx.updateTable('chain_transfers').set({ state: 'SIGNED', signature: JSON.stringify(sig), updated_at: Date.now() })
      .where('transaction_id', '=', txId).where('state', '=', 'SIGNING').executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new CosignerError('MPC_STATE', 'the transfer was not waiting for its signature');
    const result: TransactionResult = { ...(row.result ? JSON.parse(row.result) as TransactionResult : {}), signedMessages: [m] };
    await trx.updateTable('transactions').set({ result: JSON.stringify(result) }).where('id', '=', txId).execute();
    await setStatus(trx, row, 'BROADCASTING', '');
    return;
  }
  const wanted = (JSON.parse(row.request) as { raw?: { messages: unknown[] } }).raw?.messages.length ?? 0;
  if (byIndex.size < wanted) return;
  const result: TransactionResult = { ...(row.result ? JSON.parse(row.result) as TransactionResult : {}), signedMessages: [...byIndex.keys()].sort((a, b) => a - b).map((i) => byIndex.get(i)!) };
  await trx.updateTable('transactions').set({ result: JSON.stringify(result) }).where('id', '=', txId).execute();
  await setStatus(trx, row, 'COMPLETED', 'CONFIRMED');
}

export async function recordSigningFailure(trx: Db, txId: string, reason: string): Promise<void> {
  const row = await trx.selectFrom('transactions').selectAll().where('id', '=', txId).executeTakeFirst();
  if (!row || (row.status !== 'PENDING_SIGNATURE' && row.status !== 'QUEUED')) return;
  if (row.operation === 'TRANSFER') {
    // No valid signature exists (P1 outputs it only on success), so the nonce goes back.
    const transfer = await trx.selectFrom('chain_transfers').selectAll().where('transaction_id', '=', txId).executeTakeFirst();
    const r = await trx.updateTable('chain_transfers').set({ state: 'FAILED', updated_at: Date.now() }).where('transaction_id', '=', txId).where('state', '=', 'SIGNING').executeTakeFirst();
    if (transfer && Number(r.numUpdatedRows) === 1) await releaseIn(trx, Number(transfer.chain_id), transfer.from_address as `0x${string}`, Number(transfer.nonce));
  }
  const result: TransactionResult = { ...(row.result ? JSON.parse(row.result) as TransactionResult : {}), errorDescription: reason.slice(0, 300) };
  await trx.updateTable('transactions').set({ result: JSON.stringify(result) }).where('id', '=', txId).execute();
  await setStatus(trx, row, 'FAILED', 'SIGNING_ERROR');
}

/** A co-signer's callback handler or enclave policy refused: REJECTED (final), nothing more is signed for it. */
export async function recordRejection(trx: Db, txId: string, reason: string): Promise<void> {
  const row = await trx.selectFrom('transactions').selectAll().where('id', '=', txId).executeTakeFirst();
  if (!row || (row.status !== 'PENDING_SIGNATURE' && row.status !== 'QUEUED')) return;
  if (row.operation === 'TRANSFER') {
    const transfer = await trx.selectFrom('chain_transfers').selectAll().where('transaction_id', '=', txId).executeTakeFirst();
    const r = await trx.updateTable('chain_transfers').set({ state: 'FAILED', updated_at: Date.now() }).where('transaction_id', '=', txId).where('state', 'in', ['RESERVED', 'SIGNING']).executeTakeFirst();
    if (transfer && Number(r.numUpdatedRows) === 1) await releaseIn(trx, Number(transfer.chain_id), transfer.from_address as `0x${string}`, Number(transfer.nonce));
  }
  const result: TransactionResult = { ...(row.result ? JSON.parse(row.result) as TransactionResult : {}), errorDescription: reason.slice(0, 300) };
  await trx.updateTable('transactions').set({ result: JSON.stringify(result) }).where('id', '=', txId).execute();
  // QUEUED → REJECTED is not an edge: a co-signer sees a transaction only once it is being signed.
  if (row.status === 'QUEUED') await setStatus(trx, row, 'PENDING_SIGNATURE', '');
  const now = await trx.selectFrom('transactions').selectAll().where('id', '=', txId).executeTakeFirstOrThrow();
  await setStatus(trx, now, 'REJECTED', 'REJECTED_BY_COSIGNER');
}

