import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicConstraints, Certificate, KeyUsage, id_ce_basicConstraints, id_ce_keyUsage } from '@peculiar/asn1-x509';
import { verifyCertificateChain } from '../../shared/attestation/certificate-chain.js';
import { decodeAttestation } from '../../shared/attestation/document.js';
import { certificateDer, certificateFingerprint } from '../../shared/attestation/root-pin.js';
import { EmulatorPki, LEVELS, VALIDITY_MS } from '../../emulators/nsm/pki.js';
import { readFixtureDocument } from '../support/fixtures.js';

const HOUR = 3600_000;

/** The constraint profile of a certificate: what the verifier's rules look at. */
function profile(der: Uint8Array): { ca: boolean; pathLen: number | null; keyUsage: string[]; kuCritical: boolean; bcCritical: boolean; sigAlg: string } {
  const c = AsnConvert.parse(der, Certificate);
  const ext = (id: string) => c.tbsCertificate.extensions?.find((e) => e.extnID === id);
  const bc = AsnConvert.parse(ext(id_ce_basicConstraints)!.extnValue, BasicConstraints);
  const ku = ext(id_ce_keyUsage)!;
  return {
    ca: bc.cA,
    pathLen: bc.pathLenConstraint ?? null,
    keyUsage: AsnConvert.parse(ku.extnValue, KeyUsage).toJSON().sort(),
    kuCritical: ku.critical,
    bcCritical: ext(id_ce_basicConstraints)!.critical,
    sigAlg: c.signatureAlgorithm.algorithm,
  };
}

