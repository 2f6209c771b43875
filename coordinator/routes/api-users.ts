// API users (reference §2 rows 18–21): list, and create from a CSR as the console does. The new
// user's API key is returned with the answer (Fireblocks shows it in its console; here the API is
// the console). Console users do not exist in this coordinator: /v1/users lists none.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { badRequest } from '../api-error.js';
import { userOf } from '../plugins/authenticate.js';
import { createApiUser } from '../workspaces/workspaces.js';

const ApiUserJson = Type.Object({ id: Type.String(), name: Type.String(), role: Type.String(), enabled: Type.Boolean(), status: Type.String(), userType: Type.String() });

export const apiUserRoutes: FastifyPluginAsync = async (app) => {
  app.get('/v1/management/api_users', {
    config: { permission: 'read' },
    schema: { tags: ['users'], summary: 'List API users', response: { 200: Type.Object({ users: Type.Array(ApiUserJson) }) } },
  }, async (request) => {
    const rows = await app.db.selectFrom('api_users').selectAll().where('workspace_id', '=', userOf(request).workspace_id).orderBy('created_at').execute();
    return { users: rows.map((u) => ({ id: u.id, name: u.name, role: u.role, enabled: u.enabled === 1, status: 'READY', userType: 'API' })) };
  });

  // v5 names the co-signer field coSignerSetup, the ts-sdk coSignerSetupType (reference §2 row 21).
  const Create = Type.Object({
    name: Type.String({ minLength: 1, maxLength: 128 }),
    role: Type.String({ maxLength: 64 }),
    csrPem: Type.String({ minLength: 1, maxLength: 16384 }),
    coSignerSetup: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    coSignerSetupType: Type.Optional(Type.String({ maxLength: 64 })),
    coSignerSetupIsFirstUser: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  });
  app.post<{ Body: Static<typeof Create> }>('/v1/management/api_users', {
    config: { permission: 'users:manage' },
    schema: { tags: ['users'], summary: 'Create an API user from a CSR (RSA ≥ 2048, self-signed request)', body: Create, response: { 200: Type.Object({ success: Type.Boolean(), id: Type.String(), apiKey: Type.String() }) } },
  }, async (request) => {
    const creator = userOf(request);
    let u;
    try {
      u = await createApiUser(app.db, { workspaceId: creator.workspace_id, name: request.body.name, role: request.body.role, csrPem: request.body.csrPem });
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    request.log.info({ apiUser: u.id, role: u.role, by: creator.id }, 'API user created');
    return { success: true, id: u.id, apiKey: u.api_key };
  });

  app.get('/v1/users', {
    config: { permission: 'read' },
    schema: { tags: ['users'], summary: 'Console users (none in a self-hosted coordinator)', response: { 200: Type.Array(Type.Object({ id: Type.String() })) } },
  }, async () => []);
};
