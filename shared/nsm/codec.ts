// The Nitro Secure Module wire format (aws-nitro-enclaves-nsm-api `src/api/mod.rs`): requests and
// responses are serde externally-tagged enums in CBOR. A variant without fields is a bare text
// string ("GetRandom"); a variant with fields is a one-entry map {name: {fields}}; absent optional
// fields are CBOR null; byte fields are CBOR byte strings (serde_bytes). Field order follows the
// Rust declarations, which is what serde emits and what the real device expects.
import { decodeCbor, encodeCbor } from '../cbor.js';
import { CosignerError } from '../errors.js';
import { array, bool, bytes, nullable, optional, parse, struct, text, uint, type Schema } from '../schema.js';

export const NSM_REQUEST_MAX_BYTES = 0x1000;
export const NSM_RESPONSE_MAX_BYTES = 0x3000;
/** Largest user_data / nonce / public_key the NSM accepts in an Attestation request. */
export const NSM_ATTESTATION_FIELD_MAX_BYTES = 1024;

export const NSM_ERROR_NAMES = [
  'Success',
  'InvalidArgument',
  'InvalidIndex',
  'InvalidResponse',
  'ReadOnlyIndex',
  'InvalidOperation',
  'BufferTooSmall',
  'InputTooLarge',
  'InternalError',
] as const;
export type NsmErrorName = (typeof NSM_ERROR_NAMES)[number];
export type NsmDigest = 'SHA256' | 'SHA384' | 'SHA512';

export type NsmRequest =
  | { kind: 'DescribeNSM' }
  | { kind: 'GetRandom' }
  | { kind: 'DescribePCR'; index: number }
  | { kind: 'ExtendPCR'; index: number; data: Uint8Array }
  | { kind: 'LockPCR'; index: number }
  | { kind: 'LockPCRs'; range: number }
  | { kind: 'Attestation'; userData: Uint8Array | null; nonce: Uint8Array | null; publicKey: Uint8Array | null };

export type NsmResponse =
  | {
      kind: 'DescribeNSM';
      versionMajor: number;
      versionMinor: number;
      versionPatch: number;
      moduleId: string;
      maxPcrs: number;
      lockedPcrs: number[];
      digest: NsmDigest;
    }
  | { kind: 'DescribePCR'; lock: boolean; data: Uint8Array }
  | { kind: 'ExtendPCR'; data: Uint8Array }
  | { kind: 'LockPCR' }
  | { kind: 'LockPCRs' }
  | { kind: 'Attestation'; document: Uint8Array }
  | { kind: 'GetRandom'; random: Uint8Array }
  | { kind: 'Error'; error: NsmErrorName };

/** The error every NSM failure becomes: code NSM_ERROR, message = the NSM error name. */
export function nsmError(name: NsmErrorName | string, details?: Record<string, string | number | boolean>): CosignerError {
  return new CosignerError('NSM_ERROR', name, { nsmError: name, ...details });
}

// ---- requests ----

export function encodeNsmRequest(req: NsmRequest): Uint8Array {
  let value: unknown;
  switch (req.kind) {
    case 'DescribeNSM':
    case 'GetRandom':
      value = req.kind;
      break;
    case 'DescribePCR':
    case 'LockPCR':
      value = { [req.kind]: { index: req.index } };
      break;
    case 'ExtendPCR':
      value = { ExtendPCR: { index: req.index, data: req.data } };
      break;
    case 'LockPCRs':
      value = { LockPCRs: { range: req.range } };
      break;
    case 'Attestation':
      value = { Attestation: { user_data: req.userData, nonce: req.nonce, public_key: req.publicKey } };
      break;
  }
  const out = encodeCbor(value);
  if (out.length > NSM_REQUEST_MAX_BYTES) throw nsmError('InputTooLarge', { bytes: out.length });
  return out;
}

const u16 = uint({ max: 0xffff });
const REQUEST_FIELDS = {
  DescribePCR: struct({ index: u16 }),
  ExtendPCR: struct({ index: u16, data: bytes() }),
  LockPCR: struct({ index: u16 }),
  LockPCRs: struct({ range: u16 }),
  // serde reads a missing Option field as None, so absent and null are both accepted.
  Attestation: struct({ user_data: optional(nullable(bytes())), nonce: optional(nullable(bytes())), public_key: optional(nullable(bytes())) }),
};

/** Split an externally-tagged enum value into its variant name and fields (undefined for unit variants). */
function untag(value: unknown): { name: string; fields: unknown } {
  if (typeof value === 'string') return { name: value, fields: undefined };
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    const keys = Object.keys(value);
    if (keys.length === 1) return { name: keys[0]!, fields: (value as Record<string, unknown>)[keys[0]!] };
  }
  throw new CosignerError('SCHEMA_VIOLATION', 'expected a variant name or a one-entry map');
}

function fieldsOf<T>(schema: Schema<T>, fields: unknown, name: string): T {
  return parse(schema, fields, name);
}

/** The device side: decode a request; anything malformed is NSM_ERROR InvalidArgument. */
export function decodeNsmRequest(raw: Uint8Array): NsmRequest {
  if (raw.length > NSM_REQUEST_MAX_BYTES) throw nsmError('InputTooLarge', { bytes: raw.length });
  try {
    const { name, fields } = untag(decodeCbor(raw));
    switch (name) {
      case 'DescribeNSM':
      case 'GetRandom':
        if (fields !== undefined) break;
        return { kind: name };
      case 'DescribePCR':
      case 'LockPCR':
        return { kind: name, index: fieldsOf(REQUEST_FIELDS[name], fields, name).index };
      case 'ExtendPCR': {
        const f = fieldsOf(REQUEST_FIELDS.ExtendPCR, fields, name);
        return { kind: 'ExtendPCR', index: f.index, data: f.data };
      }
      case 'LockPCRs':
        return { kind: 'LockPCRs', range: fieldsOf(REQUEST_FIELDS.LockPCRs, fields, name).range };
      case 'Attestation': {
        const f = fieldsOf(REQUEST_FIELDS.Attestation, fields, name);
        return { kind: 'Attestation', userData: f.user_data ?? null, nonce: f.nonce ?? null, publicKey: f.public_key ?? null };
      }
    }
  } catch (e) {
    if (e instanceof CosignerError && e.code === 'NSM_ERROR') throw e;
  }
  throw nsmError('InvalidArgument');
}

