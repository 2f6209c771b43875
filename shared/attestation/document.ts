// The attestation document payload and its syntactic rules, from the AWS Nitro Enclaves guide
// "Verifying the root of trust" § "Syntactical validation" and aws-nitro-enclaves-nsm-api
// `AttestationDoc`. Parsing checks shape only; trust comes from verify.ts.
import { CosignerError } from '../errors.js';
import { decodeCoseSign1, type CoseSign1 } from './cose.js';
import { decodeStrictCbor, type CborKey, type CborValue } from './strict-cbor.js';

export interface AttestationDocument {
  moduleId: string;
  digest: 'SHA384';
  /** Milliseconds since the Unix epoch (UTC), as the NSM stamps it. */
  timestamp: number;
  pcrs: Map<number, Uint8Array>;
  /** DER of the certificate that signed the document. */
  certificate: Uint8Array;
  /** DER certificates from the root (first) down to the leaf's issuer. */
  cabundle: Uint8Array[];
  publicKey: Uint8Array | null;
  userData: Uint8Array | null;
  nonce: Uint8Array | null;
  /** PCR0, PCR1 and PCR2 are all zero: the enclave runs in debug mode (console attached). */
  debug: boolean;
}

/**
 * Bounds. AWS: certificate and cabundle entries 1..1024 bytes, public_key 1..1024, user_data and
 * nonce 0..512. The real NSM accepts and signs 1024-byte user_data and nonce (the recorded
 * documents carry exactly that), so those two are accepted up to 1024 as well.
 */
export const MAX_CERT_BYTES = 1024;
export const MAX_PUBLIC_KEY_BYTES = 1024;
export const MAX_USER_DATA_BYTES = 1024;
export const MAX_NONCE_BYTES = 1024;
/** The NSM's response buffer is 0x3000 bytes; a document cannot be larger. */
export const MAX_DOCUMENT_BYTES = 0x3000;
/** AWS allows 32/48/64-byte PCRs for SHA256/384/512; the digest must be SHA384 here, so 48 only. */
export const PCR_LENGTHS: readonly number[] = [48];
export const MAX_PCRS = 32;

const FIELDS = ['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce'] as const;
const OPTIONAL_FIELDS = new Set<string>(['public_key', 'user_data', 'nonce']);

function invalid(reason: string): never {
  throw new CosignerError('ATTESTATION_INVALID', reason);
}

function byteField(name: string, v: CborValue | undefined, min: number, max: number): Uint8Array {
  if (!(v instanceof Uint8Array)) invalid(`document: ${name} must be a byte string`);
  if (v.length < min || v.length > max) invalid(`document: ${name} must be ${min}..${max} bytes, got ${v.length}`);
  return v;
}

function optionalByteField(name: string, v: CborValue | undefined, min: number, max: number): Uint8Array | null {
  return v === undefined || v === null ? null : byteField(name, v, min, max);
}

function parsePcrs(v: CborValue | undefined): Map<number, Uint8Array> {
  if (!(v instanceof Map)) invalid('document: pcrs must be a map');
  if (v.size < 1 || v.size > MAX_PCRS) invalid(`document: pcrs must hold 1..${MAX_PCRS} entries, got ${v.size}`);
  const out = new Map<number, Uint8Array>();
  for (const [k, value] of v) {
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k >= MAX_PCRS) invalid(`document: PCR index ${String(k)} is not an integer in 0..${MAX_PCRS - 1}`);
    if (!(value instanceof Uint8Array) || !PCR_LENGTHS.includes(value.length)) invalid(`document: PCR${k} must be 48 bytes (SHA384)`);
    out.set(k, value);
  }
  return out;
}

function isAllZero(b: Uint8Array | undefined): boolean {
  return b !== undefined && b.every((x) => x === 0);
}

/**
 * Debug mode: the Nitro hypervisor reports PCR0, PCR1 and PCR2 (and PCR8) as zeros when the
 * enclave runs with --debug-mode. PCR8 alone cannot decide (it is also zero for any unsigned
 * production image), so the three image PCRs being zero is what marks a debug document.
 */
export function isDebugPcrs(pcrs: Map<number, Uint8Array>): boolean {
  return isAllZero(pcrs.get(0)) && isAllZero(pcrs.get(1)) && isAllZero(pcrs.get(2));
}

/** Check the payload map against the syntactic rules and return the typed document. */
export function parseAttestationPayload(payload: Uint8Array): AttestationDocument {
  const m = decodeStrictCbor(payload);
  if (!(m instanceof Map)) invalid('document: payload must be a CBOR map');
  for (const k of m.keys()) {
    if (typeof k !== 'string' || !(FIELDS as readonly string[]).includes(k)) invalid(`document: unknown field ${JSON.stringify(String(k))}`);
  }
  for (const f of FIELDS) if (!OPTIONAL_FIELDS.has(f) && !m.has(f)) invalid(`document: missing field ${f}`);
  const get = (k: (typeof FIELDS)[number]): CborValue | undefined => m.get(k as CborKey);

  const moduleId = get('module_id');
  if (typeof moduleId !== 'string' || moduleId.length === 0) invalid('document: module_id must be non-empty text');
  if (get('digest') !== 'SHA384') invalid('document: digest must be "SHA384"');
  const timestamp = get('timestamp');
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp <= 0) invalid('document: timestamp must be a positive integer (ms)');
  const pcrs = parsePcrs(get('pcrs'));
  const certificate = byteField('certificate', get('certificate'), 1, MAX_CERT_BYTES);
  const bundle = get('cabundle');
  if (!Array.isArray(bundle) || bundle.length === 0) invalid('document: cabundle must be a non-empty array');
  const cabundle = bundle.map((c, i) => byteField(`cabundle[${i}]`, c, 1, MAX_CERT_BYTES));
  return {
    moduleId,
    digest: 'SHA384',
    timestamp,
    pcrs,
    certificate,
    cabundle,
    publicKey: optionalByteField('public_key', get('public_key'), 1, MAX_PUBLIC_KEY_BYTES),
    userData: optionalByteField('user_data', get('user_data'), 0, MAX_USER_DATA_BYTES),
    nonce: optionalByteField('nonce', get('nonce'), 0, MAX_NONCE_BYTES),
    debug: isDebugPcrs(pcrs),
  };
}

/** Decode the COSE envelope and the payload; nothing is verified. */
export function decodeAttestation(doc: Uint8Array): { cose: CoseSign1; document: AttestationDocument } {
  if (!(doc instanceof Uint8Array)) invalid('document: expected bytes');
  if (doc.length === 0 || doc.length > MAX_DOCUMENT_BYTES) invalid(`document: size ${doc.length} is outside 1..${MAX_DOCUMENT_BYTES} bytes`);
  const cose = decodeCoseSign1(doc);
  return { cose, document: parseAttestationPayload(cose.payload) };
}

/** Syntax only, for display: does NOT establish that the document is genuine. */
export function parseAttestationDocument(doc: Uint8Array): AttestationDocument {
  return decodeAttestation(doc).document;
}
