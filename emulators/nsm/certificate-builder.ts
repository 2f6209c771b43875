// Issue X.509 v3 certificates shaped like the AWS Nitro attestation PKI (RFC 5280 §4.1):
// ECDSA-with-SHA384 signatures over P-384 keys, DER, with the extensions the real chain carries.
import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';

const ECDSA_WITH_SHA384 = '1.2.840.10045.4.3.3';
const ATTRIBUTE_OIDS = { C: '2.5.4.6', ST: '2.5.4.8', L: '2.5.4.7', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3' } as const;

/** A distinguished name as ordered [attribute, value] pairs, one attribute per RDN (as AWS does). */
export type DistinguishedName = ReadonlyArray<readonly [keyof typeof ATTRIBUTE_OIDS, string]>;

export type KeyUsageName = 'digitalSignature' | 'nonRepudiation' | 'keyCertSign' | 'cRLSign';

export interface CertificateSpec {
  subject: DistinguishedName;
  subjectKey: KeyObject; // public (or private: only its public half is used)
  issuer: { name: DistinguishedName; key: KeyObject /* private */; subjectKeyId: Uint8Array } | null; // null: self-signed
  issuerPrivateKey?: KeyObject; // self-signed: the subject's private key
  notBefore: Date;
  notAfter: Date;
  /** undefined: end entity (cA false); a number or null: CA with that path length (null: none). */
  caPathLength?: number | null;
  keyUsage: KeyUsageName[];
  keyUsageCritical: boolean;
}

function toName(dn: DistinguishedName): Name {
  return new Name(
    dn.map(([attr, value]) => {
      // Country is a PrintableString (X.520); the rest are UTF8String like the AWS certificates.
      const v = attr === 'C' ? new AttributeValue({ printableString: value }) : new AttributeValue({ utf8String: value });
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type: ATTRIBUTE_OIDS[attr], value: v })]);
    }),
  );
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING contents. */
export function subjectKeyIdentifier(key: KeyObject): Uint8Array {
  const spki = AsnConvert.parse(spkiDer(key), SubjectPublicKeyInfo);
  return new Uint8Array(createHash('sha1').update(new Uint8Array(spki.subjectPublicKey)).digest());
}

/** DER SubjectPublicKeyInfo of a public key, or of the public half of a private key. */
function spkiDer(key: KeyObject): Buffer {
  return (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
}

/** A positive 128-bit serial number with no leading zero octet. */
function serialNumber(): ArrayBuffer {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return new Uint8Array(b).buffer;
}

function extension(id: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function keyUsageBits(names: KeyUsageName[]): number {
  return names.reduce((bits, n) => bits | KeyUsageFlags[n], 0);
}

/** Build and sign one certificate; returns its DER. */
export function issueCertificate(spec: CertificateSpec): Uint8Array {
  const signerKey = spec.issuer ? spec.issuer.key : spec.issuerPrivateKey;
  if (!signerKey) throw new Error('issueCertificate: a self-signed certificate needs issuerPrivateKey');
  const ski = subjectKeyIdentifier(spec.subjectKey);
  const isCa = spec.caPathLength !== undefined;
  const extensions = [
    extension(
      id_ce_basicConstraints,
      true,
      isCa && spec.caPathLength !== null ? new BasicConstraints({ cA: true, pathLenConstraint: spec.caPathLength }) : new BasicConstraints({ cA: isCa }),
    ),
    extension(id_ce_keyUsage, spec.keyUsageCritical, new KeyUsage(keyUsageBits(spec.keyUsage))),
    extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(ski)),
  ];
  if (spec.issuer) {
    extensions.push(extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(spec.issuer.subjectKeyId) })));
  }
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialNumber(),
    signature: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA384 }),
    issuer: toName(spec.issuer ? spec.issuer.name : spec.subject),
    validity: new Validity({ notBefore: spec.notBefore, notAfter: spec.notAfter }),
    subject: toName(spec.subject),
    subjectPublicKeyInfo: AsnConvert.parse(spkiDer(spec.subjectKey), SubjectPublicKeyInfo),
    extensions: new Extensions(extensions),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  // ECDSA-Sig-Value in DER, as X.509 requires (RFC 5758 §3.2).
  const signature = sign('sha384', tbsDer, signerKey);
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA384 }),
    signatureValue: new Uint8Array(signature).buffer,
  });
  return new Uint8Array(AsnConvert.serialize(cert));
}