// ---- responses ----

export function encodeNsmResponse(resp: NsmResponse): Uint8Array {
  let value: unknown;
  switch (resp.kind) {
    case 'DescribeNSM':
      value = {
        DescribeNSM: {
          version_major: resp.versionMajor,
          version_minor: resp.versionMinor,
          version_patch: resp.versionPatch,
          module_id: resp.moduleId,
          max_pcrs: resp.maxPcrs,
          locked_pcrs: [...resp.lockedPcrs].sort((a, b) => a - b),
          digest: resp.digest,
        },
      };
      break;
    case 'DescribePCR':
      value = { DescribePCR: { lock: resp.lock, data: resp.data } };
      break;
    case 'ExtendPCR':
      value = { ExtendPCR: { data: resp.data } };
      break;
    case 'LockPCR':
    case 'LockPCRs':
      value = resp.kind;
      break;
    case 'Attestation':
      value = { Attestation: { document: resp.document } };
      break;
    case 'GetRandom':
      value = { GetRandom: { random: resp.random } };
      break;
    case 'Error':
      value = { Error: resp.error };
      break;
  }
  const out = encodeCbor(value);
  if (out.length > NSM_RESPONSE_MAX_BYTES) throw nsmError('BufferTooSmall', { bytes: out.length });
  return out;
}

const RESPONSE_FIELDS = {
  DescribeNSM: struct({
    version_major: u16,
    version_minor: u16,
    version_patch: u16,
    module_id: text(),
    max_pcrs: u16,
    locked_pcrs: array(u16, { max: 0xffff }),
    digest: text({ oneOf: ['SHA256', 'SHA384', 'SHA512'] }),
  }),
  DescribePCR: struct({ lock: bool(), data: bytes() }),
  ExtendPCR: struct({ data: bytes() }),
  Attestation: struct({ document: bytes({ min: 1 }) }),
  GetRandom: struct({ random: bytes() }),
  Error: text({ oneOf: NSM_ERROR_NAMES }),
};

function decodeResponseValue(value: unknown): NsmResponse {
  const { name, fields } = untag(value);
  switch (name) {
    case 'LockPCR':
    case 'LockPCRs':
      if (fields === undefined) return { kind: name };
      break;
    case 'DescribeNSM': {
      const f = fieldsOf(RESPONSE_FIELDS.DescribeNSM, fields, name);
      // locked_pcrs is a BTreeSet<u16> in the nsm-api: serde writes it sorted, without repeats.
      // A list with repeats or out of order is not something the device sends.
      if (f.locked_pcrs.some((p, i) => i > 0 && p <= f.locked_pcrs[i - 1]!)) {
        throw new CosignerError('SCHEMA_VIOLATION', 'DescribeNSM.locked_pcrs: not a set in increasing order', { path: 'DescribeNSM.locked_pcrs' });
      }
      return {
        kind: 'DescribeNSM',
        versionMajor: f.version_major,
        versionMinor: f.version_minor,
        versionPatch: f.version_patch,
        moduleId: f.module_id,
        maxPcrs: f.max_pcrs,
        lockedPcrs: f.locked_pcrs,
        digest: f.digest as NsmDigest,
      };
    }
    case 'DescribePCR': {
      const f = fieldsOf(RESPONSE_FIELDS.DescribePCR, fields, name);
      return { kind: 'DescribePCR', lock: f.lock, data: f.data };
    }
    case 'ExtendPCR':
      return { kind: 'ExtendPCR', data: fieldsOf(RESPONSE_FIELDS.ExtendPCR, fields, name).data };
    case 'Attestation':
      return { kind: 'Attestation', document: fieldsOf(RESPONSE_FIELDS.Attestation, fields, name).document };
    case 'GetRandom':
      return { kind: 'GetRandom', random: fieldsOf(RESPONSE_FIELDS.GetRandom, fields, name).random };
    case 'Error':
      return { kind: 'Error', error: fieldsOf(RESPONSE_FIELDS.Error, fields, name) as NsmErrorName };
  }
  throw new CosignerError('SCHEMA_VIOLATION', `unknown response variant ${JSON.stringify(name.slice(0, 64))}`);
}

/** The client side: decode a response; anything malformed is NSM_ERROR InvalidResponse. */
export function decodeNsmResponse(raw: Uint8Array): NsmResponse {
  if (raw.length === 0 || raw.length > NSM_RESPONSE_MAX_BYTES) throw nsmError('InvalidResponse', { bytes: raw.length });
  try {
    return decodeResponseValue(decodeCbor(raw));
  } catch {
    throw nsmError('InvalidResponse');
  }
}

/** Narrow a response to the kind a request expects; an Error response becomes NSM_ERROR <name>. */
export function expectNsmResponse<K extends Exclude<NsmResponse['kind'], 'Error'>>(resp: NsmResponse, kind: K): Extract<NsmResponse, { kind: K }> {
  if (resp.kind === 'Error') throw nsmError(resp.error);
  if (resp.kind !== kind) throw nsmError('InvalidResponse', { expected: kind, got: resp.kind });
  return resp as Extract<NsmResponse, { kind: K }>;
}
