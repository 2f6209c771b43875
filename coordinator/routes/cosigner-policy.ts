// The co-signer's enclave policy (this coordinator's extension; shared/cosigner-api/enclave-policy.ts):
// limits and allowlists the enclave enforces itself. Setting one is a configuration change an
// Admin signs and the co-signer's CCK approves; the enclave seals it before it reports APPROVE,
// and only then is it shown here. Without a paired co-signer there is no enclave to hold it: 409.
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { badRequest, conflict, notFound } from '../api-error.js';
import { parseEnclavePolicy } from '../../shared/cosigner-api/enclave-policy.js';
import { userOf } from '../plugins/authenticate.js';
import { cckRequired, initiatorRequest, queueConfigChange } from '../config-changes/request-change.js';
import { ChangeQueued } from './config-changes.js';

const Current = Type.Object({ changeId: Type.String(), policy: Type.Unknown(), approvedBy: Type.String(), approvedAt: Type.Number() });

export const cosignerPolicyRoutes: FastifyPluginAsync = async (app) => {
  app.get('/v1/cosigner_policy', {
    config: { permission: 'read' },
    schema: { tags: ['policy', 'extensions'], summary: 'The enclave policy the co-signer approved and sealed', response: { 200: Current } },
  }, async (request) => {
    const r = await app.db.selectFrom('cosigner_policies').selectAll().where('workspace_id', '=', userOf(request).workspace_id).orderBy('approved_at', 'desc').limit(1).executeTakeFirst();
    if (!r) throw notFound('No enclave policy has been approved (the enclave enforces none)');
    return { changeId: r.change_id, policy: JSON.parse(r.document) as unknown, approvedBy: r.approved_by, approvedAt: Number(r.approved_at) };
  });

  app.post<{ Body: unknown }>('/v1/cosigner_policy', {
    config: { permission: 'policy:publish' },
    schema: { tags: ['policy', 'extensions'], summary: 'Ask the co-signer to enforce a new enclave policy (its CCK approves; the enclave seals it)', response: { 202: ChangeQueued } },
  }, async (request, reply) => {
    const user = userOf(request);
    try {
      parseEnclavePolicy(request.body);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    if (!(await cckRequired(app.db, user.workspace_id))) throw conflict('No co-signer is paired with this workspace: there is no enclave to enforce a policy');
    const q = await app.db.transaction().execute((trx) => queueConfigChange(trx, app.workQueue, { workspaceId: user.workspace_id, type: 'SET_ENCLAVE_POLICY', initiatorId: user.id, request: initiatorRequest(request) }));
    app.workQueue.wake(user.workspace_id);
    request.log.info({ changeId: q.changeId, by: user.id }, 'enclave policy change waits for the co-signer\'s CCK approval');
    return reply.code(202).send({ status: 'WAITING_FOR_APPROVAL' as const, changeId: q.changeId });
  });
};
