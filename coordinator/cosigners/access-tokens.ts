// Refresh and access tokens of paired co-signers. Both are opaque random strings stored as
// SHA-256: an access token lives 5 minutes (configurable) and is checked against the database on
// every request, so deleting a co-signer (with its tokens) or disabling its API user stops it at
// once — no signed token outlives a revocation. Refresh tokens do not rotate: one per pairing, revoked with the co-signer.
import { CosignerError } from '../../shared/errors.js';
import type { Db } from '../storage/database.js';
import type { CosignersTable } from '../storage/schema.js';
import { newBearerToken, sha256Hex } from './token-secrets.js';

export const DEFAULT_ACCESS_TOKEN_TTL_MS = 5 * 60_000;

export async function issueAccessToken(db: Db, refreshToken: string, ttlMs: number, now = Date.now()): Promise<{ accessToken: string; expiresAt: number; cosignerId: string }> {
  const cosigner = await db.selectFrom('cosigners').innerJoin('api_users', 'api_users.id', 'cosigners.api_user_id').select('cosigners.id')
    .where('cosigners.refresh_token_sha256', '=', sha256Hex(refreshToken)).where('api_users.enabled', '=', 1).executeTakeFirst();
  if (!cosigner) throw new CosignerError('TOKEN_INVALID', 'unknown or revoked refresh token (or its API user is disabled)', { reason: 'refresh' });
  const accessToken = newBearerToken('csa');
  const expiresAt = now + ttlMs;
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('cosigner_access_tokens').where('cosigner_id', '=', cosigner.id).where('expires_at', '<=', now).execute();
    await trx.insertInto('cosigner_access_tokens').values({ token_sha256: sha256Hex(accessToken), cosigner_id: cosigner.id, expires_at: expiresAt }).execute();
  });
  return { accessToken, expiresAt, cosignerId: cosigner.id };
}

/** The co-signer an access token belongs to; TOKEN_INVALID if unknown, expired or revoked. */
export async function cosignerOfAccessToken(db: Db, accessToken: string, now = Date.now()): Promise<CosignersTable> {
  const row = await db.selectFrom('cosigner_access_tokens').innerJoin('cosigners', 'cosigners.id', 'cosigner_access_tokens.cosigner_id')
    .innerJoin('api_users', 'api_users.id', 'cosigners.api_user_id')
    .selectAll('cosigners').select('cosigner_access_tokens.expires_at as token_expires_at')
    .where('cosigner_access_tokens.token_sha256', '=', sha256Hex(accessToken)).where('api_users.enabled', '=', 1).executeTakeFirst();
  if (!row) throw new CosignerError('TOKEN_INVALID', 'unknown or revoked access token (or its API user is disabled)', { reason: 'access' });
  if (Number(row.token_expires_at) <= now) throw new CosignerError('TOKEN_INVALID', 'the access token has expired: exchange the refresh token for a new one', { reason: 'access-expired' });
  const { token_expires_at: _t, ...cosigner } = row;
  return cosigner;
}

/** Revocation: the co-signer, its access tokens and so its refresh token are gone. */
export async function revokeCosigner(db: Db, cosignerId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom('cosigner_access_tokens').where('cosigner_id', '=', cosignerId).execute();
    const r = await trx.deleteFrom('cosigners').where('id', '=', cosignerId).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  });
}
