// Builds attestation documents over hand-made certificate chains, to exercise each rule of the
// verifier (pinning, path length, basic constraints, key usage, validity) with genuine signatures.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { issueCertificate, subjectKeyIdentifier, type CertificateSpec, type DistinguishedName } from '../../emulators/nsm/certificate-builder.js';
import { signAttestationDocument, type DocumentFields } from '../../emulators/nsm/document.js';

export interface TestCert {
  der: Uint8Array;
  key: KeyObject;
  name: DistinguishedName;
}

export type LevelSpec = Pick<CertificateSpec, 'caPathLength' | 'keyUsage' | 'keyUsageCritical'> & { notBefore?: Date; notAfter?: Date };

export const AWS_ROOT_NAME: DistinguishedName = [['C', 'US'], ['O', 'Amazon'], ['OU', 'AWS'], ['CN', 'aws.nitro-enclaves']];

/** The real chain's shape: root, regional (2), zonal (1), instance (0), leaf. */
export function standardLevels(): LevelSpec[] {
  const ca = (caPathLength: number | null): LevelSpec => ({ caPathLength, keyUsage: ['cRLSign', 'digitalSignature', 'keyCertSign'], keyUsageCritical: true });
  return [ca(null), ca(2), ca(1), { caPathLength: 0, keyUsage: ['keyCertSign'], keyUsageCritical: true }, { keyUsage: ['digitalSignature', 'nonRepudiation'], keyUsageCritical: false }];
}

export interface TestChain {
  root: TestCert;
  cabundle: Uint8Array[];
  leaf: TestCert;
}

/** Issue a chain; `levels[0]` is the self-signed root, the last is the document signer. */
export function buildChain(levels: LevelSpec[] = standardLevels(), opts: { rootName?: DistinguishedName; now?: Date } = {}): TestChain {
  const now = opts.now ?? new Date();
  const certs: TestCert[] = [];
  levels.forEach((lvl, i) => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    const name: DistinguishedName = i === 0 ? (opts.rootName ?? [['C', 'US'], ['O', 'Test'], ['CN', 'test root']]) : [['C', 'US'], ['O', 'Test'], ['CN', `level ${i}`]];
    const parent = certs[i - 1];
    const der = issueCertificate({
      subject: name,
      subjectKey: key,
      issuer: parent ? { name: parent.name, key: parent.key, subjectKeyId: subjectKeyIdentifier(parent.key) } : null,
      issuerPrivateKey: key,
      notBefore: lvl.notBefore ?? new Date(now.getTime() - 60_000),
      notAfter: lvl.notAfter ?? new Date(now.getTime() + 3 * 3600_000),
      caPathLength: lvl.caPathLength,
      keyUsage: lvl.keyUsage,
      keyUsageCritical: lvl.keyUsageCritical,
    });
    certs.push({ der, key, name });
  });
  const leaf = certs[certs.length - 1]!;
  return { root: certs[0]!, cabundle: certs.slice(0, -1).map((c) => c.der), leaf };
}

export function testPcrs(fill = 0x11): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  for (let i = 0; i < 16; i++) m.set(i, new Uint8Array(48).fill(i < 3 ? fill : 0));
  return m;
}

/** The fields of a valid document issued by the chain's leaf. */
export function testDocumentFields(chain: TestChain): DocumentFields {
  return {
    moduleId: 'i-0123456789abcdef0-enc0123456789abcdef',
    timestamp: Date.now(),
    pcrs: testPcrs(),
    certificate: chain.leaf.der,
    cabundle: chain.cabundle,
    publicKey: null,
    userData: null,
    nonce: null,
  };
}

/** Sign a document with the chain's leaf; any field may be overridden. */
export function signTestDocument(chain: TestChain, fields: Partial<DocumentFields> = {}): Uint8Array {
  return signAttestationDocument({ ...testDocumentFields(chain), ...fields }, chain.leaf.key);
}
