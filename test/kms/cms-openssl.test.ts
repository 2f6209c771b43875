// Interoperability with an independent CMS implementation: OpenSSL (what AWS's own Nitro SDK uses
// to open CiphertextForRecipient). The openssl command is a test dependency (.ci/run installs it).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, createPrivateKey } from 'node:crypto';
import { buildCiphertextForRecipient } from '../../shared/kms/cms-build.js';
import { decryptCiphertextForRecipient, parseCiphertextForRecipient } from '../../shared/kms/cms.js';
import { tempDir } from './support.js';

function openssl(args: string[]): { ok: boolean; stdout: Buffer; stderr: string } {
  const r = spawnSync('openssl', args, { maxBuffer: 1 << 20 });
  return { ok: r.status === 0, stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr?.toString() ?? String(r.error) };
}

describe('CMS interoperability with OpenSSL', function () {
  let dir: ReturnType<typeof tempDir>;
  before(() => {
    const v = openssl(['version']);
    expect(v.ok, `the openssl command is needed for this test (apt-get install openssl): ${v.stderr}`).to.equal(true);
    dir = tempDir('cms-openssl-');
    const r = openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir.path, 'r.key'), '-out', join(dir.path, 'r.crt'), '-subj', '/CN=enclave-recipient', '-days', '1']);
    expect(r.ok, r.stderr).to.equal(true);
  });
  after(() => dir?.remove());

  it('OpenSSL decrypts what the emulator builds (both encryptedContent forms)', () => {
    const spki = openssl(['x509', '-in', join(dir.path, 'r.crt'), '-noout', '-pubkey']);
    writeFileSync(join(dir.path, 'pub.pem'), spki.stdout);
    const der = openssl(['pkey', '-pubin', '-in', join(dir.path, 'pub.pem'), '-outform', 'DER']);
    expect(der.ok, der.stderr).to.equal(true);
    for (const form of ['constructed', 'primitive'] as const) {
      const pt = new Uint8Array(randomBytes(2000));
      writeFileSync(join(dir.path, 'c.ber'), buildCiphertextForRecipient(pt, new Uint8Array(der.stdout), { encryptedContentForm: form }));
      const out = openssl(['cms', '-decrypt', '-binary', '-inform', 'DER', '-in', join(dir.path, 'c.ber'), '-inkey', join(dir.path, 'r.key')]);
      expect(out.ok, out.stderr).to.equal(true);
      expect(new Uint8Array(out.stdout)).to.deep.equal(pt);
    }
  });

  it('we parse and decrypt what OpenSSL streams (BER, OAEP-SHA256, AES-256-CBC, subjectKeyIdentifier)', () => {
    const pt = new Uint8Array(randomBytes(1500));
    writeFileSync(join(dir.path, 'pt'), pt);
    const enc = openssl(['cms', '-encrypt', '-binary', '-stream', '-in', join(dir.path, 'pt'), '-outform', 'DER', '-recip', join(dir.path, 'r.crt'), '-keyid',
      '-aes-256-cbc', '-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256', '-keyopt', 'rsa_mgf1_md:sha256']);
    expect(enc.ok, enc.stderr).to.equal(true);
    const ber = new Uint8Array(enc.stdout);
    expect(ber[1]).to.equal(0x80); // indefinite length, as AWS
    const parsed = parseCiphertextForRecipient(ber);
    expect(parsed.encryptedContentForm).to.equal('constructed');
    const key = createPrivateKey(readFileSync(join(dir.path, 'r.key')));
    expect(decryptCiphertextForRecipient(ber, key)).to.deep.equal(pt);

    // and OpenSSL's defaults (SHA-1 OAEP) are refused, as the profile demands
    const sha1 = openssl(['cms', '-encrypt', '-binary', '-in', join(dir.path, 'pt'), '-outform', 'DER', '-recip', join(dir.path, 'r.crt'), '-keyid',
      '-aes-256-cbc', '-keyopt', 'rsa_padding_mode:oaep']);
    expect(sha1.ok, sha1.stderr).to.equal(true);
    expect(() => parseCiphertextForRecipient(new Uint8Array(sha1.stdout))).to.throw(/SHA-256|defaults would mean SHA-1/);
  });
});
