import { expect } from 'chai';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseCiphertextForRecipient, decryptCiphertextForRecipient } from '../../shared/kms/cms.js';
import { buildCiphertextForRecipient } from '../../shared/kms/cms-build.js';
import { OID } from '../../shared/kms/oids.js';
import { isCosignerError } from '../../shared/errors.js';
import { kmsCmsFixture } from '../support/fixtures.js';

/** Element skeleton of a BER encoding: tag, indefinite-or-not, children — written independently of asn1js. */
type Node = { tag: number; indefinite: boolean; children?: Node[] };
function skeleton(b: Uint8Array, start = 0, end = b.length): Node[] {
  const out: Node[] = [];
  let i = start;
  while (i < end) {
    const tag = b[i++]!;
    if (tag === 0 && b[i] === 0) { i++; break; } // end-of-contents
    let len = b[i++]!;
    let indefinite = false;
    if (len === 0x80) indefinite = true;
    else if (len > 0x80) { const n = len & 0x7f; len = 0; for (let k = 0; k < n; k++) len = len * 256 + b[i++]!; }
    if (tag & 0x20) {
      if (indefinite) {
        const [children, next] = skeletonUntilEoc(b, i);
        out.push({ tag, indefinite, children });
        i = next;
      } else {
        out.push({ tag, indefinite, children: skeleton(b, i, i + len) });
        i += len;
      }
    } else {
      out.push({ tag, indefinite });
      i += len;
    }
  }
  return out;
}
function skeletonUntilEoc(b: Uint8Array, i: number): [Node[], number] {
  const children: Node[] = [];
  while (!(b[i] === 0 && b[i + 1] === 0)) {
    const start = i;
    const one = skeleton(b, start, start + elementLength(b, start));
    children.push(one[0]!);
    i = start + elementLength(b, start);
  }
  return [children, i + 2];
}
function elementLength(b: Uint8Array, i: number): number {
  const start = i;
  i++;
  let len = b[i++]!;
  if (len === 0x80) {
    while (!(b[i] === 0 && b[i + 1] === 0)) i += elementLength(b, i);
    return i + 2 - start;
  }
  if (len > 0x80) { const n = len & 0x7f; len = 0; for (let k = 0; k < n; k++) len = len * 256 + b[i++]!; }
  return i - start + len;
}

function expectCmsInvalid(fn: () => unknown, reason?: RegExp) {
  try {
    fn();
  } catch (e) {
    expect(isCosignerError(e, 'CMS_INVALID'), String(e)).to.equal(true);
    if (reason) expect((e as Error).message).to.match(reason);
    return;
  }
  expect.fail('expected CMS_INVALID');
}

