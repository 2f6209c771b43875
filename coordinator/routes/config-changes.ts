// Configuration changes waiting for, or decided by, the co-signer's Configuration Change Key
// (this coordinator's extension): the status of one change, as the route that queued it named it.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { notFound } from '../api-error.js';
import { userOf } from '../plugins/authenticate.js';

/** What a route answers (202) when its change waits for the CCK. */
export const ChangeQueued = Type.Object({ status: Type.Literal('WAITING_FOR_APPROVAL'), changeId: Type.String() });

const ConfigChangeJson = Type.Object({
  id: Type.String(), type: Type.String(), initiatorId: Type.String(), status: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]), decidedBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.Number(), decidedAt: Type.Union([Type.Number(), Type.Null()]),
});

export const configChangeRoutes: FastifyPluginAsync = async (app) => {
  const Params = Type.Object({ changeId: Type.String({ maxLength: 64 }) });
  app.get<{ Params: Static<typeof Params> }>('/v1/config_changes/:changeId', {
    config: { permission: 'read' },
    schema: { tags: ['extensions'], summary: 'A configuration change and its CCK decision: WAITING_FOR_APPROVAL, APPROVED, REJECTED, CANCELLED (IGNORE) or FAILED', params: Params, response: { 200: ConfigChangeJson } },
  }, async (request) => {
    const r = await app.db.selectFrom('config_changes').selectAll().where('id', '=', request.params.changeId).where('workspace_id', '=', userOf(request).workspace_id).executeTakeFirst();
    if (!r) throw notFound('No such configuration change');
    return { id: r.id, type: r.type, initiatorId: r.initiator_id, status: r.status, reason: r.reason, decidedBy: r.decided_by, createdAt: Number(r.created_at), decidedAt: r.decided_at === null ? null : Number(r.decided_at) };
  });
};
