// Transactions (reference §2 rows 9–13, §3): create through the TAP, read back by id or external
// id, list with Fireblocks' paging headers, cancel; and our approval endpoint for APPROVER users.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { badRequest, notFound } from '../api-error.js';
import { admitVote, type Vote } from '../policy/index.js';
import { userOf } from '../plugins/authenticate.js';
import type { Db } from '../storage/database.js';
import type { TransactionsTable } from '../storage/schema.js';
import { createTransaction, storedDecision } from '../transactions/create.js';
import { CreateTransactionBody } from '../transactions/request-schema.js';
import { CANCELLABLE, type TxStatus } from '../transactions/status.js';
import { setStatus } from '../transactions/set-status.js';
import { transactionJson } from '../transactions/view.js';

const TransactionResponse = Type.Object(
  {
    id: Type.String(), status: Type.String(), subStatus: Type.String(), operation: Type.String(),
    assetId: Type.Optional(Type.String()), txHash: Type.String(), createdAt: Type.Number(), lastUpdated: Type.Number(),
    authorizationInfo: Type.Object({}, { additionalProperties: true }),
    signedMessages: Type.Array(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: true, description: 'TransactionResponse (Fireblocks); every field listed in the reference is present' },
);
const TxIdParams = Type.Object({ txId: Type.String({ minLength: 1, maxLength: 64 }) });

async function votesOf(db: Db, txId: string): Promise<Vote[]> {
  const rows = await db.selectFrom('approvals').select(['user_id', 'vote']).where('tx_id', '=', txId).orderBy('at').execute();
  return rows.map((r) => ({ user: r.user_id, vote: r.vote as Vote['vote'] }));
}

async function findTx(db: Db, workspaceId: string, txId: string): Promise<TransactionsTable> {
  const row = await db.selectFrom('transactions').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', txId).executeTakeFirst();
  if (!row) throw notFound(`Transaction ${JSON.stringify(txId.slice(0, 64))} not found`);
  return row;
}

export const transactionRoutes: FastifyPluginAsync = async (app) => {
  const json = async (row: TransactionsTable) => transactionJson(row, app.assets, await votesOf(app.db, row.id));

  app.post<{ Body: CreateTransactionBody }>('/v1/transactions', {
    config: {
      permission: 'tx:create',
      // After a crash between the commit and the stored answer: the transaction made with this key.
      idempotencyRecover: async (_request, key, userId) => {
        const row = await app.db.selectFrom('transactions').select(['id', 'status']).where('created_by', '=', userId).where('idem_key', '=', key).executeTakeFirst();
        return row ? { statusCode: 200, body: { id: row.id, status: row.status } } : null;
      },
    },
    schema: { tags: ['transactions'], summary: 'Create a transaction (TRANSFER or RAW); the TAP decides at once', body: CreateTransactionBody,
      response: { 200: Type.Object({ id: Type.String(), status: Type.String(), systemMessages: Type.Optional(Type.Array(Type.Object({ type: Type.String(), message: Type.String() }))) }) } },
  }, async (request) => {
    if (!request.body || typeof request.body !== 'object') throw badRequest('A transaction request body is required');
    const row = await createTransaction(app.db, app.assets, userOf(request), request.body, { queued: app.queueForSigning, idempotencyKey: request.idempotency?.key });
    if (row.status === 'QUEUED') app.workQueue.wake(row.workspace_id);
    const { decision } = storedDecision(row);
    request.log.info({ txId: row.id, status: row.status, rule: decision.ruleName, by: row.created_by }, 'transaction created');
    return { id: row.id, status: row.status, ...(row.status === 'BLOCKED' ? { systemMessages: [{ type: 'BLOCK', message: decision.reason }] } : {}) };
  });

  app.get<{ Params: Static<typeof TxIdParams> }>('/v1/transactions/:txId', {
    config: { permission: 'read' },
    schema: { tags: ['transactions'], summary: 'Get a transaction', params: TxIdParams, response: { 200: TransactionResponse } },
  }, async (request) => json(await findTx(app.db, userOf(request).workspace_id, request.params.txId)));

  app.get<{ Params: { externalTxId: string } }>('/v1/transactions/external_tx_id/:externalTxId', {
    config: { permission: 'read' },
    schema: { tags: ['transactions'], summary: 'Get a transaction by its external id', params: Type.Object({ externalTxId: Type.String({ minLength: 1, maxLength: 255 }) }), response: { 200: TransactionResponse } },
  }, async (request) => {
    const row = await app.db.selectFrom('transactions').selectAll().where('workspace_id', '=', userOf(request).workspace_id).where('external_tx_id', '=', request.params.externalTxId).executeTakeFirst();
    if (!row) throw notFound('Transaction not found');
    return json(row);
  });

  const ListQuery = Type.Object({
    before: Type.Optional(Type.Integer({ minimum: 0 })),
    after: Type.Optional(Type.Integer({ minimum: 0 })),
    status: Type.Optional(Type.String({ maxLength: 512 })),
    orderBy: Type.Optional(Type.Union([Type.Literal('createdAt'), Type.Literal('lastUpdated')])),
    sort: Type.Optional(Type.Union([Type.Literal('ASC'), Type.Literal('DESC')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    sourceType: Type.Optional(Type.String({ maxLength: 64 })),
    sourceId: Type.Optional(Type.String({ maxLength: 64 })),
    assets: Type.Optional(Type.String({ maxLength: 1024 })),
    txHash: Type.Optional(Type.String({ maxLength: 128 })),
    next: Type.Optional(Type.String({ maxLength: 256 })),
    prev: Type.Optional(Type.String({ maxLength: 256 })),
  }, { additionalProperties: true });
  app.get<{ Querystring: Static<typeof ListQuery> }>('/v1/transactions', {
    config: { permission: 'read' },
    schema: { tags: ['transactions'], summary: 'List transactions (paging via the next-page / prev-page headers)', querystring: ListQuery, response: { 200: Type.Array(TransactionResponse) } },
  }, async (request, reply) => {
    const q = request.query;
    const limit = q.limit ?? 200;
    const column = q.orderBy === 'lastUpdated' ? 'last_updated' : 'created_at';
    const desc = (q.sort ?? 'DESC') === 'DESC';
    let query = app.db.selectFrom('transactions').selectAll().where('workspace_id', '=', userOf(request).workspace_id);
    if (q.after !== undefined) query = query.where(column, '>', q.after);
    if (q.before !== undefined) query = query.where(column, '<', q.before);
    if (q.status) query = query.where('status', 'in', q.status.split(','));
    if (q.sourceType) query = query.where('source_type', '=', q.sourceType);
    if (q.sourceId) query = query.where('source_id', '=', q.sourceId);
    if (q.assets) query = query.where('asset_id', 'in', q.assets.split(','));
    const cursor = q.next ?? q.prev;
    if (cursor !== undefined) {
      const c = decodeCursor(cursor);
      const forward = q.next !== undefined;
      const cmp = forward === desc ? '<' : '>';
      query = query.where((eb) => eb.or([eb(column, cmp, c.t), eb.and([eb(column, '=', c.t), eb('id', cmp, c.id)])]));
    }
    const backwards = q.prev !== undefined;
    const order = (desc !== backwards) ? 'desc' : 'asc';
    let rows = await query.orderBy(column, order).orderBy('id', order).limit(limit + 1).execute();
    const more = rows.length > limit;
    rows = rows.slice(0, limit);
    if (backwards) rows.reverse();
    setPagingHeaders(reply, request.url, rows, column, { more, backwards, hadCursor: cursor !== undefined });
    return Promise.all(rows.map(json));
  });

  app.post<{ Params: Static<typeof TxIdParams> }>('/v1/transactions/:txId/cancel', {
    config: { permission: 'tx:create' },
    schema: { tags: ['transactions'], summary: 'Cancel a transaction that has not been signed', params: TxIdParams, response: { 200: Type.Object({ success: Type.Boolean() }) } },
  }, async (request) => {
    const user = userOf(request);
    await app.db.transaction().execute(async (trx) => {
      const row = await findTx(trx, user.workspace_id, request.params.txId);
      if (!CANCELLABLE.has(row.status as TxStatus)) throw badRequest(`Transaction in status ${row.status} cannot be cancelled`);
      await setStatus(trx, row, 'CANCELLED', 'CANCELLED_BY_USER');
    });
    request.log.info({ txId: request.params.txId, by: user.id }, 'transaction cancelled');
    return { success: true };
  });

  const VoteBody = Type.Object({ vote: Type.Union([Type.Literal('APPROVE'), Type.Literal('REJECT')]) }, { additionalProperties: false });
  app.post<{ Params: Static<typeof TxIdParams>; Body: Static<typeof VoteBody> }>('/v1/transactions/:txId/approvals', {
    config: { permission: 'tx:approve' },
    schema: {
      tags: ['transactions', 'extensions'], summary: 'Approve or reject a transaction the TAP holds for approval (this coordinator\'s extension)',
      description: 'For APPROVER users named by the matching rule. The transaction moves to QUEUED once the threshold of approvals is met, to REJECTED on the first rejection.',
      params: TxIdParams, body: VoteBody, response: { 200: Type.Object({ status: Type.String(), approval: Type.String() }) },
    },
  }, async (request) => {
    const user = userOf(request);
    const out = await app.db.transaction().execute(async (trx) => {
      const row = await findTx(trx, user.workspace_id, request.params.txId);
      if (row.status !== 'PENDING_AUTHORIZATION') throw badRequest(`Transaction in status ${row.status} is not waiting for approval`);
      const { decision } = storedDecision(row);
      const votes = await votesOf(trx, row.id);
      const state = admitVote(decision, votes, { user: user.id, vote: request.body.vote }, { initiator: row.created_by });
      await trx.insertInto('approvals').values({ tx_id: row.id, user_id: user.id, vote: request.body.vote, at: Date.now() }).execute();
      if (state === 'APPROVED') {
        await setStatus(trx, row, 'QUEUED', '');
        await app.queueForSigning(trx, { ...row, status: 'QUEUED' });
      }
      if (state === 'REJECTED') await setStatus(trx, row, 'REJECTED', 'REJECTED_BY_USER');
      return { status: state === 'APPROVED' ? 'QUEUED' : state === 'REJECTED' ? 'REJECTED' : row.status, approval: state };
    });
    if (out.approval === 'APPROVED') app.workQueue.wake(user.workspace_id);
    request.log.info({ txId: request.params.txId, by: user.id, vote: request.body.vote, approval: out.approval }, 'transaction vote recorded');
    return out;
  });
};

function decodeCursor(c: string): { t: number; id: string } {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as { t?: unknown; id?: unknown };
    if (Number.isSafeInteger(v.t) && typeof v.id === 'string' && v.id.length <= 64) return { t: v.t as number, id: v.id };
  } catch {
    // fall through
  }
  throw badRequest('Invalid paging cursor');
}

function setPagingHeaders(reply: FastifyReply, url: string, rows: TransactionsTable[], column: 'created_at' | 'last_updated', s: { more: boolean; backwards: boolean; hadCursor: boolean }): void {
  if (rows.length === 0) return;
  const enc = (r: TransactionsTable) => Buffer.from(JSON.stringify({ t: Number(r[column]), id: r.id })).toString('base64url');
  const base = new URL(url, 'http://coordinator');
  base.searchParams.delete('next');
  base.searchParams.delete('prev');
  const link = (key: 'next' | 'prev', r: TransactionsTable) => {
    const u = new URL(base);
    u.searchParams.set(key, enc(r));
    return `${u.pathname}${u.search}`;
  };
  // A header is a path the SDKs re-request from its "/v1/" part (reference §2 row 12).
  if (s.backwards ? s.hadCursor : s.more) reply.header('next-page', link('next', rows[rows.length - 1]!));
  if (s.backwards ? s.more : s.hadCursor) reply.header('prev-page', link('prev', rows[0]!));
}
