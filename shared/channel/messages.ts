// RPC envelopes carried in channel frames (one envelope per frame), and the message catalog type.
//
// Request   { id: uint 1..2^32-1, type: text, body: any }
// Response  { id, ok: true,  body: any }
//           { id, ok: false, error: { code: text, message: text } }
// Notice    { id: 0, ok: false, error: { code, message } }
//
// Envelopes are strict maps: a missing, extra or wrongly typed field is SCHEMA_VIOLATION. The
// body is checked afterwards against the catalog's schema for `type`. A notice (id 0, never a
// request id) is sent just before the receiver closes a connection whose stream it no longer
// trusts (framing broken, or a frame whose id could not be read), so the peer learns why.
import { CosignerError, type ErrorCode } from '../errors.js';
import { struct, text, uint, literal, type Schema, type Infer } from '../schema.js';

export const MAX_REQUEST_ID = 0xffff_ffff;
export const NOTICE_ID = 0;
const MAX_TYPE_CHARS = 128;
const MAX_ERROR_MESSAGE_CHARS = 1024;
/** Wire error codes look like ErrorCode members; unknown ones pass through as text. */
const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Any present value (the body is checked later against the catalog). Absent is still an error. */
function anyValue(): Schema<unknown> {
  return {
    kind: 'any',
    parse(v, path = '') {
      if (v === undefined) throw new CosignerError('SCHEMA_VIOLATION', `${path || 'value'}: missing value`, { path: path || 'value' });
      return v;
    },
  };
}

const requestId = uint({ max: MAX_REQUEST_ID });
const wireError = struct({
  code: text({ min: 1, max: 64, pattern: ERROR_CODE_PATTERN }),
  message: text({ max: MAX_ERROR_MESSAGE_CHARS }),
});

export const RequestEnvelope = struct({
  id: requestId,
  type: text({ min: 1, max: MAX_TYPE_CHARS }),
  body: anyValue(),
});
export const OkResponseEnvelope = struct({ id: requestId, ok: literal(true), body: anyValue() });
export const ErrorResponseEnvelope = struct({ id: requestId, ok: literal(false), error: wireError });

export type RequestEnvelope = Infer<typeof RequestEnvelope>;
export type OkResponseEnvelope = Infer<typeof OkResponseEnvelope>;
export type ErrorResponseEnvelope = Infer<typeof ErrorResponseEnvelope>;
export type ResponseEnvelope = OkResponseEnvelope | ErrorResponseEnvelope;

function isPlainMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * The envelope id, if the frame is a map with a valid `id` (0..2^32-1), whatever else is wrong
 * with it. Decides whether an error can be answered on the connection or must close it.
 */
export function envelopeId(value: unknown): number | undefined {
  if (!isPlainMap(value) || !Object.prototype.hasOwnProperty.call(value, 'id')) return undefined;
  const id = value.id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 && id <= MAX_REQUEST_ID ? id : undefined;
}

export function parseRequestEnvelope(value: unknown): RequestEnvelope {
  const env = RequestEnvelope.parse(value);
  if (env.id === NOTICE_ID) throw new CosignerError('SCHEMA_VIOLATION', 'id: request id 0 is reserved', { path: 'id' });
  return env;
}

export function parseResponseEnvelope(value: unknown): ResponseEnvelope {
  if (!isPlainMap(value)) return OkResponseEnvelope.parse(value); // throws "expected map"
  if (value.ok === true) return OkResponseEnvelope.parse(value);
  if (value.ok === false) return ErrorResponseEnvelope.parse(value);
  throw new CosignerError('SCHEMA_VIOLATION', 'ok: expected true or false', { path: 'ok' });
}

export function errorEnvelope(id: number, code: ErrorCode, message: string): ErrorResponseEnvelope {
  return { id, ok: false, error: { code, message: message.slice(0, MAX_ERROR_MESSAGE_CHARS) } };
}

/** The error a caller sees for a peer's error response (the code is the peer's, checked for shape only). */
export function remoteError(env: ErrorResponseEnvelope): CosignerError {
  return new CosignerError(env.error.code as ErrorCode, env.error.message, { remote: true });
}

/** One message type: the schema of its request body and of its response body. */
export interface MessageSpec<Req = unknown, Res = unknown> {
  readonly request: Schema<Req>;
  readonly response: Schema<Res>;
}

/**
 * Message type → request/response schemas, defined by the application, e.g.
 *   const catalog = { ping: { request: struct({}), response: struct({ t: uint() }) } } satisfies MessageCatalog;
 * RpcServer/RpcClient take it as a generic parameter so call('ping', {}) is fully typed.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MessageCatalog = { readonly [type: string]: MessageSpec<any, any> };
export type MessageType<C extends MessageCatalog> = keyof C & string;
export type RequestOf<C extends MessageCatalog, K extends MessageType<C>> = Infer<C[K]['request']>;
export type ResponseOf<C extends MessageCatalog, K extends MessageType<C>> = Infer<C[K]['response']>;

/** The catalog entry for a type received from the wire; own properties only (no 'toString' or '__proto__'). */
export function lookupMessage<C extends MessageCatalog>(catalog: C, type: string): MessageSpec | undefined {
  return Object.prototype.hasOwnProperty.call(catalog, type) ? catalog[type] : undefined;
}
