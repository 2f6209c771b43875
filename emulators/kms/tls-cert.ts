// A self-signed TLS certificate for the KMS emulator, so the enclave's KMS traffic is TLS end to
// end on a laptop too (the enclave trusts this certificate explicitly, as it trusts public CAs for
// the real kms.<region>.amazonaws.com). RFC 5280 §4.1 certificate, ECDSA P-256 with SHA-256,
// subjectAltName = the given DNS names / IP addresses, serverAuth. Built with @peculiar/asn1-x509
// (the @peculiar/x509 convenience layer needs a reflect-metadata polyfill we do not ship).
import { createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, BasicConstraints, Certificate, ExtendedKeyUsage,
  Extension, Extensions, GeneralName, KeyUsage, KeyUsageFlags, Name, RelativeDistinguishedName, SubjectAlternativeName,
  SubjectPublicKeyInfo, TBSCertificate, Validity, Version, id_ce_basicConstraints, id_ce_extKeyUsage, id_ce_keyUsage,
  id_ce_subjectAltName, id_kp_serverAuth,
} from '@peculiar/asn1-x509';
import { OctetString } from '@peculiar/asn1-schema';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const CN = '2.5.4.3';

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export async function selfSignedTlsCertificate(names: string[], validDays = 30): Promise<{ cert: string; key: string }> {
  if (names.length === 0) throw new Error('a TLS certificate needs at least one name');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const name = new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: CN, value: new AttributeValue({ utf8String: names[0]! }) })])]);
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, no leading zero octet
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    issuer: name,
    validity: new Validity({ notBefore, notAfter: new Date(notBefore.getTime() + validDays * 86_400_000) }),
    subject: name,
    subjectPublicKeyInfo: AsnConvert.parse(spki, SubjectPublicKeyInfo),
    extensions: new Extensions([
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })),
      extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign)),
      extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth])),
      extension(id_ce_subjectAltName, false, new SubjectAlternativeName(names.map((n) => new GeneralName(isIP(n) ? { iPAddress: n } : { dNSName: n })))),
    ]),
  });
  const tbsDer = AsnConvert.serialize(tbs);
  const signature = sign('sha256', Buffer.from(tbsDer), privateKey); // DER ECDSA-Sig-Value, as X.509 wants
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }), signatureValue: new Uint8Array(signature).buffer });
  return {
    cert: toPem(new Uint8Array(AsnConvert.serialize(cert)), 'CERTIFICATE'),
    key: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  };
}
