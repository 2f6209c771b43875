// The sealed-state blob (DESIGN.md "Sealed state"): enclave state encrypted with a KMS data key.
//   magic "NCSS" (4) | version 0x01 (1) | nonce (12, random) | AES-256-GCM ciphertext ‖ tag (16)
// AAD = magic ‖ version ‖ u16 length ‖ ARN of the KMS key that wraps the data key, so a blob is
// bound to its format version and to its KMS key (NIST SP 800-38D §7, GCM with AAD; random 96-bit
// IVs per §8.2.2 — one data key seals few blobs, far below the 2^32 limit).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CosignerError } from '../../shared/errors.js';
import { concatBytes } from '../../shared/bytes.js';

export const SEALED_MAGIC = new Uint8Array([0x4e, 0x43, 0x53, 0x53]); // "NCSS"
export const SEALED_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = SEALED_MAGIC.length + 1;
export const SEALED_OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;

function invalid(reason: string): never {
  throw new CosignerError('SEALED_STATE_INVALID', `sealed state: ${reason}`);
}

function checkDataKey(dataKey: Uint8Array): void {
  if (!(dataKey instanceof Uint8Array) || dataKey.length !== 32) throw new CosignerError('SEALED_STATE_INVALID', 'sealed state: the data key is not 32 bytes');
}

function aad(version: number, kmsKeyArn: string): Uint8Array {
  const arn = Buffer.from(kmsKeyArn, 'utf8');
  if (arn.length === 0 || arn.length > 2048) throw new CosignerError('SEALED_STATE_INVALID', 'sealed state: KMS key id must be 1..2048 bytes');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(arn.length);
  return concatBytes(SEALED_MAGIC, Uint8Array.of(version), len, arn);
}

export function seal(plaintext: Uint8Array, dataKey: Uint8Array, kmsKeyArn: string): Uint8Array {
  checkDataKey(dataKey);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dataKey, nonce);
  cipher.setAAD(aad(SEALED_VERSION, kmsKeyArn));
  const body = concatBytes(cipher.update(plaintext), cipher.final());
  return concatBytes(SEALED_MAGIC, Uint8Array.of(SEALED_VERSION), nonce, body, cipher.getAuthTag());
}

export function unseal(blob: Uint8Array, dataKey: Uint8Array, kmsKeyArn: string): Uint8Array {
  checkDataKey(dataKey);
  if (!(blob instanceof Uint8Array) || blob.length < SEALED_OVERHEAD) invalid(`blob is truncated (${blob?.length ?? 0} bytes, at least ${SEALED_OVERHEAD} expected)`);
  for (let i = 0; i < SEALED_MAGIC.length; i++) if (blob[i] !== SEALED_MAGIC[i]) invalid('not a sealed-state blob (bad magic)');
  const version = blob[SEALED_MAGIC.length]!;
  if (version !== SEALED_VERSION) invalid(`unsupported format version ${version}`);
  const nonce = blob.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
  const body = blob.subarray(HEADER_BYTES + NONCE_BYTES, blob.length - TAG_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', dataKey, nonce);
  decipher.setAAD(aad(version, kmsKeyArn));
  decipher.setAuthTag(tag);
  try {
    return concatBytes(decipher.update(body), decipher.final());
  } catch {
    invalid('authentication failed: the blob is corrupt, or was sealed under another data key or KMS key');
  }
}
