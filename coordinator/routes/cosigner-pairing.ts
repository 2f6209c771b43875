// Pairing, for the workspace's admins (REST API, request JWT): pairing tokens, the workspace's
// attestation expectations, revocation of a paired co-signer. The pairing token is shown in this
// answer only; it is never logged and the Idempotency-Key store does not keep it.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { AttestationPolicyRequest, AttestationPolicyResponse, ErrorJson, PairingTokenRequest, PairingTokenResponse } from '../../shared/cosigner-api/wire.js';
import { userOf } from '../plugins/authenticate.js';
import { issuePairingToken } from '../cosigners/pairing-tokens.js';
import { attestationPolicyOf, setAttestationPolicy } from '../cosigners/attestation-policy.js';
import { revokeCosigner } from '../cosigners/access-tokens.js';
import { notFound } from '../api-error.js';

export const cosignerPairingRoutes: FastifyPluginAsync<{ publicUrl?: string; pairingTokenTtlMs: number }> = async (app, opts) => {
  app.post<{ Body: Static<typeof PairingTokenRequest> }>('/v1/cosigner-pairing-tokens', {
    config: { permission: 'users:manage', answersWithSecret: true },
    schema: {
      tags: ['co-signer pairing'], summary: 'Issue a one-time pairing token for an API user of the workspace (ours)',
      body: PairingTokenRequest, response: { 200: PairingTokenResponse, 404: ErrorJson },
    },
  }, async (request) => {
    const admin = userOf(request);
    const key = await app.cosignerServiceKey();
    const issued = await issuePairingToken(app.db, {
      workspaceId: admin.workspace_id, user: request.body.userId, createdBy: admin.id, serviceKeySha256: key.sha256,
      url: opts.publicUrl ?? `${request.protocol}://${request.host}`,
      ttlMs: request.body.ttlSeconds !== undefined ? request.body.ttlSeconds * 1000 : opts.pairingTokenTtlMs,
    });
    request.log.info({ tokenId: issued.tokenId, apiUser: issued.userId, by: admin.id, expiresAt: issued.expiresAt }, 'pairing token issued');
    return issued;
  });

  app.get('/v1/cosigner-attestation-policy', {
    config: { permission: 'read' },
    schema: { tags: ['co-signer pairing'], summary: 'The PCRs this workspace expects of its co-signers\' enclaves (ours)', response: { 200: AttestationPolicyResponse } },
  }, async (request) => {
    const p = await attestationPolicyOf(app.db, userOf(request).workspace_id);
    return { pcr0: p?.pcr0 ?? null, pcr8: p?.pcr8 ?? null, updatedAt: p ? Number(p.updated_at) : null };
  });

  app.put<{ Body: Static<typeof AttestationPolicyRequest> }>('/v1/cosigner-attestation-policy', {
    config: { permission: 'users:manage' },
    schema: { tags: ['co-signer pairing'], summary: 'Set the PCR0 (and PCR8) that pairing co-signers must attest (ours)', body: AttestationPolicyRequest, response: { 200: AttestationPolicyResponse } },
  }, async (request) => {
    const admin = userOf(request);
    const p = await setAttestationPolicy(app.db, admin.workspace_id, request.body, admin.id);
    request.log.info({ by: admin.id, pcr0: p.pcr0, pcr8: p.pcr8 }, 'co-signer attestation policy set');
    return { pcr0: p.pcr0, pcr8: p.pcr8, updatedAt: p.updated_at };
  });

  const Params = Type.Object({ cosignerId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }, { additionalProperties: false });
  app.delete<{ Params: Static<typeof Params> }>('/v1/cosigner-pairings/:cosignerId', {
    config: { permission: 'users:manage' },
    schema: { tags: ['co-signer pairing'], summary: 'Revoke a paired co-signer: its refresh and access tokens stop working (ours)', params: Params, response: { 200: Type.Object({ revoked: Type.Boolean() }), 404: ErrorJson } },
  }, async (request) => {
    const admin = userOf(request);
    const row = await app.db.selectFrom('cosigners').select('id').where('id', '=', request.params.cosignerId).where('workspace_id', '=', admin.workspace_id).executeTakeFirst();
    if (!row || !(await revokeCosigner(app.db, row.id))) throw notFound('No such paired co-signer');
    request.log.info({ cosignerId: row.id, by: admin.id }, 'co-signer revoked');
    return { revoked: true };
  });
};
