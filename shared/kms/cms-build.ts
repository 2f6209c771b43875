// Builds a CiphertextForRecipient the way AWS KMS does (the inverse of cms.ts), for the KMS
// emulator: RFC 5652 §6 EnvelopedData in BER with indefinite lengths on ContentInfo, [0],
// EnvelopedData, EncryptedContentInfo and a constructed [0] encryptedContent; definite (DER)
// lengths inside the recipient SET — the layout of the real responses in test/fixtures/kms-cms.
import { createCipheriv, createHash, createPublicKey, publicEncrypt, randomBytes, constants } from 'node:crypto';
import { CosignerError } from '../errors.js';
import { concatBytes, wipe } from '../bytes.js';
import { NULL, oid, smallInt, TAG, tlv, tlvIndefinite } from './ber.js';
import { OID } from './oids.js';

export interface BuildOptions {
  /** KMS has returned both forms; constructed is the default (OpenSSL streaming output). */
  encryptedContentForm?: 'primitive' | 'constructed';
}

/**
 * The 32-byte subjectKeyIdentifier KMS puts in the rid. AWS does not document its derivation; we
 * use SHA-256 of the recipient's SubjectPublicKeyInfo DER (the enclave does not rely on it).
 */
export function recipientKeyIdentifier(recipientSpkiDer: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(recipientSpkiDer).digest());
}

/** AlgorithmIdentifier for SHA-256 with explicit NULL parameters, as in the KMS responses. */
function sha256AlgId(): Uint8Array {
  return tlv(TAG.SEQUENCE, oid(OID.sha256), NULL);
}

/** RFC 4055 §4.1 RSAES-OAEP-params with SHA-256 and MGF1-SHA-256 spelled out (label left default). */
function oaepAlgId(): Uint8Array {
  const params = tlv(TAG.SEQUENCE,
    tlv(TAG.ctxConstructed(0), sha256AlgId()),
    tlv(TAG.ctxConstructed(1), tlv(TAG.SEQUENCE, oid(OID.mgf1), sha256AlgId())),
  );
  return tlv(TAG.SEQUENCE, oid(OID.rsaesOaep), params);
}

function rsaPublicKey(recipientSpkiDer: Uint8Array) {
  try {
    const key = createPublicKey({ key: Buffer.from(recipientSpkiDer), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'rsa') throw new Error('not RSA');
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new Error(`RSA modulus of ${bits} bits`);
    return key;
  } catch (e) {
    throw new CosignerError('CMS_INVALID', `recipient public key is not an RSA-2048+ SubjectPublicKeyInfo: ${(e as Error).message}`);
  }
}

/** Split into 1000-byte chunks like a BER streaming encoder (X.690 §8.7.3.2, cf. CER §9.2). */
function constructedOctetString(tag: number, data: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += 1000) chunks.push(tlv(TAG.OCTET_STRING, data.subarray(off, off + 1000)));
  return tlvIndefinite(tag, ...chunks);
}

export function buildCiphertextForRecipient(plaintext: Uint8Array, recipientSpkiDer: Uint8Array, opts: BuildOptions = {}): Uint8Array {
  const publicKey = rsaPublicKey(recipientSpkiDer);
  const cek = new Uint8Array(randomBytes(32));
  const iv = new Uint8Array(randomBytes(16));
  try {
    // RFC 5652 §6.3: AES-256-CBC with PKCS#7 padding.
    const cipher = createCipheriv('aes-256-cbc', cek, iv);
    const encryptedContent = new Uint8Array(concatBytes(cipher.update(plaintext), cipher.final()));
    // RFC 8017 §7.1.1 RSAES-OAEP-ENCRYPT of the content-encryption key.
    const encryptedKey = new Uint8Array(publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek));

    // RFC 5652 §6.2.1 KeyTransRecipientInfo v2 with [0] subjectKeyIdentifier.
    const ktri = tlv(TAG.SEQUENCE,
      smallInt(2),
      tlv(TAG.ctxPrimitive(0), recipientKeyIdentifier(recipientSpkiDer)),
      oaepAlgId(),
      tlv(TAG.OCTET_STRING, encryptedKey),
    );
    const contentField = opts.encryptedContentForm === 'primitive'
      ? tlv(TAG.ctxPrimitive(0), encryptedContent)
      : constructedOctetString(TAG.ctxConstructed(0), encryptedContent);
    const encryptedContentInfo = tlvIndefinite(TAG.SEQUENCE,
      oid(OID.data),
      tlv(TAG.SEQUENCE, oid(OID.aes256Cbc), tlv(TAG.OCTET_STRING, iv)),
      contentField,
    );
    const envelopedData = tlvIndefinite(TAG.SEQUENCE, smallInt(2), tlv(TAG.SET, ktri), encryptedContentInfo);
    return tlvIndefinite(TAG.SEQUENCE, oid(OID.envelopedData), tlvIndefinite(TAG.ctxConstructed(0), envelopedData));
  } finally {
    wipe(cek);
  }
}
