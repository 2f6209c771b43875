// Pairing a co-signer: the pairing token must be known, unused and unexpired; the attestation
// document must verify from the configured root, come from a non-debug enclave with the
// workspace's expected PCRs, be fresh, carry nonce = SHA-256(token secret) (this token, and only
// once) and user_data = the binding of the three public keys presented with it. Only then, in one
// database transaction, the token is spent and the co-signer stored with a hash of its refresh
// token. Any failure stores nothing, so a token refused for a bad document stays usable.
// The answer carries the pairing record signed with the service key: the ids the co-signer is
// known by and the API user's public key, which the enclave seals (a parent cannot alter them).
import { createPublicKey, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
import { toHex } from '../../shared/bytes.js';
import { CosignerError } from '../../shared/errors.js';
import { verifyAttestationDocument } from '../../shared/attestation/verify.js';
import { decodePairingToken, pairingNonce } from '../../shared/cosigner-api/pairing-token.js';
import { checkCallbackKey, ed25519PublicKeyFromRaw, pairingKeyBinding, spkiFromText } from '../../shared/cosigner-api/keys.js';
import type { PairRequest } from '../../shared/cosigner-api/wire.js';
import { signPairingRecord, type SignedPairingRecord } from '../../shared/cosigner-api/pairing-record.js';
import type { Db } from '../storage/database.js';
import type { CosignersTable } from '../storage/schema.js';
import { attestationPolicyOf, expectedPcrs } from './attestation-policy.js';
import { newBearerToken, sha256Hex } from './token-secrets.js';

export const DEFAULT_ATTESTATION_MAX_AGE_MS = 5 * 60_000;

export interface PairingOptions {
  /** Trust anchor for attestation documents (PEM or DER): AWS Nitro Root-G1, or an emulator's root. */
  attestationRoot: string | Uint8Array;
  /** A workspace with no PCR expectations configured accepts any non-debug PCRs (development only). */
  allowAnyPcrs: boolean;
  attestationMaxAgeMs: number;
  /** The service key: its fingerprint is what our tokens carry (a token naming another was not ours); it signs the pairing record. */
  serviceKey: { sha256: string; privateKey: KeyObject };
  now?: () => number;
}

export interface Paired {
  cosigner: CosignersTable;
  refreshToken: string;
  record: SignedPairingRecord;
}

const tokenRefused = (reason: string, message: string) => new CosignerError('TOKEN_INVALID', message, { reason });

function b64(text: string, what: string): Uint8Array {
  const b = Buffer.from(text, 'base64');
  if (b.toString('base64') !== text) throw new CosignerError('SCHEMA_VIOLATION', `${what}: not canonical base64`);
  return new Uint8Array(b);
}

export async function pairCosigner(db: Db, req: PairRequest, o: PairingOptions): Promise<Paired> {
  const now = (o.now ?? Date.now)();
  const token = decodePairingToken(req.pairingToken);
  if (token.serviceKeySha256 !== o.serviceKey.sha256) throw tokenRefused('pairing-unknown', 'the pairing token was not issued by this coordinator (service key fingerprint differs)');
  const row = await db.selectFrom('cosigner_pairing_tokens').selectAll().where('id', '=', token.tokenId).executeTakeFirst();
  const presented = Buffer.from(sha256Hex(Buffer.from(token.secret, 'base64url')), 'hex');
  if (!row || !timingSafeEqual(presented, Buffer.from(row.secret_sha256, 'hex'))) throw tokenRefused('pairing-unknown', 'unknown pairing token');
  if (row.used_at !== null) throw tokenRefused('pairing-used', 'the pairing token was already used');
  if (Number(row.expires_at) <= now) throw tokenRefused('pairing-expired', 'the pairing token has expired');

  const identityRaw = b64(req.identityPublicKey, 'identityPublicKey');
  ed25519PublicKeyFromRaw(identityRaw);
  const cck = spkiFromText('cckPublicKey', req.cckPublicKey);
  const callback = spkiFromText('callbackPublicKey', req.callbackPublicKey);
  checkCallbackKey(callback.key);

  const policy = await attestationPolicyOf(db, row.workspace_id);
  if (!policy && !o.allowAnyPcrs) throw new CosignerError('ATTESTATION_INVALID', 'this workspace has no expected PCR0 configured (PUT /v1/cosigner-attestation-policy)');
  const doc = await verifyAttestationDocument(b64(req.attestationDocument, 'attestationDocument'), {
    root: o.attestationRoot,
    at: new Date(now),
    allowDebug: false,
    expectedPcrs: policy ? expectedPcrs(policy) : undefined,
    expectedNonce: pairingNonce(token.secret),
    maxAgeMs: o.attestationMaxAgeMs,
  });
  const binding = pairingKeyBinding({ identityPublicKey: identityRaw, cckPublicKeySpki: cck.der, callbackPublicKeySpki: callback.der });
  if (!doc.userData || doc.userData.length !== binding.length || !timingSafeEqual(doc.userData, binding)) {
    throw new CosignerError('ATTESTATION_INVALID', 'user_data does not bind the presented identity, CCK and callback keys');
  }

  const user = await db.selectFrom('api_users').select(['public_key_pem', 'api_key', 'role']).where('id', '=', row.api_user_id).executeTakeFirstOrThrow();
  const refreshToken = newBearerToken('csr');
  const cosigner: CosignersTable = {
    id: randomUUID(), workspace_id: row.workspace_id, api_user_id: row.api_user_id, pairing_token_id: row.id,
    identity_public_key: Buffer.from(identityRaw).toString('base64'),
    cck_public_key: Buffer.from(cck.der).toString('base64'),
    callback_public_key: Buffer.from(callback.der).toString('base64'),
    pcrs: JSON.stringify(Object.fromEntries([...doc.pcrs].map(([i, v]) => [String(i), toHex(v)]))),
    module_id: doc.moduleId,
    refresh_token_sha256: sha256Hex(refreshToken),
    state_version: null, state_digest: null, created_at: now, updated_at: now,
  };
  // Signed before anything is stored: a record that cannot be made must not cost the token.
  const record = signPairingRecord({
    tokenId: row.id, cosignerId: cosigner.id, workspaceId: cosigner.workspace_id, userId: cosigner.api_user_id,
    identityPublicKey: cosigner.identity_public_key,
    userPublicKey: createPublicKey(user.public_key_pem).export({ format: 'der', type: 'spki' }).toString('base64'),
    pairedAt: now,
    apiKey: user.api_key,
    role: user.role,
  }, o.serviceKey.privateKey);
  await db.transaction().execute(async (trx) => {
    // Spent only if still unspent: of two concurrent pairings with one token, one wins.
    const r = await trx.updateTable('cosigner_pairing_tokens').set({ used_at: now })
      .where('id', '=', row.id).where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw tokenRefused('pairing-used', 'the pairing token was already used');
    await trx.insertInto('cosigners').values(cosigner).execute();
  });
  return { cosigner, refreshToken, record };
}
