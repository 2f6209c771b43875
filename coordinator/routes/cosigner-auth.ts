// The co-signer API's unauthenticated entry points: the service key a pairing token pins, pairing
// itself (authenticated by the pairing token and the attestation document) and the exchange of a
// refresh token for an access token.
import type { FastifyPluginAsync } from 'fastify';
import { ErrorJson, PairRequest, PairResponse, ServiceKeyResponse, TokenRequest, TokenResponse } from '../../shared/cosigner-api/wire.js';
import { pairCosigner, type PairingOptions } from '../cosigners/pairing.js';
import { issueAccessToken } from '../cosigners/access-tokens.js';
import { requestMasterKeys } from '../mpc/signing-requests.js';

export interface CosignerAuthRouteOptions {
  pairing: Omit<PairingOptions, 'serviceKey'>;
  accessTokenTtlMs: number;
}

export const cosignerAuthRoutes: FastifyPluginAsync<CosignerAuthRouteOptions> = async (app, opts) => {
  app.get('/cosigner/v1/service-key', {
    config: { auth: 'none' },
    schema: { tags: ['co-signer API'], summary: 'The coordinator\'s service key, which signs work items', security: [], response: { 200: ServiceKeyResponse } },
  }, async () => {
    const k = await app.cosignerServiceKey();
    return { algorithm: 'Ed25519' as const, publicKeySpki: Buffer.from(k.publicKeySpki).toString('base64'), sha256: k.sha256 };
  });

  app.post<{ Body: PairRequest }>('/cosigner/v1/pair', {
    config: { auth: 'none' },
    schema: {
      tags: ['co-signer API'], summary: 'Pair a co-signer: pairing token + attestation document binding its keys', security: [],
      body: PairRequest, response: { 200: PairResponse, 400: ErrorJson, 401: ErrorJson, 403: ErrorJson },
    },
  }, async (request) => {
    const key = await app.cosignerServiceKey();
    const { cosigner, refreshToken, record } = await pairCosigner(app.db, request.body, { ...opts.pairing, serviceKey: key });
    request.log.info({ cosignerId: cosigner.id, workspaceId: cosigner.workspace_id, apiUser: cosigner.api_user_id, moduleId: cosigner.module_id }, 'co-signer paired');
    if (app.mpcParty) {
      // A workspace gets its master keys from its first paired co-signer: one KEYGEN item per missing algorithm.
      const items = await app.db.transaction().execute((trx) => requestMasterKeys(trx, app.workQueue, app.masterKeys, cosigner.workspace_id));
      if (items.length > 0) {
        app.workQueue.wake(cosigner.workspace_id);
        request.log.info({ workspaceId: cosigner.workspace_id, items: items.length }, 'master key generation requested');
      }
    }
    return { cosignerId: cosigner.id, workspaceId: cosigner.workspace_id, userId: cosigner.api_user_id, refreshToken, pairingRecord: record };
  });

  app.post<{ Body: { refreshToken: string } }>('/cosigner/v1/token', {
    config: { auth: 'none' },
    schema: { tags: ['co-signer API'], summary: 'Exchange the refresh token for a short-lived access token', security: [], body: TokenRequest, response: { 200: TokenResponse, 401: ErrorJson } },
  }, async (request) => {
    const t = await issueAccessToken(app.db, request.body.refreshToken, opts.accessTokenTtlMs);
    request.log.info({ cosignerId: t.cosignerId, expiresAt: t.expiresAt }, 'co-signer access token issued');
    return t;
  });
};
