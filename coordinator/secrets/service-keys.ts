// The coordinator's own keys, made on first start and kept sealed under the master key in the
// `secrets` table: the webhook signing key (RSA-4096, RSA-SHA512 signatures as the Fireblocks
// `Fireblocks-Signature` header carries them, so existing receivers only swap the public key), and
// the co-signer service key (Ed25519, below).
import { generateKeyPair, generateKeyPairSync, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Db } from '../storage/database.js';
import { isUniqueViolation } from '../plugins/authenticate.js';
import type { MasterKey } from './master-key.js';
import { serviceKeyFingerprint } from '../../shared/cosigner-api/keys.js';

export interface WebhookKey {
  privateKey: KeyObject;
  publicKeyPem: string;
}

export async function webhookSigningKey(db: Db, masterKey: MasterKey): Promise<WebhookKey> {
  const name = 'webhook-signing-key';
  let row = await db.selectFrom('secrets').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) {
    // Off the event loop: RSA-4096 generation takes seconds on a small machine.
    const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 4096 });
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    try {
      await db.insertInto('secrets').values({ name, sealed: masterKey.seal(name, new Uint8Array(der)), created_at: Date.now() }).execute();
    } catch (e) {
      if (!isUniqueViolation(e)) throw e; // another instance made one first: use that
    }
    row = await db.selectFrom('secrets').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
  }
  const der = masterKey.open(name, row.sealed);
  const privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  der.fill(0);
  return { privateKey, publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString() };
}

/**
 * The co-signer service key (Ed25519): signs every work item delivered to a co-signer, whose enclave
 * pins it by the SHA-256 of its DER SPKI carried in the pairing token. Made on first start.
 */
export interface ServiceKey {
  privateKey: KeyObject;
  publicKeySpki: Uint8Array;
  sha256: string;
}

export async function cosignerServiceKey(db: Db, masterKey: MasterKey): Promise<ServiceKey> {
  const name = 'cosigner-service-key';
  let row = await db.selectFrom('secrets').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) {
    const { privateKey } = generateKeyPairSync('ed25519');
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    try {
      await db.insertInto('secrets').values({ name, sealed: masterKey.seal(name, new Uint8Array(der)), created_at: Date.now() }).execute();
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
    }
    der.fill(0);
    row = await db.selectFrom('secrets').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
  }
  const der = masterKey.open(name, row.sealed);
  const privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  der.fill(0);
  const publicKeySpki = new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  return { privateKey, publicKeySpki, sha256: serviceKeyFingerprint(publicKeySpki) };
}
