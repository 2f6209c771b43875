// A change of an API user's callback handler (`cosigner callback-update`), signed by that API
// user's own key: the RSA key it authenticates to the REST API with, whose public key the enclave
// sealed from the coordinator-signed pairing record (pairing-record.ts). A compact JWS, RS256,
// header typ CALLBACK_UPDATE_TYPE, so no REST request token can pass for one (their payloads have
// no `type` and fail the closed schema) nor one for a request token (no uri, nonce or bodyHash).
//
// `sequence` is the pairing's callback version after the change: the enclave takes only its
// current version + 1, so an older signed change (which a hostile parent may have kept) can never
// be replayed to put an old handler key back.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
import { CosignerError } from '../errors.js';
import * as s from '../schema.js';

export const CALLBACK_UPDATE_TYPE = 'nitro-cosigner.callback-update.v1';
/** A signed change is a few kilobytes; anything much larger is not one. */
export const CALLBACK_UPDATE_MAX_CHARS = 16 * 1024;

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export const CallbackUpdateClaimsSchema = s.struct({
  type: s.literal(CALLBACK_UPDATE_TYPE),
  cosignerId: s.text({ pattern: ID }),
  workspaceId: s.text({ pattern: ID }),
  userId: s.text({ pattern: ID }),
  /** The pairing's callback version once this change is made (the current one + 1). */
  sequence: s.uint({ max: 1_000_000 }),
  callback: s.struct({
    url: s.text({ min: 8, max: 2048 }),
    /** DER SPKI of the handler's RSA (≥ 2048) public key, base64. */
    publicKey: s.text({ min: 100, max: 1600, pattern: BASE64 }),
    allowPlainHttp: s.bool(),
  }),
  /** When the API user signed it (ms since the epoch); for the record, not checked against a clock. */
  issuedAt: s.uint(),
});
export type CallbackUpdateClaims = s.Infer<typeof CallbackUpdateClaimsSchema>;

export type CallbackUpdateInvalidReason = 'malformed' | 'algorithm' | 'signature' | 'claims' | 'pairing' | 'sequence' | 'callback';

export function callbackUpdateInvalid(reason: CallbackUpdateInvalidReason, message: string): CosignerError {
  return new CosignerError('CALLBACK_UPDATE_INVALID', message, { reason });
}

/** The request an API user signs (what `--print-request` shows), checked against the schema. */
export function callbackUpdateClaims(c: Omit<CallbackUpdateClaims, 'type'>): CallbackUpdateClaims {
  return s.parse(CallbackUpdateClaimsSchema, { type: CALLBACK_UPDATE_TYPE, ...c });
}

/** Signed with the API user's RSA private key (PEM or KeyObject). */
export async function signCallbackUpdate(claims: CallbackUpdateClaims, userPrivateKey: KeyObject): Promise<string> {
  const c = s.parse(CallbackUpdateClaimsSchema, claims);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(c)))
    .setProtectedHeader({ alg: 'RS256', typ: CALLBACK_UPDATE_TYPE })
    .sign(userPrivateKey);
}

/**
 * The claims of a signed change (untrusted text) that verifies under the API user's key (DER
 * SPKI); CALLBACK_UPDATE_INVALID with details.reason otherwise. Whether the claims fit the
 * pairing is the caller's check.
 */
export async function openCallbackUpdate(jws: string, userPublicKeySpki: Uint8Array): Promise<CallbackUpdateClaims> {
  const text = jws.trim();
  if (text.length > CALLBACK_UPDATE_MAX_CHARS || !COMPACT_JWS.test(text)) throw callbackUpdateInvalid('malformed', 'the callback change is not a compact JWS');
  let header;
  try {
    header = decodeProtectedHeader(text);
  } catch {
    throw callbackUpdateInvalid('malformed', 'the callback change has no readable JWS header');
  }
  // Checked before any key is used: only RS256, only this type (jose checks alg again below).
  if (header.alg !== 'RS256') throw callbackUpdateInvalid('algorithm', 'the callback change must be signed with RS256');
  if (header.typ !== CALLBACK_UPDATE_TYPE) throw callbackUpdateInvalid('malformed', `the callback change's JWS typ must be ${CALLBACK_UPDATE_TYPE}`);
  if (header.crit !== undefined || header.b64 !== undefined) throw callbackUpdateInvalid('malformed', 'the callback change may not carry crit or b64 header parameters');
  const key = createPublicKey({ key: Buffer.from(userPublicKeySpki), format: 'der', type: 'spki' });
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(text, key, { algorithms: ['RS256'] }));
  } catch {
    throw callbackUpdateInvalid('signature', 'the callback change is not signed by this API user\'s key');
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw callbackUpdateInvalid('claims', 'the callback change\'s payload is not JSON');
  }
  try {
    return s.parse(CallbackUpdateClaimsSchema, value, 'callbackUpdate');
  } catch (e) {
    throw callbackUpdateInvalid('claims', `the callback change's claims are malformed: ${(e as Error).message}`);
  }
}
