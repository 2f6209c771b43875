// Authentication of the co-signer API: routes that declare `auth: 'cosigner'` need
// `Authorization: Bearer <access token>` of a paired co-signer (cosigners/access-tokens.ts); the
// co-signer is then `request.cosigner`. Checked before validation, like the REST API's JWTs.
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { CosignerError } from '../../shared/errors.js';
import { cosignerOfAccessToken } from '../cosigners/access-tokens.js';
import type { CosignersTable } from '../storage/schema.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The paired co-signer (null before authentication, and on other routes). */
    cosigner: CosignersTable | null;
  }
}

export function cosignerOf(request: FastifyRequest): CosignersTable {
  if (!request.cosigner) throw new Error('route has no authenticated co-signer (a route without auth: cosigner?)');
  return request.cosigner;
}

export const authenticateCosignerPlugin = fp(
  async (app) => {
    app.decorateRequest('cosigner', null);
    app.addHook('preValidation', async (request) => {
      const cfg = request.routeOptions.config as { auth?: string };
      if (cfg.auth !== 'cosigner') return;
      const h = request.headers.authorization;
      const m = typeof h === 'string' ? /^Bearer (csa_[A-Za-z0-9_-]{43})$/.exec(h) : null;
      if (!m) throw new CosignerError('TOKEN_INVALID', 'a co-signer access token is required (Authorization: Bearer csa_…)', { reason: 'access' });
      request.cosigner = await cosignerOfAccessToken(app.db, m[1]!);
    });
  },
  { name: 'authenticate-cosigner', dependencies: ['database'] },
);
