// Verifying the callback handler's answer (DESIGN.md "Callback handler"; "The trust boundary is
// the design": the enclave verifies the response JWT with the callback public key it holds, and
// `requestId` ties it to the request). The bytes come through the untrusted parent, so every
// failure is a typed CALLBACK_RESPONSE_INVALID with details.reason, never an untyped throw.
//
// Body: handlers in the wild answer with the bare compact JWT (text/plain, or text/html from
// Express's res.send) or with a JSON string holding it (application/json). The Content-Type is
// therefore not trusted to say which: the body is sniffed (a leading `"` means a JSON string),
// whitespace around either is trimmed. Only RS256 under the configured key is accepted (jose's
// compactVerify with algorithms ['RS256']: `none`, HS256 and the rest are refused before any
// key is used). iat is ignored as Fireblocks' co-signer ignores it; exp and nbf, when present,
// are enforced against the injected clock with no tolerance.
import type { KeyObject } from 'node:crypto';
import { sign as rsaSign } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { CosignerError } from '../errors.js';
import { CALLBACK_ACTIONS, type CallbackAction, type CallbackResponseClaims } from './claims.js';

/** The most the enclave will look at; the parent's HTTP client caps at the same size. */
export const CALLBACK_RESPONSE_MAX_BYTES = 1024 * 1024;

export type ResponseInvalidReason =
  | 'too-large' | 'malformed' | 'algorithm' | 'signature' | 'expired' | 'not-yet-valid' | 'claims' | 'request-id' | 'action';

export interface VerifyResponseOptions {
  /** The handler's RSA public key, as configured for this API user. */
  publicKey: KeyObject;
  /** The requestId of the request this answers. */
  expectedRequestId: string;
  /** IGNORE is a valid answer only where the caller says so (approvals, not signing). */
  allowIgnore: boolean;
  /** Clock for exp/nbf, ms since the epoch. */
  nowMs?: number;
}

function invalid(reason: ResponseInvalidReason, message: string, cause?: unknown): CosignerError {
  return new CosignerError('CALLBACK_RESPONSE_INVALID', message, { reason }, cause === undefined ? undefined : { cause });
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The compact JWT inside a response body: raw, or a JSON string holding one; trimmed. */
export function extractResponseToken(body: Uint8Array | string): string {
  let text: string;
  if (typeof body === 'string') text = body;
  else {
    if (body.length > CALLBACK_RESPONSE_MAX_BYTES) throw invalid('too-large', `the callback response is over ${CALLBACK_RESPONSE_MAX_BYTES} bytes`);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw invalid('malformed', 'the callback response is not UTF-8 text');
    }
  }
  if (text.length > CALLBACK_RESPONSE_MAX_BYTES) throw invalid('too-large', `the callback response is over ${CALLBACK_RESPONSE_MAX_BYTES} bytes`);
  let token = text.trim();
  if (token.startsWith('"')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(token);
    } catch {
      throw invalid('malformed', 'the callback response starts as a JSON string but is not valid JSON');
    }
    if (typeof parsed !== 'string') throw invalid('malformed', 'the callback response JSON is not a string');
    token = parsed.trim();
  }
  if (token.length === 0) throw invalid('malformed', 'the callback response is empty');
  if (!COMPACT_JWS.test(token)) throw invalid('malformed', 'the callback response is not a compact JWT');
  return token;
}

/** Verifies a response body for one request; returns its claims or throws CALLBACK_RESPONSE_INVALID. */
export async function verifyResponseJwt(body: Uint8Array | string, opts: VerifyResponseOptions): Promise<CallbackResponseClaims> {
  const token = extractResponseToken(body);
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch (e) {
    throw invalid('malformed', 'the callback response JWT header is not valid', e);
  }
  if (alg !== 'RS256') throw invalid('algorithm', `the callback response JWT uses alg ${JSON.stringify(String(alg)).slice(0, 40)}; only RS256 is accepted`);

  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(token, opts.publicKey, { algorithms: ['RS256'] }));
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw invalid('signature', 'the callback response JWT is not signed by the configured callback key', e);
    if (code === 'ERR_JOSE_ALG_NOT_ALLOWED') throw invalid('algorithm', 'the callback response JWT algorithm is not allowed', e);
    if (code === 'ERR_JWS_INVALID' || code === 'ERR_JOSE_NOT_SUPPORTED') throw invalid('malformed', 'the callback response JWT is not valid', e);
    // A key jose refuses (wrong type, too short) is a configuration problem, but for this request
    // it means the same: no valid answer.
    throw invalid('signature', 'the callback response JWT could not be verified', e);
  }

  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw invalid('malformed', 'the callback response JWT payload is not JSON');
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw invalid('malformed', 'the callback response JWT payload is not a JSON object');
  const c = claims as Record<string, unknown>;

  const nowSeconds = (opts.nowMs ?? Date.now()) / 1000;
  if (c.exp !== undefined) {
    if (typeof c.exp !== 'number' || !Number.isFinite(c.exp)) throw invalid('claims', 'the callback response exp is not a number');
    if (nowSeconds >= c.exp) throw invalid('expired', 'the callback response JWT has expired');
  }
  if (c.nbf !== undefined) {
    if (typeof c.nbf !== 'number' || !Number.isFinite(c.nbf)) throw invalid('claims', 'the callback response nbf is not a number');
    if (nowSeconds < c.nbf) throw invalid('not-yet-valid', 'the callback response JWT is not valid yet');
  }
  if (typeof c.requestId !== 'string') throw invalid('claims', 'the callback response has no requestId');
  if (c.requestId !== opts.expectedRequestId) throw invalid('request-id', 'the callback response answers a different requestId');
  if (typeof c.action !== 'string' || !(CALLBACK_ACTIONS as readonly string[]).includes(c.action)) {
    throw invalid('action', 'the callback response action is not APPROVE, REJECT, RETRY or IGNORE');
  }
  const action = c.action as CallbackAction;
  if (action === 'IGNORE' && !opts.allowIgnore) throw invalid('action', 'IGNORE is not a valid answer to this request');
  if (c.rejectionReason !== undefined && c.rejectionReason !== null && typeof c.rejectionReason !== 'string') {
    throw invalid('claims', 'the callback response rejectionReason is not a string');
  }
  const out: CallbackResponseClaims = { action, requestId: c.requestId };
  if (typeof c.rejectionReason === 'string') out.rejectionReason = c.rejectionReason;
  return out;
}

export interface SignResponseOptions {
  /** Adds `iat` (seconds); many JWT libraries do, and the co-signer ignores it. */
  issuedAtSeconds?: number;
  /** Adds `exp` (seconds). */
  expiresAtSeconds?: number;
}

/** The handler's side: a compact RS256 JWT of the response claims (reference handler, tests). */
export function signResponseJwt(claims: CallbackResponseClaims, privateKey: KeyObject, opts: SignResponseOptions = {}): string {
  const body: Record<string, unknown> = { ...claims };
  if (opts.issuedAtSeconds !== undefined) body.iat = opts.issuedAtSeconds;
  if (opts.expiresAtSeconds !== undefined) body.exp = opts.expiresAtSeconds;
  const input = `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`;
  return `${input}.${rsaSign('sha256', Buffer.from(input, 'ascii'), privateKey).toString('base64url')}`;
}