describe('CMS CiphertextForRecipient', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = new Uint8Array(rsa.publicKey.export({ format: 'der', type: 'spki' }));

  for (const [name, form] of [['kms-recipient-primitive.ber', 'primitive'], ['kms-recipient-constructed.ber', 'constructed']] as const) {
    it(`parses the real KMS response ${name}`, function () {
      const ber = kmsCmsFixture(name);
      const p = parseCiphertextForRecipient(ber);
      expect(p.envelopedDataVersion).to.equal(2);
      expect(p.recipient.version).to.equal(2);
      expect(p.recipient.keyEncryptionAlgorithm).to.equal('1.2.840.113549.1.1.7');
      expect(p.recipient.oaepHash).to.equal('2.16.840.1.101.3.4.2.1');
      expect(p.recipient.maskGenAlgorithm).to.equal('1.2.840.113549.1.1.8');
      expect(p.recipient.mgfHash).to.equal('2.16.840.1.101.3.4.2.1');
      expect(p.recipient.subjectKeyIdentifier.length).to.equal(32);
      expect(p.recipient.encryptedKey.length).to.equal(256); // RSA-2048
      expect(p.contentType).to.equal('1.2.840.113549.1.7.1');
      expect(p.contentEncryptionAlgorithm).to.equal('2.16.840.1.101.3.4.1.42');
      expect(p.iv.length).to.equal(16);
      expect(p.encryptedContentForm).to.equal(form);
      expect(p.encryptedContent.length).to.equal(form === 'primitive' ? 16 : 48);
    });
  }

  it('builds the same BER structure as KMS (both encryptedContent forms)', function () {
    for (const [name, form, ptLen] of [['kms-recipient-primitive.ber', 'primitive', 8], ['kms-recipient-constructed.ber', 'constructed', 40]] as const) {
      const real = kmsCmsFixture(name);
      const ours = buildCiphertextForRecipient(randomBytes(ptLen), spki, { encryptedContentForm: form });
      expect(skeleton(ours)).to.deep.equal(skeleton(real));
      // and the skeleton walker does see the difference between the two forms
      expect(skeleton(ours)).to.not.deep.equal(skeleton(kmsCmsFixture(form === 'primitive' ? 'kms-recipient-constructed.ber' : 'kms-recipient-primitive.ber')));
    }
  });

  it('build → parse → decrypt round trip, both forms, several sizes', () => {
    for (const form of ['primitive', 'constructed'] as const) {
      for (const len of [0, 1, 15, 16, 32, 1000, 4096]) {
        const pt = new Uint8Array(randomBytes(len));
        const ber = buildCiphertextForRecipient(pt, spki, { encryptedContentForm: form });
        const parsed = parseCiphertextForRecipient(ber);
        expect(parsed.encryptedContentForm).to.equal(form);
        expect(parsed.encryptedContent.length).to.equal((Math.floor(len / 16) + 1) * 16);
        expect(decryptCiphertextForRecipient(ber, rsa.privateKey)).to.deep.equal(pt);
      }
    }
  });

  it('fails with another RSA key', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ber = buildCiphertextForRecipient(randomBytes(32), spki);
    expectCmsInvalid(() => decryptCiphertextForRecipient(ber, other.privateKey), /RSAES-OAEP/);
  });

  it('tampered structures are CMS_INVALID; only CBC-malleable bytes can change the output', () => {
    const pt = new Uint8Array(randomBytes(32));
    const ber = buildCiphertextForRecipient(pt, spki, { encryptedContentForm: 'primitive' });
    const parsed = parseCiphertextForRecipient(ber);
    const find = (needle: Uint8Array) => Buffer.from(ber).indexOf(Buffer.from(needle));
    const ski = find(parsed.recipient.subjectKeyIdentifier);
    const iv = find(parsed.iv);
    const content = find(parsed.encryptedContent);
    const inRange = (i: number, at: number, len: number) => i >= at && i < at + len;
    let rejected = 0;
    // Flip one bit at every offset. Unauthenticated CBC (as in AWS's format) lets IV and content bits
    // alter the output, and the rid is informational; any other change must be rejected.
    for (let i = 0; i < ber.length; i++) {
      const t = new Uint8Array(ber);
      t[i] ^= 0x01;
      let out: Uint8Array;
      try {
        out = decryptCiphertextForRecipient(t, rsa.privateKey);
      } catch (e) {
        expect(isCosignerError(e, 'CMS_INVALID'), `offset ${i}: ${String(e)}`).to.equal(true);
        rejected++;
        continue;
      }
      const same = Buffer.from(out).equals(Buffer.from(pt));
      if (same) expect(inRange(i, ski, 32), `offset ${i} accepted unchanged`).to.equal(true);
      else expect(inRange(i, iv, 16) || inRange(i, content, parsed.encryptedContent.length), `offset ${i} changed the output`).to.equal(true);
    }
    expect(rejected).to.be.greaterThan(ber.length - 32 - 16 - parsed.encryptedContent.length - 8);
  });

  it('rejects truncation and trailing bytes', () => {
    const ber = buildCiphertextForRecipient(randomBytes(32), spki);
    for (const cut of [1, 2, 10, ber.length - 1]) expectCmsInvalid(() => parseCiphertextForRecipient(ber.subarray(0, ber.length - cut)));
    expectCmsInvalid(() => parseCiphertextForRecipient(new Uint8Array([...ber, 0])), /trailing/);
    expectCmsInvalid(() => parseCiphertextForRecipient(new Uint8Array()), /empty/);
  });

  it('rejects other algorithms, several recipients and a wrong IV size', () => {
    const ber = buildCiphertextForRecipient(randomBytes(32), spki, { encryptedContentForm: 'primitive' });
    const hex = Buffer.from(ber).toString('hex');
    const swap = (from: string, to: string) => {
      expect(hex.includes(from), `pattern ${from}`).to.equal(true);
      return new Uint8Array(Buffer.from(hex.replace(from, to), 'hex'));
    };
    // AES-256-CBC (…01 2a) → AES-128-CBC (…01 02)
    expectCmsInvalid(() => parseCiphertextForRecipient(swap('060960864801650304012a', '0609608648016503040102')), /AES-256-CBC/);
    // OAEP hash SHA-256 → SHA-384 (first occurrence is the OAEP hash)
    expectCmsInvalid(() => parseCiphertextForRecipient(swap('0609608648016503040201', '0609608648016503040202')), /SHA-256/);
    // RSAES-OAEP → rsaEncryption (PKCS#1 v1.5)
    expectCmsInvalid(() => parseCiphertextForRecipient(swap('06092a864886f70d010107', '06092a864886f70d010101')), /RSAES-OAEP/);
    // 16-byte IV → 12-byte IV (keep the outer SEQUENCE length consistent: 0x1d → 0x19)
    const ivAt = hex.indexOf('0410', hex.indexOf('060960864801650304012a'));
    const iv12 = hex.slice(0, ivAt) + '040c' + hex.slice(ivAt + 4, ivAt + 4 + 24) + hex.slice(ivAt + 4 + 32);
    const fixedLen = iv12.replace('301d060960864801650304012a', '3019060960864801650304012a');
    expectCmsInvalid(() => parseCiphertextForRecipient(new Uint8Array(Buffer.from(fixedLen, 'hex'))), /IV is 12 bytes/);
    // Two recipients: duplicate the KeyTransRecipientInfo inside the SET.
    const setAt = hex.indexOf('3182');
    const setLen = parseInt(hex.slice(setAt + 4, setAt + 8), 16);
    const ktri = hex.slice(setAt + 8, setAt + 8 + setLen * 2);
    const twoLen = (setLen * 2).toString(16).padStart(4, '0');
    const two = hex.slice(0, setAt) + '3182' + twoLen + ktri + ktri + hex.slice(setAt + 8 + setLen * 2);
    expectCmsInvalid(() => parseCiphertextForRecipient(new Uint8Array(Buffer.from(two, 'hex'))), /2 recipients/);
    expect(OID.aes256Cbc).to.equal('2.16.840.1.101.3.4.1.42');
  });
});
