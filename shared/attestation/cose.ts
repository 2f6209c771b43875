// COSE_Sign1 with ES384, as the Nitro Secure Module emits it (RFC 9052 §4.2, §4.4; RFC 9053 §2.1).
//   COSE_Sign1 = [protected: bstr .cbor header_map, unprotected: header_map, payload: bstr, signature: bstr]
// optionally wrapped in tag 18. The signature is ECDSA P-384/SHA-384 over the Sig_structure
//   ["Signature1", body_protected, external_aad = h'', payload]
// encoded as raw r‖s (96 bytes, RFC 9053 §2.1), not DER.
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { encodeCbor } from '../cbor.js';
import { concatBytes } from '../bytes.js';
import { CosignerError } from '../errors.js';
import { CborTag, decodeStrictCbor, type CborKey, type CborValue } from './strict-cbor.js';

/** RFC 9052 §9.1 / RFC 9053 §2.1: tag 18 = COSE_Sign1, header label 1 = alg, ES384 = -35. */
export const COSE_SIGN1_TAG = 18;
const HEADER_ALG = 1;
const HEADER_CRIT = 2;
export const ALG_ES384 = -35;
/** The protected header exactly as the NSM writes it: {1: -35}. */
export const ES384_PROTECTED_HEADER = new Uint8Array([0xa1, 0x01, 0x38, 0x22]);
export const ES384_SIGNATURE_BYTES = 96;

export interface CoseSign1 {
  /** The protected header as the exact signed bytes. */
  protectedBytes: Uint8Array;
  protectedHeader: Map<CborKey, CborValue>;
  unprotectedHeader: Map<CborKey, CborValue>;
  payload: Uint8Array;
  signature: Uint8Array;
  tagged: boolean;
}

function invalid(reason: string): never {
  throw new CosignerError('ATTESTATION_INVALID', reason);
}

/** Split a COSE_Sign1 (tagged or untagged) into its parts; checks shape only, not the signature. */
export function decodeCoseSign1(bytes: Uint8Array): CoseSign1 {
  let top = decodeStrictCbor(bytes);
  let tagged = false;
  if (top instanceof CborTag) {
    if (top.tag !== COSE_SIGN1_TAG) invalid(`COSE: unexpected tag ${top.tag} (expected 18, COSE_Sign1)`);
    top = top.value;
    tagged = true;
  }
  if (!Array.isArray(top) || top.length !== 4) invalid('COSE: expected a COSE_Sign1 array of 4 items');
  const [prot, unprot, payload, signature] = top;
  if (!(prot instanceof Uint8Array)) invalid('COSE: protected header must be a byte string');
  if (!(unprot instanceof Map)) invalid('COSE: unprotected header must be a map');
  if (!(payload instanceof Uint8Array)) invalid('COSE: payload must be an attached byte string');
  if (!(signature instanceof Uint8Array)) invalid('COSE: signature must be a byte string');
  // RFC 9052 §3: a zero-length protected header stands for the empty map.
  const protectedHeader = prot.length === 0 ? new Map<CborKey, CborValue>() : decodeStrictCbor(prot);
  if (!(protectedHeader instanceof Map)) invalid('COSE: protected header must encode a map');
  return { protectedBytes: prot, protectedHeader, unprotectedHeader: unprot, payload, signature, tagged };
}

/** RFC 9052 §4.4: the bytes ES384 signs for a COSE_Sign1 with no external AAD. */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeCbor(['Signature1', protectedBytes, new Uint8Array(0), payload]);
}

/**
 * Require alg = ES384 in the protected header (RFC 9052 §3.1: alg must be protected), no alg in the
 * unprotected header, and no `crit` header we would have to understand.
 */
export function checkEs384Headers(cose: CoseSign1): void {
  if (cose.protectedHeader.get(HEADER_ALG) !== ALG_ES384) invalid('COSE: protected header does not say ES384 (alg -35)');
  if (cose.protectedHeader.has(HEADER_CRIT)) invalid('COSE: critical headers are not supported');
  if (cose.unprotectedHeader.has(HEADER_ALG)) invalid('COSE: alg must not appear in the unprotected header');
}

function requireP384(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    invalid('COSE: signing key is not an EC P-384 key');
  }
}

/** Verify the ES384 signature of a decoded COSE_Sign1 with the signer's public key. */
export function verifyCoseSign1Es384(cose: CoseSign1, publicKey: KeyObject): void {
  checkEs384Headers(cose);
  requireP384(publicKey);
  if (cose.signature.length !== ES384_SIGNATURE_BYTES) invalid(`COSE: ES384 signature must be ${ES384_SIGNATURE_BYTES} bytes (raw r||s)`);
  let ok: boolean;
  try {
    ok = verify('sha384', sigStructure(cose.protectedBytes, cose.payload), { key: publicKey, dsaEncoding: 'ieee-p1363' }, cose.signature);
  } catch {
    ok = false;
  }
  if (!ok) invalid('COSE: ES384 signature does not verify');
}

/** Produce an untagged (as the NSM does) or tagged COSE_Sign1 with ES384 and an empty unprotected header. */
export function signCoseSign1Es384(payload: Uint8Array, privateKey: KeyObject, opts: { tagged?: boolean } = {}): Uint8Array {
  requireP384(createPublicKey(privateKey));
  const signature = new Uint8Array(sign('sha384', sigStructure(ES384_PROTECTED_HEADER, payload), { key: privateKey, dsaEncoding: 'ieee-p1363' }));
  const body = encodeCbor([ES384_PROTECTED_HEADER, {}, payload, signature]);
  return opts.tagged ? concatBytes(new Uint8Array([0xd2]), body) : body;
}
