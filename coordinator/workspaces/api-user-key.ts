// The RSA public key an API user signs request JWTs with, taken from a CSR (as the Fireblocks
// console takes it) or a public key PEM. A CSR must be signed by its own key (proof that the
// requester holds it); keys below 2048 bits are refused (RS256 with jsonwebtoken 9 refuses them too).
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { CosignerError } from '../../shared/errors.js';

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

function pemBody(pem: string, label: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (!m) throw new CosignerError('CONFIG_INVALID', `not a PEM ${label}`);
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

function checkRsa(key: KeyObject): string {
  if (key.asymmetricKeyType !== 'rsa') throw new CosignerError('CONFIG_INVALID', 'the API user key must be RSA');
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) throw new CosignerError('CONFIG_INVALID', `the API user key must be at least 2048 bits (got ${bits})`);
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** SPKI PEM of the key in a CSR whose self-signature verifies. */
export function publicKeyFromCsr(csrPem: string): string {
  const der = pemBody(csrPem, 'CERTIFICATE REQUEST');
  let csr: CertificationRequest;
  try {
    csr = AsnConvert.parse(der, CertificationRequest);
  } catch {
    throw new CosignerError('CONFIG_INVALID', 'the CSR is not valid DER');
  }
  if (csr.signatureAlgorithm.algorithm !== SHA256_WITH_RSA) throw new CosignerError('CONFIG_INVALID', 'the CSR must be signed with sha256WithRSAEncryption');
  const key = createPublicKey({ key: Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo)), format: 'der', type: 'spki' });
  const info = Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo));
  if (!verify('sha256', info, key, Buffer.from(csr.signature))) throw new CosignerError('CONFIG_INVALID', 'the CSR signature does not verify (it was not made with its own key)');
  return checkRsa(key);
}

export function publicKeyFromPem(pem: string): string {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new CosignerError('CONFIG_INVALID', 'not a PEM public key');
  }
  return checkRsa(key);
}
