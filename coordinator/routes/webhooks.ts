// Webhooks v2 (reference §2 row 30): create, list, get, update, delete. Deliveries are signed
// (`Fireblocks-Signature`, RSA-SHA512 under the key GET /v1/webhooks/public_key returns) and
// retried with backoff by the dispatcher; they never block a transaction.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { randomUUID } from 'node:crypto';
import { badRequest, notFound } from '../api-error.js';
import { userOf } from '../plugins/authenticate.js';
import type { Db } from '../storage/database.js';
import type { WebhooksTable } from '../storage/schema.js';
import { WEBHOOK_EVENTS } from '../webhooks/outbox.js';

const Event = Type.Union(WEBHOOK_EVENTS.map((e) => Type.Literal(e)));
const Url = Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://' });
const Webhook = Type.Object({ id: Type.String(), url: Type.String(), events: Type.Array(Type.String()), status: Type.String(), description: Type.Optional(Type.String()), createdAt: Type.Number(), updatedAt: Type.Number() });
const IdParams = Type.Object({ webhookId: Type.String({ minLength: 1, maxLength: 64 }) });

const json = (w: WebhooksTable) => ({ id: w.id, url: w.url, events: JSON.parse(w.events) as string[], status: w.status, ...(w.description !== null ? { description: w.description } : {}), createdAt: Number(w.created_at), updatedAt: Number(w.updated_at) });

function checkUrl(u: string): string {
  try {
    const url = new URL(u);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error();
    return url.toString();
  } catch {
    throw badRequest('url must be an absolute http(s) URL');
  }
}

async function find(db: Db, workspaceId: string, id: string): Promise<WebhooksTable> {
  const w = await db.selectFrom('webhooks').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
  if (!w) throw notFound('Webhook not found');
  return w;
}

export const webhookRoutes: FastifyPluginAsync = async (app) => {
  const Create = Type.Object({ url: Url, events: Type.Array(Event, { minItems: 1, uniqueItems: true }), description: Type.Optional(Type.String({ maxLength: 512 })), enabled: Type.Optional(Type.Boolean()) });
  app.post<{ Body: Static<typeof Create> }>('/v1/webhooks', {
    config: { permission: 'webhooks:manage' },
    schema: { tags: ['webhooks'], summary: 'Create a webhook', body: Create, response: { 200: Webhook } },
  }, async (request) => {
    const now = Date.now();
    const w: WebhooksTable = { id: randomUUID(), workspace_id: userOf(request).workspace_id, url: checkUrl(request.body.url), events: JSON.stringify(request.body.events), status: request.body.enabled === false ? 'DISABLED' : 'ENABLED', description: request.body.description ?? null, created_at: now, updated_at: now };
    await app.db.insertInto('webhooks').values(w).execute();
    return json(w);
  });
  app.get('/v1/webhooks', {
    config: { permission: 'read' },
    schema: { tags: ['webhooks'], summary: 'List webhooks', response: { 200: Type.Object({ data: Type.Array(Webhook), next: Type.Union([Type.String(), Type.Null()]) }) } },
  }, async (request) => ({ data: (await app.db.selectFrom('webhooks').selectAll().where('workspace_id', '=', userOf(request).workspace_id).orderBy('created_at').execute()).map(json), next: null }));
  app.get('/v1/webhooks/public_key', {
    config: { permission: 'read' },
    schema: { tags: ['webhooks', 'extensions'], summary: 'The public key webhook signatures verify under (PEM, RSA-SHA512)', response: { 200: Type.Object({ publicKey: Type.String() }) } },
  }, async () => ({ publicKey: (await app.webhookKey()).publicKeyPem }));
  app.get<{ Params: Static<typeof IdParams> }>('/v1/webhooks/:webhookId', {
    config: { permission: 'read' },
    schema: { tags: ['webhooks'], summary: 'Get a webhook', params: IdParams, response: { 200: Webhook } },
  }, async (request) => json(await find(app.db, userOf(request).workspace_id, request.params.webhookId)));
  const Update = Type.Object({ url: Type.Optional(Url), events: Type.Optional(Type.Array(Event, { minItems: 1, uniqueItems: true })), description: Type.Optional(Type.String({ maxLength: 512 })), enabled: Type.Optional(Type.Boolean()) });
  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof Update> }>('/v1/webhooks/:webhookId', {
    config: { permission: 'webhooks:manage' },
    schema: { tags: ['webhooks'], summary: 'Update a webhook', params: IdParams, body: Update, response: { 200: Webhook } },
  }, async (request) => {
    const w = await find(app.db, userOf(request).workspace_id, request.params.webhookId);
    const b = request.body ?? {};
    const next: WebhooksTable = {
      ...w, url: b.url !== undefined ? checkUrl(b.url) : w.url, events: b.events ? JSON.stringify(b.events) : w.events,
      description: b.description ?? w.description, status: b.enabled === undefined ? w.status : b.enabled ? 'ENABLED' : 'DISABLED', updated_at: Date.now(),
    };
    await app.db.updateTable('webhooks').set(next).where('id', '=', w.id).execute();
    return json(next);
  });
  app.delete<{ Params: Static<typeof IdParams> }>('/v1/webhooks/:webhookId', {
    config: { permission: 'webhooks:manage' },
    schema: { tags: ['webhooks'], summary: 'Delete a webhook (pending deliveries are dropped)', params: IdParams, response: { 200: Webhook } },
  }, async (request) => {
    const w = await find(app.db, userOf(request).workspace_id, request.params.webhookId);
    await app.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', w.id).where('state', '=', 'PENDING').execute();
      await trx.deleteFrom('webhooks').where('id', '=', w.id).execute();
    });
    return json(w);
  });
};
