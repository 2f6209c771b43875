// The callback request JWT (DESIGN.md "Callback handler", and "The trust boundary is the design":
// the enclave builds and signs the request itself, so the handler sees exactly what will be signed).
// Compact JWS, header {"alg":"RS256","typ":"JWT"}, signed with the co-signer's RSA-2048 key (the
// one `print-public-key` shows). RSASSA-PKCS1-v1_5 is deterministic: the same claims and key give
// the same token, and a RETRY resends that token byte for byte.
// verifyRequestJwt is the handler's side, for the reference handler and tests.
import { sign as rsaSign, type KeyObject } from 'node:crypto';
import { compactVerify } from 'jose';
import { CosignerError } from '../errors.js';
import type { CallbackRequestClaims } from './claims.js';

const HEADER_B64 = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');

function requireRsaKey(key: KeyObject, type: 'private' | 'public'): void {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.type !== type || key.asymmetricKeyType !== 'rsa' || bits < 2048) {
    throw new CosignerError('CONFIG_INVALID', `the callback ${type === 'private' ? 'signing' : 'verification'} key must be an RSA ${type} key of at least 2048 bits`);
  }
}

export interface SignRequestOptions {
  /** Adds an `iat` claim (seconds since the epoch). Off by default: handlers do not need it. */
  issuedAtSeconds?: number;
}

/** Signs the request claims RS256 with the co-signer's callback key; returns the compact JWT. */
export function signRequestJwt(claims: CallbackRequestClaims, privateKey: KeyObject, opts: SignRequestOptions = {}): string {
  requireRsaKey(privateKey, 'private');
  if (typeof claims.requestId !== 'string' || claims.requestId.length === 0) {
    throw new CosignerError('SCHEMA_VIOLATION', 'a callback request needs a non-empty requestId');
  }
  const body = opts.issuedAtSeconds === undefined ? claims : { ...claims, iat: opts.issuedAtSeconds };
  const signingInput = `${HEADER_B64}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`;
  const signature = rsaSign('sha256', Buffer.from(signingInput, 'ascii'), privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** The handler's check: RS256 under the co-signer's public key; returns the claims. */
export async function verifyRequestJwt(jwt: string, coSignerPublicKey: KeyObject): Promise<Record<string, unknown>> {
  requireRsaKey(coSignerPublicKey, 'public');
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jwt.trim(), coSignerPublicKey, { algorithms: ['RS256'] }));
  } catch (e) {
    throw new CosignerError('TOKEN_INVALID', 'the callback request JWT does not verify under the co-signer key', { reason: 'signature' }, { cause: e });
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    claims = undefined;
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new CosignerError('TOKEN_INVALID', 'the callback request JWT payload is not a JSON object', { reason: 'malformed' });
  }
  return claims as Record<string, unknown>;
}
