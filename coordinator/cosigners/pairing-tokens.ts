// Issuing pairing tokens: one per API user of the workspace, one use, expiring (24 h unless told).
// The token string carries the coordinator URL and the service key's fingerprint for the enclave
// to pin; only a hash of its secret is stored, so the string is shown once and never logged.
import { randomBytes, randomUUID } from 'node:crypto';
import { CosignerError } from '../../shared/errors.js';
import { encodePairingToken } from '../../shared/cosigner-api/pairing-token.js';
import type { Db } from '../storage/database.js';
import { sha256Hex } from './token-secrets.js';

export const DEFAULT_PAIRING_TOKEN_TTL_MS = 24 * 3600_000;

export interface IssuedPairingToken {
  pairingToken: string;
  tokenId: string;
  userId: string;
  expiresAt: number;
}

export async function issuePairingToken(db: Db, o: {
  workspaceId: string;
  /** API user id (or API key) of the workspace the co-signer will serve. */
  user: string;
  url: string;
  serviceKeySha256: string;
  createdBy: string;
  ttlMs?: number;
  now?: number;
}): Promise<IssuedPairingToken> {
  const ttl = o.ttlMs ?? DEFAULT_PAIRING_TOKEN_TTL_MS;
  if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new CosignerError('CONFIG_INVALID', 'a pairing token lifetime must be a positive number of milliseconds');
  try {
    new URL(o.url);
  } catch {
    throw new CosignerError('CONFIG_INVALID', 'the coordinator URL in a pairing token must be an absolute URL');
  }
  const user = await db.selectFrom('api_users').select(['id', 'enabled']).where('workspace_id', '=', o.workspaceId)
    .where((eb) => eb.or([eb('id', '=', o.user), eb('api_key', '=', o.user)])).executeTakeFirst();
  if (!user) throw new CosignerError('NOT_FOUND', 'no such API user in this workspace');
  if (user.enabled !== 1) throw new CosignerError('CONFLICT', 'the API user is disabled');
  const tokenId = randomUUID();
  const secret = randomBytes(32).toString('base64url');
  const now = o.now ?? Date.now();
  const expiresAt = now + ttl;
  await db.insertInto('cosigner_pairing_tokens').values({
    id: tokenId, workspace_id: o.workspaceId, api_user_id: user.id, secret_sha256: sha256Hex(Buffer.from(secret, 'base64url')),
    expires_at: expiresAt, used_at: null, created_by: o.createdBy, created_at: now,
  }).execute();
  return { pairingToken: encodePairingToken({ v: 1, url: o.url, serviceKeySha256: o.serviceKeySha256, tokenId, secret }), tokenId, userId: user.id, expiresAt };
}
