// The emulator's CiphertextBlob: its own authenticated format (AWS's is opaque too).
//   "EKMS" | version 0x01 | key-id length (1 byte) | key id (UTF-8) | 12-byte nonce | AES-256-GCM ciphertext ‖ 16-byte tag
// AAD = every byte before the nonce, then the canonical encryption context, so a blob cannot be
// moved to another key or opened with a different context (NIST SP 800-38D §7.1, GCM-AE with AAD).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { concatBytes } from '../../shared/bytes.js';
import { KmsError } from './errors.js';

const MAGIC = Buffer.from('EKMS', 'ascii');
const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Sorted, length-prefixed key/value pairs: unambiguous, independent of JSON key order. */
export function canonicalEncryptionContext(ctx: Record<string, string> | undefined): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const k of Object.keys(ctx ?? {}).sort()) {
    for (const s of [k, ctx![k]!]) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      parts.push(len, b);
    }
  }
  return concatBytes(...parts);
}

function header(keyId: string): Uint8Array {
  const id = Buffer.from(keyId, 'utf8');
  if (id.length === 0 || id.length > 255) throw new Error('key id length out of range');
  return concatBytes(MAGIC, Uint8Array.of(VERSION, id.length), id);
}

export function sealBlob(keyId: string, material: Uint8Array, plaintext: Uint8Array, ctx: Record<string, string> | undefined): Uint8Array {
  const head = header(keyId);
  const nonce = randomBytes(NONCE_BYTES);
  const c = createCipheriv('aes-256-gcm', material, nonce);
  c.setAAD(concatBytes(head, canonicalEncryptionContext(ctx)));
  const ct = concatBytes(c.update(plaintext), c.final(), c.getAuthTag());
  return concatBytes(head, nonce, ct);
}

/** Reads the key id without authenticating (needed to pick the key); `openBlob` authenticates. */
export function blobKeyId(blob: Uint8Array): string {
  const bad = () => new KmsError('InvalidCiphertextException', '');
  if (blob.length < 6 + NONCE_BYTES + TAG_BYTES || !Buffer.from(blob.subarray(0, 4)).equals(MAGIC) || blob[4] !== VERSION) throw bad();
  const idLen = blob[5]!;
  if (blob.length < 6 + idLen + NONCE_BYTES + TAG_BYTES) throw bad();
  return Buffer.from(blob.subarray(6, 6 + idLen)).toString('utf8');
}

export function openBlob(blob: Uint8Array, material: Uint8Array, ctx: Record<string, string> | undefined): Uint8Array {
  blobKeyId(blob); // structural checks
  const headLen = 6 + blob[5]!;
  const nonce = blob.subarray(headLen, headLen + NONCE_BYTES);
  const body = blob.subarray(headLen + NONCE_BYTES, blob.length - TAG_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  try {
    const d = createDecipheriv('aes-256-gcm', material, nonce);
    d.setAAD(concatBytes(blob.subarray(0, headLen), canonicalEncryptionContext(ctx)));
    d.setAuthTag(tag);
    return concatBytes(d.update(body), d.final());
  } catch {
    // AWS answers an empty message for a ciphertext it cannot authenticate.
    throw new KmsError('InvalidCiphertextException', '');
  }
}