describe('NSM emulator PKI', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-pki-'));
  });
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('persists root → regional → zonal → instance → leaf with private keys readable by the owner only', () => {
    const pki = EmulatorPki.open({ stateDir: dir });
    for (const level of LEVELS) {
      expect(statSync(join(dir, `${level}.key`)).mode & 0o777, level).to.equal(0o600);
      expect(readFileSync(join(dir, `${level}.key`), 'utf8')).to.match(/^-----BEGIN PRIVATE KEY-----/); // PKCS#8
    }
    expect(certificateFingerprint(readFileSync(join(dir, 'root.pem'), 'utf8'))).to.equal(pki.rootFingerprint);
    const again = EmulatorPki.open({ stateDir: dir });
    expect(again.rootFingerprint).to.equal(pki.rootFingerprint);
    expect(Buffer.compare(again.signer.certificate, pki.signer.certificate)).to.equal(0);
    expect(again.moduleId).to.equal(pki.moduleId);
  });

  it('uses AWS-like subjects and a 3-hour P-384 leaf', () => {
    const pki = EmulatorPki.open({ stateDir: dir, instanceId: 'i-0123456789abcdef0', region: 'eu-west-1' });
    const [root, regional, zonal, instance] = pki.cabundle.map((d) => new X509Certificate(d));
    const leaf = new X509Certificate(pki.signer.certificate);
    expect(root!.subject).to.contain('CN=aws.nitro-enclaves');
    expect(regional!.subject).to.match(/CN=[0-9a-f]{16}\.eu-west-1\.aws\.nitro-enclaves/);
    expect(zonal!.subject).to.match(/CN=[0-9a-f]{16}\.zonal\.eu-west-1\.aws\.nitro-enclaves/);
    expect(instance!.subject).to.contain('CN=i-0123456789abcdef0.eu-west-1.aws.nitro-enclaves');
    expect(leaf.subject).to.match(/CN=i-0123456789abcdef0-enc[0-9a-f]{16}\.eu-west-1\.aws/);
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).to.equal('secp384r1');
    const v = AsnConvert.parse(pki.signer.certificate, Certificate).tbsCertificate.validity;
    expect(v.notAfter.getTime().getTime() - v.notBefore.getTime().getTime()).to.equal(VALIDITY_MS.leaf).and.to.equal(3 * HOUR);
  });

  it('has the same constraint profile as the real AWS chain, level by level', function () {
    const real = decodeAttestation(readFixtureDocument('production')).document;
    const pki = EmulatorPki.open({ stateDir: dir });
    const realChain = [...real.cabundle, real.certificate];
    const emuChain = [...pki.cabundle, pki.signer.certificate];
    expect(emuChain.length).to.equal(realChain.length);
    realChain.forEach((der, i) => {
      const r = profile(der);
      const e = profile(emuChain[i]!);
      expect(e, `level ${LEVELS[i]}`).to.deep.equal(r);
    });
  });

  it('re-issues the leaf when near expiry, and only the leaf', () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const pki = EmulatorPki.open({ stateDir: dir, clock: () => now });
    const leaf1 = pki.signer.certificate;
    const bundle1 = pki.cabundle;
    now = new Date(now.getTime() + 2 * HOUR); // 1 h left: fine
    pki.ensureFresh();
    expect(Buffer.compare(pki.signer.certificate, leaf1)).to.equal(0);
    now = new Date(now.getTime() + 31 * 60_000); // 29 min left: renew
    pki.ensureFresh();
    expect(Buffer.compare(pki.signer.certificate, leaf1)).to.not.equal(0);
    pki.cabundle.forEach((d, i) => expect(Buffer.compare(d, bundle1[i]!)).to.equal(0));
    const pinnedRoot = certificateDer(pki.rootPem);
    verifyCertificateChain({ pinnedRoot, cabundle: pki.cabundle, certificate: pki.signer.certificate, at: new Date(now.getTime() + 2 * HOUR) });
    // the old leaf would have expired by then
    expect(() => verifyCertificateChain({ pinnedRoot, cabundle: pki.cabundle, certificate: leaf1, at: new Date(now.getTime() + 2 * HOUR) })).to.throw(/certificate: expired/);
    // the renewal is persisted
    expect(Buffer.compare(EmulatorPki.open({ stateDir: dir, clock: () => now }).signer.certificate, pki.signer.certificate)).to.equal(0);
  });

  it('re-issues a CA (and everything below it) before it would expire under a fresh child', () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const pki = EmulatorPki.open({ stateDir: dir, clock: () => now });
    const [root1, regional1, zonal1, instance1] = pki.cabundle;
    now = new Date(now.getTime() + VALIDITY_MS.instance - 3 * HOUR); // instance has 3 h left < 3 h 30 min
    pki.ensureFresh();
    const [root2, regional2, zonal2, instance2] = pki.cabundle;
    expect(Buffer.compare(root2!, root1!)).to.equal(0);
    expect(Buffer.compare(regional2!, regional1!)).to.equal(0);
    expect(Buffer.compare(zonal2!, zonal1!)).to.equal(0);
    expect(Buffer.compare(instance2!, instance1!)).to.not.equal(0);
    verifyCertificateChain({ pinnedRoot: root2!, cabundle: pki.cabundle, certificate: pki.signer.certificate, at: new Date(now.getTime() + 2 * HOUR) });
  });

  it('replaces an unreadable leaf from state without touching the root', () => {
    const pki = EmulatorPki.open({ stateDir: dir });
    writeFileSync(join(dir, 'leaf.pem'), 'garbage');
    const again = EmulatorPki.open({ stateDir: dir });
    expect(again.rootFingerprint).to.equal(pki.rootFingerprint);
    verifyCertificateChain({ pinnedRoot: certificateDer(again.rootPem), cabundle: again.cabundle, certificate: again.signer.certificate, at: new Date() });
  });

  it('follows a reconfigured instance id with new instance and leaf certificates', () => {
    const pki = EmulatorPki.open({ stateDir: dir, instanceId: 'i-0aaaaaaaaaaaaaaaa' });
    const again = EmulatorPki.open({ stateDir: dir, instanceId: 'i-0bbbbbbbbbbbbbbbb' });
    expect(again.rootFingerprint).to.equal(pki.rootFingerprint);
    expect(again.moduleId).to.match(/^i-0bbbbbbbbbbbbbbbb-enc/);
    expect(new X509Certificate(again.cabundle[3]!).subject).to.contain('i-0bbbbbbbbbbbbbbbb');
    verifyCertificateChain({ pinnedRoot: certificateDer(again.rootPem), cabundle: again.cabundle, certificate: again.signer.certificate, at: new Date() });
  });
});
