// Authentication and authorization of the REST API. Every route declares in its config either the
// permission it needs (checked against auth/permissions.ts) or `auth: 'none'` (docs, health) or
// 'cosigner' (the co-signer API, which has tokens of its own); a route that declares nothing is
// refused when it is registered, so none is left open by accident. The request JWT is verified
// before validation runs, so an unauthenticated caller learns nothing about a route's schema.
import type { KeyObject } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { AuthCode, badRequest, unauthorized } from '../api-error.js';
import { roleAllows, type Permission } from '../auth/permissions.js';
import { publicKeyOf, requestCredentials, verifyRequestJwt, type JwtLimits } from '../auth/request-jwt.js';
import type { ApiUsersTable } from '../storage/schema.js';
import { MALFORMED_JSON } from './raw-body.js';

export type ApiUser = ApiUsersTable;

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated API user (null before authentication, and on unauthenticated routes). */
    apiUser: ApiUser | null;
  }
  interface FastifyContextConfig {
    permission?: Permission;
    auth?: 'none' | 'cosigner';
    /** The answer holds a secret shown once (a pairing token): never stored for idempotent replay. */
    answersWithSecret?: boolean;
  }
}

/** The authenticated user of a route that declared a permission. */
export function userOf(request: FastifyRequest): ApiUser {
  if (!request.apiUser) throw new Error('route has no authenticated user (a route without a permission?)');
  return request.apiUser;
}

export const authenticatePlugin = fp<JwtLimits>(
  async (app, limits) => {
    app.decorateRequest('apiUser', null);
    // Parsed public keys by PEM text: parsing costs more than verifying. A changed key is a new entry.
    const keys = new Map<string, KeyObject>();
    const keyOf = (pem: string): KeyObject => {
      let k = keys.get(pem);
      if (!k) {
        if (keys.size >= 10_000) keys.clear();
        k = publicKeyOf(pem);
        keys.set(pem, k);
      }
      return k;
    };
    app.addHook('onRoute', (route) => {
      const cfg = (route.config ?? {}) as { permission?: Permission; auth?: string };
      if (route.url.startsWith('/docs')) return;
      if (!cfg.permission && !cfg.auth) throw new Error(`route ${route.method} ${route.url} declares neither a permission nor auth`);
    });
    app.addHook('preValidation', async (request) => {
      const cfg = request.routeOptions.config as { permission?: Permission; auth?: string };
      if (cfg.permission) {
        const { apiKey, token } = requestCredentials({ apiKey: header(request, 'x-api-key'), authorization: header(request, 'authorization') });
        const user = await app.db.selectFrom('api_users').selectAll().where('api_key', '=', apiKey).executeTakeFirst();
        if (!user || user.enabled !== 1) throw unauthorized(AuthCode.TOKEN_NOT_ACCEPTED, 'Token was not accepted.');
        const claims = await verifyRequestJwt(
          { apiKey, authorization: header(request, 'authorization'), target: request.url, rawBody: request.rawBody, nowMs: Date.now() },
          token, apiKey, keyOf(user.public_key_pem), limits,
        );
        await recordNonce(app.db, apiKey, claims.nonce, claims.exp * 1000);
        if (!roleAllows(user.role, cfg.permission)) throw unauthorized(AuthCode.INSUFFICIENT_PERMISSIONS, `Insufficient permissions: role ${user.role} may not ${cfg.permission}.`);
        request.apiUser = user;
      }
      if (request.body === MALFORMED_JSON) throw badRequest('Request body is not valid JSON');
    });
  },
  { name: 'authenticate', dependencies: ['database', 'raw-body'] },
);

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A nonce is accepted once within its token's lifetime; expired records are pruned as we go. */
async function recordNonce(db: import('../storage/database.js').Db, apiKey: string, nonce: string, expiresAt: number): Promise<void> {
  try {
    await db.insertInto('jwt_nonces').values({ api_key: apiKey, nonce, expires_at: expiresAt }).execute();
  } catch (e) {
    if (isUniqueViolation(e)) throw unauthorized(AuthCode.TOKEN_NOT_ACCEPTED, 'Token was not accepted: its nonce was already used.');
    throw e;
  }
  if (Math.random() < 0.01) await db.deleteFrom('jwt_nonces').where('expires_at', '<', Date.now() - 120_000).execute();
}

/** SQLite's and PostgreSQL's unique-constraint failures. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}
