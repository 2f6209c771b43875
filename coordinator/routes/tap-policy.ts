// The Transaction Authorization Policy (this coordinator's extension): read the current version,
// publish a new one. Publishing is a configuration change: once the workspace has a paired
// co-signer it takes effect only when that co-signer's Configuration Change Key approves it (202
// with the change to follow at GET /v1/config_changes/{id}); before, at once (200).
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { notFound } from '../api-error.js';
import { TapPolicySchema, parsePolicy } from '../policy/index.js';
import { userOf } from '../plugins/authenticate.js';
import { currentPolicy, publishPolicy } from '../storage/policy-store.js';
import { cckRequired, initiatorRequest, queueConfigChange } from '../config-changes/request-change.js';
import { ChangeQueued } from './config-changes.js';

const Published = Type.Object({ version: Type.Integer(), policy: TapPolicySchema, publishedBy: Type.String(), publishedAt: Type.Number() });

export const tapPolicyRoutes: FastifyPluginAsync = async (app) => {
  app.get('/v1/tap/policy', {
    config: { permission: 'read' },
    schema: { tags: ['policy', 'extensions'], summary: 'The current Transaction Authorization Policy', response: { 200: Published } },
  }, async (request) => {
    const p = await currentPolicy(app.db, userOf(request).workspace_id);
    if (!p) throw notFound('No policy has been published (every transaction is blocked)');
    return p;
  });
  app.post<{ Body: unknown }>('/v1/tap/policy', {
    config: { permission: 'policy:publish' },
    schema: { tags: ['policy', 'extensions'], summary: 'Publish a new policy version (rules in order; first match decides; no match blocks); with a paired co-signer, after its CCK approves', body: TapPolicySchema, response: { 200: Published, 202: ChangeQueued } },
  }, async (request, reply) => {
    const user = userOf(request);
    if (await cckRequired(app.db, user.workspace_id)) {
      parsePolicy(request.body); // refused now (400 with every issue), not after the co-signer approved it
      const q = await app.db.transaction().execute((trx) => queueConfigChange(trx, app.workQueue, { workspaceId: user.workspace_id, type: 'PUBLISH_TAP', initiatorId: user.id, request: initiatorRequest(request) }));
      app.workQueue.wake(user.workspace_id);
      request.log.info({ changeId: q.changeId, by: user.id }, 'policy publication waits for the co-signer\'s CCK approval');
      return reply.code(202).send({ status: 'WAITING_FOR_APPROVAL', changeId: q.changeId });
    }
    const p = await publishPolicy(app.db, user.workspace_id, request.body, user.id);
    request.log.info({ version: p.version, rules: p.policy.rules.length, by: user.id }, 'policy published');
    return p;
  });
};
