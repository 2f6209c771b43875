// Certificate path validation for attestation documents (RFC 5280 §6.1, restricted to what the
// Nitro PKI uses): pinned root → cabundle[1..] → signing certificate, every certificate
// ECDSA-with-SHA384 over P-384 keys, valid at the given time; issuers are CAs (basicConstraints
// cA, keyCertSign) whose pathLenConstraint covers the intermediates below them; the signing
// certificate is an end entity with digitalSignature. Signatures and name chaining are checked by
// OpenSSL (node:crypto X509Certificate); extensions are read with @peculiar/asn1-x509.
//
// Anchor policy: the pinned root is the only anchor. cabundle[0] must be byte-identical to it
// (AWS puts its root there; a different cabundle[0] means the document claims another root and is
// refused outright, with a clear reason, instead of being silently skipped).
import { X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  KeyUsage,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_cRLDistributionPoints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  type KeyUsageType,
} from '@peculiar/asn1-x509';
import { equalBytes } from '../bytes.js';
import { CosignerError } from '../errors.js';

const ECDSA_WITH_SHA384 = '1.2.840.10045.4.3.3';
/** Extensions this validator understands; any other extension marked critical is refused (RFC 5280 §4.2). */
const KNOWN_EXTENSIONS = new Set([
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLDistributionPoints,
  id_ce_extKeyUsage,
]);

interface ParsedCertificate {
  label: string;
  der: Uint8Array;
  x509: X509Certificate;
  notBefore: Date;
  notAfter: Date;
  basicConstraints: BasicConstraints | null;
  keyUsage: KeyUsageType[] | null;
}

function invalid(reason: string): never {
  throw new CosignerError('ATTESTATION_INVALID', reason);
}

function parseCertificate(der: Uint8Array, label: string): ParsedCertificate {
  let x509: X509Certificate;
  let asn: Certificate;
  try {
    x509 = new X509Certificate(der);
    asn = AsnConvert.parse(der, Certificate);
  } catch {
    return invalid(`${label}: not a valid DER X.509 certificate`);
  }
  const tbs = asn.tbsCertificate;
  if (tbs.version !== Version.v3) invalid(`${label}: not an X.509 v3 certificate`);
  if (asn.signatureAlgorithm.algorithm !== ECDSA_WITH_SHA384 || tbs.signature.algorithm !== ECDSA_WITH_SHA384) {
    invalid(`${label}: signature algorithm is not ecdsa-with-SHA384`);
  }
  let key: KeyObject;
  try {
    key = x509.publicKey;
  } catch {
    return invalid(`${label}: public key cannot be decoded`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') invalid(`${label}: public key is not EC P-384`);

  let basicConstraints: BasicConstraints | null = null;
  let keyUsage: KeyUsageType[] | null = null;
  const seen = new Set<string>();
  for (const ext of tbs.extensions ?? []) {
    if (seen.has(ext.extnID)) invalid(`${label}: extension ${ext.extnID} appears twice`);
    seen.add(ext.extnID);
    if (ext.critical && !KNOWN_EXTENSIONS.has(ext.extnID)) invalid(`${label}: unsupported critical extension ${ext.extnID}`);
    try {
      if (ext.extnID === id_ce_basicConstraints) basicConstraints = AsnConvert.parse(ext.extnValue, BasicConstraints);
      if (ext.extnID === id_ce_keyUsage) keyUsage = AsnConvert.parse(ext.extnValue, KeyUsage).toJSON();
    } catch {
      invalid(`${label}: malformed extension ${ext.extnID}`);
    }
  }
  return {
    label,
    der,
    x509,
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    basicConstraints,
    keyUsage,
  };
}

function checkValidAt(c: ParsedCertificate, at: Date): void {
  const t = at.getTime();
  if (t < c.notBefore.getTime()) invalid(`${c.label}: not valid before ${c.notBefore.toISOString()} (checked at ${at.toISOString()})`);
  if (t > c.notAfter.getTime()) invalid(`${c.label}: expired ${c.notAfter.toISOString()} (checked at ${at.toISOString()})`);
}

/** RFC 5280 §6.1.4 (k), (l), (n): an issuer must be a CA allowed to sign certificates at this depth. */
function checkIssuer(c: ParsedCertificate, intermediatesBelow: number): void {
  const bc = c.basicConstraints;
  if (!bc || !bc.cA) invalid(`${c.label}: issues certificates but is not a CA (basicConstraints)`);
  if (bc.pathLenConstraint !== undefined && intermediatesBelow > bc.pathLenConstraint) {
    invalid(`${c.label}: path length constraint ${bc.pathLenConstraint} exceeded by ${intermediatesBelow} intermediates`);
  }
  if (!c.keyUsage || !c.keyUsage.includes('keyCertSign')) invalid(`${c.label}: key usage lacks keyCertSign`);
}

/** The document signer is an end entity whose key may make digital signatures. */
function checkSigner(c: ParsedCertificate): void {
  if (c.basicConstraints?.cA) invalid(`${c.label}: the signing certificate must not be a CA`);
  if (!c.keyUsage || !c.keyUsage.includes('digitalSignature')) invalid(`${c.label}: key usage lacks digitalSignature`);
}

/** RFC 5280 §6.1.3 (a): the child names the issuer and carries its signature. */
function checkLink(child: ParsedCertificate, issuer: ParsedCertificate): void {
  let issued: boolean;
  let signed: boolean;
  try {
    issued = child.x509.checkIssued(issuer.x509);
    signed = issued && child.x509.verify(issuer.x509.publicKey);
  } catch {
    // OpenSSL throws on some malformed signatures instead of returning false.
    issued = true;
    signed = false;
  }
  if (!issued) invalid(`${child.label}: not issued by ${issuer.label} (names or key identifiers differ)`);
  if (!signed) invalid(`${child.label}: signature by ${issuer.label} does not verify`);
}

/**
 * Validate `pinnedRoot` → cabundle[1..] → `certificate` at time `at`; return the signing
 * certificate's public key. Throws ATTESTATION_INVALID with the first failure.
 */
export function verifyCertificateChain(args: { pinnedRoot: Uint8Array; cabundle: Uint8Array[]; certificate: Uint8Array; at: Date }): KeyObject {
  const { pinnedRoot, cabundle, certificate, at } = args;
  if (cabundle.length === 0) invalid('cabundle is empty');
  if (!equalBytes(cabundle[0]!, pinnedRoot)) invalid('cabundle[0] is not the pinned root certificate');
  const chain = [
    parseCertificate(pinnedRoot, 'root'),
    ...cabundle.slice(1).map((der, i) => parseCertificate(der, `cabundle[${i + 1}]`)),
    parseCertificate(certificate, 'certificate'),
  ];
  const root = chain[0]!;
  checkLink(root, root); // self-signed: also proves the pinned bytes are an intact root
  // Signer first: an expired document is reported by its own 3-hour certificate.
  for (const c of [...chain].reverse()) checkValidAt(c, at);
  const signerIndex = chain.length - 1;
  for (let i = 0; i < signerIndex; i++) checkIssuer(chain[i]!, signerIndex - 1 - i);
  checkSigner(chain[signerIndex]!);
  for (let i = 1; i < chain.length; i++) checkLink(chain[i]!, chain[i - 1]!);
  return chain[signerIndex]!.x509.publicKey;
}
