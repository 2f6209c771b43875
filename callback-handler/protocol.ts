// The wire contract between a co-signer and its callback handler, written from the protocol alone
// (Fireblocks co-signer compatible): requests and answers are compact JWTs, RS256 only, each side
// signing with its own RSA-2048 key and verifying the other's against one configured public key.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { compactVerify, importPKCS8, importSPKI, SignJWT, jwtVerify, errors } from 'jose';

export const TX_SIGN_PATH = '/v2/tx_sign_request';
export const CONFIG_CHANGE_PATH = '/v2/config_change_sign_request';

export type Action = 'APPROVE' | 'REJECT' | 'RETRY' | 'IGNORE';
export const ACTIONS: readonly Action[] = ['APPROVE', 'REJECT', 'RETRY', 'IGNORE'];

/** Claims of a transaction signing/approval request. Only requestId is required by the protocol;
 *  everything else is optional here and each rule decides what a missing field means to it. */
export interface TxSignRequest {
  requestId: string;
  txId?: string;
  operation?: string;
  sourceType?: string;
  sourceId?: string;
  destType?: string;
  destId?: string;
  destAddress?: string;
  asset?: string;
  amountStr?: string;
  destinations?: Array<Record<string, unknown>>;
  rawTx?: Array<{ payload?: string; [k: string]: unknown }>;
  signerId?: string;
  note?: string;
  [k: string]: unknown;
}

export interface ConfigChangeRequest {
  requestId: string;
  type?: string;
  extraInfo?: unknown;
  [k: string]: unknown;
}

export interface CallbackAnswer {
  action: Action;
  requestId: string;
  rejectionReason?: string;
}

/** Why a request was refused before any rule ran: `unauthenticated` → 401, `malformed` → 400. */
export class RequestError extends Error {
  constructor(
    readonly kind: 'unauthenticated' | 'malformed',
    message: string,
  ) {
    super(message);
  }
}

// A key of the wrong type or size is a configuration mistake; say so at start, not per request.
function assertRsa2048(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`${what} is not an RSA key (${key.asymmetricKeyType})`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) throw new Error(`${what} is RSA-${bits}; RSA-2048 or larger is required`);
}

export type VerifyKey = Awaited<ReturnType<typeof importSPKI>>;
export type SignKey = Awaited<ReturnType<typeof importPKCS8>>;

/** The co-signer's public key, from the PEM its operator printed (`print-public-key`). */
export async function loadCosignerPublicKey(pem: string): Promise<VerifyKey> {
  const key = createPublicKey(pem);
  assertRsa2048(key, 'co-signer public key');
  return importSPKI(key.export({ type: 'spki', format: 'pem' }).toString(), 'RS256');
}

/** The handler's own private key; the co-signer holds its public half. */
export async function loadHandlerPrivateKey(pem: string): Promise<SignKey> {
  const key = createPrivateKey(pem);
  assertRsa2048(key, 'handler private key');
  return importPKCS8(key.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256');
}

// A compact JWS is three base64url parts; anything else is not worth handing to a verifier.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Verifies a request body (a compact JWT) and returns its claims. RS256 under the configured key
 *  only: `alg: none`, HS256 (including "HMAC keyed with the public key") and any other algorithm or
 *  key are refused. `exp`/`nbf` are honoured when present but not required: the co-signer need not
 *  send them. */
async function verifyRequestJwt(body: string, cosignerKey: VerifyKey): Promise<Record<string, unknown>> {
  const token = body.trim();
  if (!COMPACT_JWS.test(token)) throw new RequestError('unauthenticated', 'body is not a compact signed JWT');
  try {
    const { payload } = await jwtVerify(token, cosignerKey, { algorithms: ['RS256'], clockTolerance: 30 });
    return payload as Record<string, unknown>;
  } catch (e) {
    // jose's codes name the failure (ERR_JWS_SIGNATURE_VERIFICATION_FAILED, ERR_JOSE_ALG_NOT_ALLOWED,
    // ERR_JWT_EXPIRED, ...) without echoing the token, so they are safe to log.
    const code = e instanceof errors.JOSEError ? e.code : 'ERR_INVALID';
    throw new RequestError('unauthenticated', `JWT refused: ${code}`);
  }
}

function requireRequestId(claims: Record<string, unknown>): string {
  const id = claims.requestId;
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
    throw new RequestError('malformed', 'requestId missing or not a string of 1..256 characters');
  }
  return id;
}

export async function verifyTxSignRequest(body: string, cosignerKey: VerifyKey): Promise<TxSignRequest> {
  const claims = await verifyRequestJwt(body, cosignerKey);
  requireRequestId(claims);
  return claims as TxSignRequest;
}

export async function verifyConfigChangeRequest(body: string, cosignerKey: VerifyKey): Promise<ConfigChangeRequest> {
  const claims = await verifyRequestJwt(body, cosignerKey);
  requireRequestId(claims);
  return claims as ConfigChangeRequest;
}

/** The answer: a compact JWT, RS256, claims exactly {action, requestId, rejectionReason?}. No
 *  iat/exp: the protocol does not ask for them, and requestId already binds the answer to its
 *  request. */
export async function signAnswer(answer: CallbackAnswer, handlerKey: SignKey): Promise<string> {
  if (!ACTIONS.includes(answer.action)) throw new Error(`not an action: ${String(answer.action)}`);
  const claims: Record<string, string> = { action: answer.action, requestId: answer.requestId };
  if (answer.rejectionReason !== undefined) claims.rejectionReason = answer.rejectionReason;
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(handlerKey);
}

/** What a co-signer does with an answer; here for tests and for anyone writing the other side. */
export async function verifyAnswer(token: string, handlerPublicKey: VerifyKey): Promise<CallbackAnswer> {
  const { payload } = await compactVerify(token, handlerPublicKey, { algorithms: ['RS256'] });
  const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  if (typeof claims.requestId !== 'string' || !ACTIONS.includes(claims.action as Action)) {
    throw new Error('answer lacks requestId or a known action');
  }
  return claims as unknown as CallbackAnswer;
}
