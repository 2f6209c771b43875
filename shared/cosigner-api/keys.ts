// The public keys a co-signer presents at pairing and how they are bound into its attestation
// document: `user_data` = SHA-256 over a domain-separated, length-prefixed concatenation of the
// identity key (Ed25519, raw 32 bytes) and the DER SubjectPublicKeyInfo of the CCK and of the
// callback key. The enclave computes the same bytes from the keys it generated.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { CosignerError } from '../errors.js';

export const KEY_BINDING_DOMAIN = 'nitro-cosigner/pairing-keys/v1';
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function invalid(what: string, why: string): never {
  throw new CosignerError('SCHEMA_VIOLATION', `${what}: ${why}`);
}

/** An Ed25519 public key from its raw 32 bytes. */
export function ed25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) invalid('identityPublicKey', 'an Ed25519 public key is 32 bytes');
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    invalid('identityPublicKey', 'not an Ed25519 public key');
  }
}

/** The raw 32 bytes of an Ed25519 key (a private key gives its public half). */
export function rawEd25519PublicKey(key: KeyObject): Uint8Array {
  const spki = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

/** A public key given as PEM text or as base64 of DER SPKI, as the DER SPKI. */
export function spkiFromText(what: string, text: string): { key: KeyObject; der: Uint8Array } {
  let key: KeyObject;
  try {
    key = text.includes('-----BEGIN')
      ? createPublicKey({ key: text, format: 'pem' })
      : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  } catch {
    invalid(what, 'not a PEM or base64 DER public key');
  }
  if (key.type !== 'public') invalid(what, 'not a public key');
  return { key, der: new Uint8Array(key.export({ format: 'der', type: 'spki' })) };
}

/** A key that signs or verifies RS256 here: RSA of at least 2048 bits. */
export function isRs256Key(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
}

/** The callback key signs callback request JWTs with RS256: RSA of at least 2048 bits. */
export function checkCallbackKey(key: KeyObject): void {
  if (!isRs256Key(key)) invalid('callbackPublicKey', 'must be an RSA key of at least 2048 bits');
}

export interface PairingKeys {
  identityPublicKey: Uint8Array; // raw Ed25519
  cckPublicKeySpki: Uint8Array;
  callbackPublicKeySpki: Uint8Array;
}

function lengthPrefixed(b: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** The 32 bytes the enclave puts in its attestation document's `user_data`. */
export function pairingKeyBinding(k: PairingKeys): Uint8Array {
  return new Uint8Array(createHash('sha256')
    .update(lengthPrefixed(new TextEncoder().encode(KEY_BINDING_DOMAIN)))
    .update(lengthPrefixed(k.identityPublicKey))
    .update(lengthPrefixed(k.cckPublicKeySpki))
    .update(lengthPrefixed(k.callbackPublicKeySpki))
    .digest());
}

/** The fingerprint pinned from a pairing token: SHA-256 (hex) of the service key's DER SPKI. */
export function serviceKeyFingerprint(spkiDer: Uint8Array): string {
  return createHash('sha256').update(spkiDer).digest('hex');
}

/**
 * The coordinator's service key from its DER SPKI, only if that SPKI has the pinned fingerprint
 * and is an Ed25519 key; null otherwise (what the parent brought is not the pinned key).
 */
export function pinnedServiceKey(spkiDer: Uint8Array, pinnedSha256: string): KeyObject | null {
  if (serviceKeyFingerprint(spkiDer) !== pinnedSha256) return null;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch {
    return null;
  }
  return key.asymmetricKeyType === 'ed25519' ? key : null;
}
