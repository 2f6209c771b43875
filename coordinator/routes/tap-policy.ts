// The Transaction Authorization Policy (this coordinator's extension): read the current version,
// publish a new one. Publishing is a configuration change; the co-signer's Configuration Change
// Key approval of it comes with the co-signer configuration issue.
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { notFound } from '../api-error.js';
import { TapPolicySchema } from '../policy/index.js';
import { userOf } from '../plugins/authenticate.js';
import { currentPolicy, publishPolicy } from '../storage/policy-store.js';

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
    schema: { tags: ['policy', 'extensions'], summary: 'Publish a new policy version (rules in order; first match decides; no match blocks)', body: TapPolicySchema, response: { 200: Published } },
  }, async (request) => {
    const user = userOf(request);
    const p = await publishPolicy(app.db, user.workspace_id, request.body, user.id);
    request.log.info({ version: p.version, rules: p.policy.rules.length, by: user.id }, 'policy published');
    return p;
  });
};
