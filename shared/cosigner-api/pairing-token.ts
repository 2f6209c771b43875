// The pairing token an operator hands to a co-signer: base64url(JSON {v:1, url, serviceKeySha256,
// tokenId, secret}). The enclave pins the coordinator's service key by `serviceKeySha256` from the
// token itself; the coordinator keeps only a hash of `secret`, and the attestation document's
// nonce must be SHA-256(secret) so the document belongs to this token.
import { createHash } from 'node:crypto';
import { CosignerError } from '../errors.js';
import * as s from '../schema.js';

export interface PairingToken {
  v: 1;
  url: string;
  serviceKeySha256: string;
  tokenId: string;
  /** 32 random bytes, base64url. */
  secret: string;
}

const TokenSchema = s.struct({
  v: s.literal(1),
  url: s.text({ min: 1, max: 2048 }),
  serviceKeySha256: s.text({ pattern: /^[0-9a-f]{64}$/ }),
  tokenId: s.text({ min: 1, max: 64, pattern: /^[A-Za-z0-9-]+$/ }),
  secret: s.text({ pattern: /^[A-Za-z0-9_-]{43}$/ }),
});

export const PAIRING_TOKEN_MAX_CHARS = 4096;

export function encodePairingToken(t: PairingToken): string {
  return Buffer.from(JSON.stringify(s.parse(TokenSchema, t))).toString('base64url');
}

/** Throws TOKEN_INVALID (reason: malformed) for anything that is not a well-formed token. */
export function decodePairingToken(text: string): PairingToken {
  const bad = () => new CosignerError('TOKEN_INVALID', 'the pairing token is malformed', { reason: 'malformed' });
  if (typeof text !== 'string' || text.length > PAIRING_TOKEN_MAX_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) throw bad();
  try {
    const t = s.parse(TokenSchema, JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
    new URL(t.url);
    return t as PairingToken;
  } catch {
    throw bad();
  }
}

/** SHA-256 of the token secret's bytes: the nonce the attestation document must carry. */
export function pairingNonce(secret: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(Buffer.from(secret, 'base64url')).digest());
}
