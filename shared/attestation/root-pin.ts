// Trust anchors are pinned by the SHA-256 of their DER encoding: the PEM text an operator supplies
// may carry comments or whitespace, but the DER bytes are what signatures chain to.
import { createHash, X509Certificate } from 'node:crypto';
import { toHex } from '../bytes.js';
import { CosignerError } from '../errors.js';

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;

/** The DER bytes of the single certificate in a PEM text (or the DER itself). */
export function certificateDer(root: string | Uint8Array): Uint8Array {
  if (typeof root !== 'string') return new Uint8Array(root);
  const blocks = [...root.matchAll(PEM_CERT_RE)];
  if (blocks.length !== 1) {
    throw new CosignerError('ATTESTATION_INVALID', `root: expected exactly one PEM certificate, found ${blocks.length}`);
  }
  const der = new Uint8Array(Buffer.from(blocks[0]![1]!.replace(/\s+/g, ''), 'base64'));
  try {
    new X509Certificate(der);
  } catch {
    throw new CosignerError('ATTESTATION_INVALID', 'root: the PEM block is not a valid X.509 certificate');
  }
  return der;
}

/** Lower-case hex SHA-256 of the certificate's DER encoding. */
export function certificateFingerprint(cert: string | Uint8Array): string {
  return toHex(createHash('sha256').update(certificateDer(cert)).digest());
}

/** Return the DER of `cert` if its fingerprint is `expectedSha256` (hex, any case, colons allowed); throw otherwise. */
export function pinnedRootDer(cert: string | Uint8Array, expectedSha256: string): Uint8Array {
  const expected = expectedSha256.replace(/:/g, '').toLowerCase();
  const der = certificateDer(cert);
  const actual = certificateFingerprint(der);
  if (actual !== expected) {
    throw new CosignerError('ATTESTATION_INVALID', `root: fingerprint ${actual} does not match the pinned ${expected}`);
  }
  return der;
}
