// CiphertextForRecipient: the CMS EnvelopedData (RFC 5652 §6) that AWS KMS returns when a request
// carries a Nitro `Recipient`. One profile only — anything else is CMS_INVALID:
//   ContentInfo { envelopedData, [0] EnvelopedData v2 {
//     recipientInfos: SET OF exactly one KeyTransRecipientInfo v2 (rid = [0] subjectKeyIdentifier),
//       keyEncryptionAlgorithm RSAES-OAEP (RFC 8017 §7.1, params per RFC 4055 §4.1: SHA-256, MGF1-SHA-256,
//       empty label),
//     encryptedContentInfo { data, AES-256-CBC with a 16-byte IV, [0] encryptedContent primitive or
//       constructed (BER, X.690 §8.7.3) } } }
// BER with indefinite lengths is parsed by asn1js (which @peculiar/asn1-schema builds on).
import { createDecipheriv, privateDecrypt, constants, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { AsnParser } from '@peculiar/asn1-schema';
import { ContentInfo, EnvelopedData } from '@peculiar/asn1-cms';
import { RsaEsOaepParams } from '@peculiar/asn1-rsa';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { CosignerError } from '../errors.js';
import { concatBytes, wipe } from '../bytes.js';
import { OID } from './oids.js';
import { BerStructureError, checkBerStructure } from './ber-check.js';

export interface ParsedCiphertextForRecipient {
  envelopedDataVersion: number;
  recipient: {
    version: number;
    subjectKeyIdentifier: Uint8Array;
    keyEncryptionAlgorithm: string;
    oaepHash: string;
    maskGenAlgorithm: string;
    mgfHash: string;
    encryptedKey: Uint8Array;
  };
  contentType: string;
  contentEncryptionAlgorithm: string;
  iv: Uint8Array;
  encryptedContent: Uint8Array;
  encryptedContentForm: 'primitive' | 'constructed';
}

/** Largest CiphertextForRecipient we accept: KMS plaintexts are at most 4096 bytes. */
const MAX_CMS_BYTES = 16 * 1024;
const AES_256_KEY_BYTES = 32;
const AES_BLOCK_BYTES = 16;

function invalid(reason: string, cause?: unknown): never {
  throw new CosignerError('CMS_INVALID', `CiphertextForRecipient: ${reason}`, undefined, cause === undefined ? undefined : { cause });
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** Parse one complete BER element; trailing bytes are an error (no data smuggled after the structure). */
function parseExactly<T>(bytes: ArrayBuffer, type: new () => T, what: string): T {
  const ber = asn1js.fromBER(bytes);
  if (ber.offset === -1) invalid(`${what} is not valid BER (${ber.result.error || 'malformed'})`);
  if (ber.offset !== bytes.byteLength) invalid(`${what} has ${bytes.byteLength - ber.offset} trailing bytes`);
  try {
    return AsnParser.fromASN(ber.result, type);
  } catch (e) {
    invalid(`${what} does not match the CMS schema`, e);
  }
}

/** RFC 4055 §2.1: a SHA-2 AlgorithmIdentifier carries NULL or absent parameters, nothing else. */
function checkHashParams(params: ArrayBuffer | null | undefined, what: string): void {
  if (!params) return;
  const b = new Uint8Array(params);
  if (!(b.length === 2 && b[0] === 0x05 && b[1] === 0x00)) invalid(`${what} parameters are neither NULL nor absent`);
}

/** RFC 4055 §4.1: RSAES-OAEP-params. We accept SHA-256 + MGF1(SHA-256) + the default empty label only. */
function parseOaepParams(params: ArrayBuffer | undefined): { hash: string; mgf: string; mgfHash: string } {
  if (!params) invalid('RSAES-OAEP parameters are absent (defaults would mean SHA-1)');
  const p = parseExactly(params, RsaEsOaepParams, 'RSAES-OAEP parameters');
  const hash = p.hashAlgorithm.algorithm;
  const mgf = p.maskGenAlgorithm.algorithm;
  if (hash !== OID.sha256) invalid(`OAEP hash ${hash} is not SHA-256`);
  checkHashParams(p.hashAlgorithm.parameters, 'OAEP hash');
  if (mgf !== OID.mgf1) invalid(`OAEP mask generation ${mgf} is not MGF1`);
  if (!p.maskGenAlgorithm.parameters) invalid('MGF1 hash parameter is absent');
  // The MGF1 parameter is itself an AlgorithmIdentifier naming its hash (RFC 4055 §2.2).
  const mgfHashAlg = parseExactly(p.maskGenAlgorithm.parameters, AlgorithmIdentifier, 'MGF1 parameters');
  if (mgfHashAlg.algorithm !== OID.sha256) invalid(`MGF1 hash ${mgfHashAlg.algorithm} is not SHA-256`);
  checkHashParams(mgfHashAlg.parameters, 'MGF1 hash');
  // [2] pSourceAlgorithm absent means the empty label (RFC 8017 A.2.1). The schema library fills in
  // a non-empty default when absent, so look at the raw SEQUENCE for an explicit [2].
  const raw = asn1js.fromBER(params).result;
  const fields = raw instanceof asn1js.Sequence ? raw.valueBlock.value : [];
  const explicitLabel = fields.some((f) => f.idBlock.tagClass === 3 && f.idBlock.tagNumber === 2);
  if (explicitLabel) {
    const label = p.pSourceAlgorithm;
    if (label.algorithm !== OID.pSpecified) invalid(`OAEP label source ${label.algorithm} is not pSpecified`);
    const l = label.parameters ? asn1js.fromBER(label.parameters) : null;
    const empty = l !== null && l.offset === label.parameters!.byteLength && l.result instanceof asn1js.OctetString
      && l.result.valueBlock.valueHexView.length === 0;
    if (!empty) invalid('OAEP label is not empty');
  }
  return { hash, mgf, mgfHash: mgfHashAlg.algorithm };
}

/** The AES-CBC parameter is the IV as an OCTET STRING (RFC 3565 §4.1), exactly 16 bytes. */
function parseIv(params: ArrayBuffer | undefined): Uint8Array {
  if (!params) invalid('AES-256-CBC IV is absent');
  const ber = asn1js.fromBER(params);
  if (ber.offset !== params.byteLength || !(ber.result instanceof asn1js.OctetString) || ber.result.valueBlock.isConstructed) {
    invalid('AES-256-CBC parameter is not a primitive OCTET STRING');
  }
  const iv = new Uint8Array(ber.result.valueBlock.valueHexView);
  if (iv.length !== AES_BLOCK_BYTES) invalid(`AES-256-CBC IV is ${iv.length} bytes, expected ${AES_BLOCK_BYTES}`);
  return iv;
}

/** Parse and check the structure; no decryption. Used by the enclave and by tests on real KMS output. */
export function parseCiphertextForRecipient(ber: Uint8Array): ParsedCiphertextForRecipient {
  try {
    return parseStrict(ber);
  } catch (e) {
    if (e instanceof CosignerError) throw e;
    // asn1js/asn1-schema can throw plain errors on hostile input; all of it is a structural surprise.
    invalid('malformed structure', e);
  }
}

function parseStrict(ber: Uint8Array): ParsedCiphertextForRecipient {
  if (!(ber instanceof Uint8Array) || ber.length === 0) invalid('empty');
  if (ber.length > MAX_CMS_BYTES) invalid(`${ber.length} bytes exceeds ${MAX_CMS_BYTES}`);
  try {
    checkBerStructure(ber);
  } catch (e) {
    if (e instanceof BerStructureError) invalid(`malformed BER: ${e.message}`);
    throw e;
  }
  const ci = parseExactly(toArrayBuffer(ber), ContentInfo, 'ContentInfo');
  if (ci.contentType !== OID.envelopedData) invalid(`content type ${ci.contentType} is not envelopedData`);
  const ed = parseExactly(ci.content, EnvelopedData, 'EnvelopedData');

  // RFC 5652 §6.1: version 2 for KeyTransRecipientInfo v2 without originatorInfo/unprotectedAttrs.
  if (ed.version !== 2) invalid(`EnvelopedData version ${ed.version}, expected 2`);
  if (ed.originatorInfo) invalid('unexpected originatorInfo');
  if (ed.unprotectedAttrs) invalid('unexpected unprotectedAttrs');
  if (ed.recipientInfos.length !== 1) invalid(`${ed.recipientInfos.length} recipients, expected exactly 1`);
  const ktri = ed.recipientInfos[0]!.ktri;
  if (!ktri) invalid('recipient is not a KeyTransRecipientInfo');
  // RFC 5652 §6.2.1: version 2 iff rid is subjectKeyIdentifier.
  if (ktri.version !== 2) invalid(`KeyTransRecipientInfo version ${ktri.version}, expected 2`);
  const ski = ktri.rid.subjectKeyIdentifier;
  if (!ski) invalid('recipient is not identified by subjectKeyIdentifier');
  if (ktri.keyEncryptionAlgorithm.algorithm !== OID.rsaesOaep) {
    invalid(`key encryption algorithm ${ktri.keyEncryptionAlgorithm.algorithm} is not RSAES-OAEP`);
  }
  const oaep = parseOaepParams(ktri.keyEncryptionAlgorithm.parameters ?? undefined);
  const encryptedKey = new Uint8Array(ktri.encryptedKey.buffer);
  if (encryptedKey.length === 0) invalid('encryptedKey is empty');

  const eci = ed.encryptedContentInfo;
  if (eci.contentType !== OID.data) invalid(`encrypted content type ${eci.contentType} is not data`);
  const alg = eci.contentEncryptionAlgorithm;
  if (alg.algorithm !== OID.aes256Cbc) invalid(`content encryption ${alg.algorithm} is not AES-256-CBC`);
  const iv = parseIv(alg.parameters ?? undefined);
  const content = eci.encryptedContent;
  if (!content) invalid('encryptedContent is absent');
  let encryptedContent: Uint8Array;
  let form: 'primitive' | 'constructed';
  if (content.value) {
    encryptedContent = new Uint8Array(content.value.buffer);
    form = 'primitive';
  } else if (content.constructedValue) {
    encryptedContent = concatBytes(...content.constructedValue.map((s) => new Uint8Array(s.buffer)));
    form = 'constructed';
  } else {
    invalid('encryptedContent is empty');
  }
  if (encryptedContent.length === 0 || encryptedContent.length % AES_BLOCK_BYTES !== 0) {
    invalid(`encryptedContent is ${encryptedContent.length} bytes, not a positive multiple of ${AES_BLOCK_BYTES}`);
  }
  return {
    envelopedDataVersion: ed.version,
    recipient: {
      version: ktri.version,
      subjectKeyIdentifier: new Uint8Array(ski.buffer),
      keyEncryptionAlgorithm: ktri.keyEncryptionAlgorithm.algorithm,
      oaepHash: oaep.hash,
      maskGenAlgorithm: oaep.mgf,
      mgfHash: oaep.mgfHash,
      encryptedKey,
    },
    contentType: eci.contentType,
    contentEncryptionAlgorithm: alg.algorithm,
    iv,
    encryptedContent,
    encryptedContentForm: form,
  };
}

/**
 * Decrypt a CiphertextForRecipient with the enclave's ephemeral RSA private key:
 * RSAES-OAEP-DECRYPT (RFC 8017 §7.1.2, SHA-256/MGF1-SHA-256) of the content-encryption key, then
 * AES-256-CBC with PKCS#7 padding (RFC 5652 §6.3). CBC is unauthenticated; the structure arrives over
 * TLS from KMS and the caller authenticates what it unwraps (the sealed blob is AES-GCM).
 * The subjectKeyIdentifier is not compared: the key is ephemeral and single-use, and OAEP fails for
 * any other key.
 */
export function decryptCiphertextForRecipient(ber: Uint8Array, rsaPrivateKey: KeyObject): Uint8Array {
  const parsed = parseCiphertextForRecipient(ber);
  if (rsaPrivateKey.type !== 'private' || rsaPrivateKey.asymmetricKeyType !== 'rsa') {
    invalid('recipient key is not an RSA private key');
  }
  let cek: Uint8Array;
  try {
    cek = new Uint8Array(privateDecrypt(
      { key: rsaPrivateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      parsed.recipient.encryptedKey,
    ));
  } catch {
    invalid('key transport (RSAES-OAEP) decryption failed');
  }
  try {
    if (cek.length !== AES_256_KEY_BYTES) invalid(`content-encryption key is ${cek.length} bytes, expected ${AES_256_KEY_BYTES}`);
    const decipher = createDecipheriv('aes-256-cbc', cek, parsed.iv);
    decipher.setAutoPadding(true);
    try {
      const head = decipher.update(parsed.encryptedContent);
      const tail = decipher.final();
      const out = new Uint8Array(concatBytes(head, tail));
      wipe(head);
      wipe(tail);
      return out;
    } catch {
      invalid('content decryption failed (bad padding)');
    }
  } finally {
    wipe(cek);
  }
}
