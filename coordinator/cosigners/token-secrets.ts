// Random bearer secrets of the co-signer API (refresh and access tokens) and how they are stored:
// only their SHA-256, so a copy of the database authenticates nobody.
import { createHash, randomBytes } from 'node:crypto';

/** `prefix` + 32 random bytes, base64url. The prefix says what a leaked string is. */
export function newBearerToken(prefix: 'csr' | 'csa'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}
