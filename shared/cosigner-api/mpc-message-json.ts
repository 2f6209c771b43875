// SignedMpcMessage as JSON for the co-signer API's MPC relay: session id as hex, payload and
// signature as base64; everything else as is. Parsing is strict (shared/schema.ts): the result is
// exactly what openMpcMessage will check, with the same bounds.
import { fromHex, toHex } from '../bytes.js';
import { CosignerError } from '../errors.js';
import * as s from '../schema.js';
import { MAX_PAYLOAD_BYTES, SignedMpcMessageSchema, type SignedMpcMessage } from '../mpc/authenticated-message.js';

export interface SignedMpcMessageJson {
  protocol: string;
  sessionId: string;
  from: number;
  to: number;
  round: number;
  payload: string;
  signature: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const JsonSchema = s.struct({
  protocol: s.text({ max: 64 }),
  sessionId: s.text({ pattern: /^[0-9a-f]{64}$/ }),
  from: s.uint({ max: 255 }),
  to: s.uint({ max: 255 }),
  round: s.uint({ max: 64 }),
  payload: s.text({ max: Math.ceil(MAX_PAYLOAD_BYTES / 3) * 4, pattern: BASE64 }),
  signature: s.text({ max: 128, pattern: BASE64 }),
});

export function mpcMessageToJson(m: SignedMpcMessage): SignedMpcMessageJson {
  return {
    protocol: m.protocol, sessionId: toHex(m.sessionId), from: m.from, to: m.to, round: m.round,
    payload: Buffer.from(m.payload).toString('base64'), signature: Buffer.from(m.signature).toString('base64'),
  };
}

/** Throws SCHEMA_VIOLATION naming the field. */
export function mpcMessageFromJson(v: unknown, path = 'message'): SignedMpcMessage {
  const j = s.parse(JsonSchema, v, path);
  const b64 = (t: string, field: string) => {
    const b = Buffer.from(t, 'base64');
    if (b.toString('base64') !== t) throw new CosignerError('SCHEMA_VIOLATION', `${path}.${field}: not canonical base64`);
    return new Uint8Array(b);
  };
  return s.parse(SignedMpcMessageSchema, {
    protocol: j.protocol, sessionId: fromHex(j.sessionId), from: j.from, to: j.to, round: j.round,
    payload: b64(j.payload, 'payload'), signature: b64(j.signature, 'signature'),
  }, path);
}
