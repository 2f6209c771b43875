// Verifying a REST request the way the official Fireblocks SDKs sign it (reference §1): the
// `X-API-Key` header names the API user; `Authorization: Bearer <JWT>` is RS256 over
// {uri, nonce, iat, exp, sub, bodyHash}, made with the user's RSA key. Every check answers 401
// with Fireblocks' documented negative code. The signature is checked before any claim is
// believed; the nonce is recorded last, only for a request that passed everything else.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { compactVerify, errors as joseErrors } from 'jose';
import { AuthCode, unauthorized } from '../api-error.js';

export interface RequestToVerify {
  apiKey: string | undefined;
  authorization: string | undefined;
  /** The request-target exactly as received: path and query. */
  target: string;
  /** The body bytes exactly as received (empty for none). */
  rawBody: Uint8Array;
  nowMs: number;
}

export interface VerifiedClaims {
  nonce: string;
  iat: number;
  exp: number;
}

export interface JwtLimits {
  maxLifetimeSeconds: number;
  clockSkewSeconds: number;
}

const SHA256_EMPTY = createHash('sha256').update('').digest('hex');
// fireblocks-sdk v5 hashes JSON.stringify("") for bodyless requests (reference §1 "bodyHash").
const SHA256_EMPTY_JSON_STRING = createHash('sha256').update('""').digest('hex');

/** Percent-decode for comparison; a malformed escape is compared as it is. */
function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The two header checks that need no user: which key is claimed, and that a token is there. */
export function requestCredentials(req: Pick<RequestToVerify, 'apiKey' | 'authorization'>): { apiKey: string; token: string } {
  const apiKey = req.apiKey?.trim();
  if (!apiKey) throw unauthorized(AuthCode.MISSING_API_KEY, 'X-API-Key header is missing.');
  const m = /^Bearer ([A-Za-z0-9_\-.=]+)$/.exec(req.authorization?.trim() ?? '');
  if (!m) throw unauthorized(AuthCode.MISSING_JWT, 'JWT is missing (Authorization: Bearer <token>).');
  return { apiKey, token: m[1]! };
}

export function publicKeyOf(pem: string): KeyObject {
  return createPublicKey(pem);
}

/** Checks the token against the user's key and the request; returns the claims for the nonce record. */
export async function verifyRequestJwt(req: RequestToVerify, token: string, apiKey: string, key: KeyObject, limits: JwtLimits): Promise<VerifiedClaims> {
  const parts = token.split('.');
  if (parts.length !== 3) throw unauthorized(AuthCode.INVALID_TOKEN_FORMAT, 'Invalid token format.');
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
  } catch {
    throw unauthorized(AuthCode.INVALID_TOKEN_FORMAT, 'Invalid token format.');
  }
  if (typeof header !== 'object' || header === null || (header as { alg?: unknown }).alg !== 'RS256') {
    throw unauthorized(AuthCode.INVALID_TOKEN_FORMAT, 'Invalid token format: only RS256 tokens are accepted.');
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(token, key, { algorithms: ['RS256'] }));
  } catch (e) {
    if (e instanceof joseErrors.JOSEError && !(e instanceof joseErrors.JWSSignatureVerificationFailed)) {
      throw unauthorized(AuthCode.INVALID_TOKEN_FORMAT, 'Invalid token format.');
    }
    throw unauthorized(AuthCode.INVALID_SIGNATURE, 'Invalid signature.');
  }
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw unauthorized(AuthCode.INVALID_TOKEN_FORMAT, 'Invalid token format: the payload is not JSON.');
  }
  if (typeof claims !== 'object' || claims === null) throw unauthorized(AuthCode.INVALID_TOKEN_FORMAT, 'Invalid token format.');
  const { uri, nonce, iat, exp, sub, bodyHash } = claims;
  if (typeof uri !== 'string' || typeof nonce !== 'string' || nonce.length === 0 || nonce.length > 256
    || !Number.isSafeInteger(iat) || !Number.isSafeInteger(exp) || typeof sub !== 'string' || typeof bodyHash !== 'string') {
    throw unauthorized(AuthCode.INVALID_TOKEN_FORMAT, 'Invalid token format: uri, nonce, iat, exp, sub and bodyHash are required.');
  }
  if (sub !== apiKey) throw unauthorized(AuthCode.WRONG_USER, 'The token was made for another API key.');
  const now = req.nowMs / 1000;
  const iatS = iat as number;
  const expS = exp as number;
  if (iatS > now + limits.clockSkewSeconds) throw unauthorized(AuthCode.FUTURE_IAT, 'The token was issued in the future (check the clock).');
  if (expS <= now - limits.clockSkewSeconds) throw unauthorized(AuthCode.EXPIRED, 'The request has expired.');
  if (expS - iatS > limits.maxLifetimeSeconds || expS <= iatS) throw unauthorized(AuthCode.EXPIRED, `The token lifetime must be 1..${limits.maxLifetimeSeconds} seconds.`);
  // v5 signs unencoded path ids while sending them encoded; ts signs them encoded (reference §1).
  if (decoded(uri) !== decoded(req.target)) throw unauthorized(AuthCode.WRONG_URI, 'The URI in the token does not match the request.');
  const actual = createHash('sha256').update(req.rawBody).digest('hex');
  const ok = bodyHash === actual || (req.rawBody.length === 0 && (bodyHash === SHA256_EMPTY || bodyHash === SHA256_EMPTY_JSON_STRING));
  if (!ok) throw unauthorized(AuthCode.INVALID_SIGNATURE, 'The body hash in the token does not match the request body.');
  return { nonce, iat: iatS, exp: expS };
}
