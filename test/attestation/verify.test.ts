import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { AWS_NITRO_ROOT_G1_DER, AWS_NITRO_ROOT_G1_PEM, AWS_NITRO_ROOT_G1_SHA256 } from '../../shared/attestation/aws-root.js';
import { decodeCoseSign1 } from '../../shared/attestation/cose.js';
import { certificateDer, certificateFingerprint, pinnedRootDer } from '../../shared/attestation/root-pin.js';
import { decodeStrictCbor, encodeStrictCbor, type CborKey, type CborValue } from '../../shared/attestation/strict-cbor.js';
import { parseAttestationDocument, verifyAttestationDocument, type VerifyOptions } from '../../shared/attestation/verify.js';
import { fromHex, toHex } from '../../shared/bytes.js';
import { isCosignerError } from '../../shared/errors.js';
import { encodeAttestationPayload } from '../../emulators/nsm/document.js';
import { signCoseSign1Es384 } from '../../shared/attestation/cose.js';
import { AWS_ROOT_NAME, buildChain, signTestDocument, standardLevels, testDocumentFields, testPcrs, type LevelSpec } from './chain-builder.js';
import { DEBUG_TIMESTAMP, PRODUCTION_TIMESTAMP, readAwsRootPem, readFixtureDocument } from '../support/fixtures.js';

async function expectRejected(doc: Uint8Array, opts: VerifyOptions, pattern?: RegExp): Promise<string> {
  try {
    await verifyAttestationDocument(doc, opts);
  } catch (e) {
    expect(isCosignerError(e, 'ATTESTATION_INVALID'), String(e)).to.equal(true);
    if (pattern) expect((e as Error).message).to.match(pattern);
    return (e as Error).message;
  }
  return expect.fail('document was accepted');
}

const PROD_AT = new Date(PRODUCTION_TIMESTAMP);
// PCR0 of the recorded production document (a fact of the fixture, printed by nitrite too).
const PROD_PCR0 = 'e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a';

describe('attestation verifier', () => {
  describe('pinned AWS root', () => {

    it('the fixture root has the documented fingerprint and equals the embedded root', () => {
      expect(certificateFingerprint(readAwsRootPem())).to.equal('641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b');
      expect(AWS_NITRO_ROOT_G1_SHA256).to.equal(certificateFingerprint(readAwsRootPem()));
      expect(toHex(AWS_NITRO_ROOT_G1_DER)).to.equal(toHex(certificateDer(readAwsRootPem())));
      expect(new X509Certificate(AWS_NITRO_ROOT_G1_DER).subject).to.contain('CN=aws.nitro-enclaves');
    });

    it('pinnedRootDer refuses a PEM with another fingerprint', () => {
      const other = buildChain().root.der;
      expect(() => pinnedRootDer(other, AWS_NITRO_ROOT_G1_SHA256)).to.throw(/does not match the pinned/);
      expect(toHex(pinnedRootDer(AWS_NITRO_ROOT_G1_PEM, AWS_NITRO_ROOT_G1_SHA256.toUpperCase()))).to.equal(toHex(AWS_NITRO_ROOT_G1_DER));
    });

    it('refuses PEM text with zero or two certificates', () => {
      expect(() => certificateDer('no pem here')).to.throw(/exactly one/);
      expect(() => certificateDer(AWS_NITRO_ROOT_G1_PEM + AWS_NITRO_ROOT_G1_PEM)).to.throw(/exactly one/);
    });
  });

  describe('real documents', () => {

    it('verifies the production document at its own timestamp against the pinned root', async () => {
      const d = await verifyAttestationDocument(readFixtureDocument('production'), { root: readAwsRootPem(), at: PROD_AT });
      expect(d.moduleId).to.equal('i-0a22e5c5f24d22174-enc0191cceb4289903f');
      expect(d.timestamp).to.equal(PRODUCTION_TIMESTAMP);
      expect(d.digest).to.equal('SHA384');
      expect(d.debug).to.equal(false);
      expect([...d.pcrs.keys()]).to.deep.equal([...Array(16).keys()]);
      expect(toHex(d.pcrs.get(0)!)).to.equal(PROD_PCR0);
      expect(d.cabundle.length).to.equal(4);
      for (const f of [d.publicKey, d.userData, d.nonce]) {
        expect(f!.length).to.equal(1024);
        expect(f!.every((b) => b === 0x01)).to.equal(true);
      }
    });

    it('accepts the same document tagged as COSE_Sign1 (tag 18), refuses other tags', async () => {
      const untagged = readFixtureDocument('production');
      const tagged = new Uint8Array([0xd2, ...untagged]);
      const d = await verifyAttestationDocument(tagged, { root: readAwsRootPem(), at: PROD_AT });
      expect(d.moduleId).to.equal('i-0a22e5c5f24d22174-enc0191cceb4289903f');
      await expectRejected(new Uint8Array([0xd1, ...untagged]), { root: readAwsRootPem(), at: PROD_AT }, /unexpected tag 17/);
    });

    it('accepts the root as DER as well as PEM', async () => {
      await verifyAttestationDocument(readFixtureDocument('production'), { root: AWS_NITRO_ROOT_G1_DER, at: PROD_AT });
    });

    it('verifies the debug document only with allowDebug', async () => {
      const doc = readFixtureDocument('debug');
      const at = new Date(DEBUG_TIMESTAMP);
      await expectRejected(doc, { root: readAwsRootPem(), at }, /debug mode/);
      const d = await verifyAttestationDocument(doc, { root: readAwsRootPem(), at, allowDebug: true });
      expect(d.debug).to.equal(true);
      expect(d.pcrs.get(4)!.some((b) => b !== 0)).to.equal(true);
    });

    it('accepts at the first and last second of the leaf validity, rejects just outside', async () => {
      const doc = readFixtureDocument('production');
      const root = readAwsRootPem();
      // leaf valid 2024-09-07T14:37:36Z .. 17:37:39Z (fixtures README)
      await verifyAttestationDocument(doc, { root, at: new Date('2024-09-07T14:37:36.000Z') });
      await verifyAttestationDocument(doc, { root, at: new Date('2024-09-07T17:37:39.000Z') });
      await expectRejected(doc, { root, at: new Date('2024-09-07T14:37:35.999Z') }, /^certificate: not valid before/);
      await expectRejected(doc, { root, at: new Date('2024-09-07T17:37:39.001Z') }, /^certificate: expired/);
      await expectRejected(doc, { root }, /^certificate: expired/); // now
    });

    it('rejects the production document under a wrong root', async () => {
      const doc = readFixtureDocument('production');
      await expectRejected(doc, { root: buildChain().root.der, at: PROD_AT }, /cabundle\[0\] is not the pinned root/);
    });

    it('rejects any single changed byte in the protected header, payload, certificate, cabundle and signature', async () => {
      const good = readFixtureDocument('production');
      const cose = decodeCoseSign1(good);
      const hexOf = (b: Uint8Array) => Buffer.from(good).indexOf(Buffer.from(b));
      const payloadAt = hexOf(cose.payload);
      const payload = decodeStrictCbor(cose.payload) as Map<CborKey, CborValue>;
      const certAt = hexOf(payload.get('certificate') as Uint8Array);
      const bundleAt = hexOf((payload.get('cabundle') as Uint8Array[])[2]!);
      const pcr0At = hexOf(payload.get('pcrs') instanceof Map ? ((payload.get('pcrs') as Map<CborKey, CborValue>).get(0) as Uint8Array) : new Uint8Array());
      const nonceAt = payloadAt + cose.payload.length - 1024;
      const sigAt = good.length - 96;
      const positions = new Map<string, number[]>([
        ['array head', [0]],
        ['protected header', [1, 2, 3, 4]],
        ['unprotected header', [5]],
        ['payload head', [6, 7, 8]],
        ['payload: module_id', [payloadAt + 12, payloadAt + 20]],
        ['payload: PCR0', [pcr0At, pcr0At + 47]],
        ['certificate: serial/subject', [certAt + 20, certAt + 150]],
        ['certificate: public key', [certAt + 300]],
        ['certificate: signature', [certAt + (payload.get('certificate') as Uint8Array).length - 1]],
        ['cabundle[2]', [bundleAt + 100, bundleAt + 500]],
        ['nonce', [nonceAt, nonceAt + 1023]],
        ['signature', [sigAt, sigAt + 47, sigAt + 48, good.length - 1]],
      ]);
      for (const [label, offsets] of positions) {
        for (const off of offsets) {
          for (const mask of [0x01, 0x80]) {
            const bad = new Uint8Array(good);
            bad[off]! ^= mask;
            await expectRejected(bad, { root: readAwsRootPem(), at: PROD_AT }).catch((e) => {
              throw new Error(`${label} @${off} ^${mask}: ${(e as Error).message}`);
            });
          }
        }
      }
      // and a sweep over the whole document, one byte in every 97 (an exhaustive run over all 15 078 single-bit flips was done offline: all rejected)
      for (let off = 0; off < good.length; off += 97) {
        const bad = new Uint8Array(good);
        bad[off] = (bad[off]! + 1) & 0xff;
        await expectRejected(bad, { root: readAwsRootPem(), at: PROD_AT }).catch((e) => {
          throw new Error(`sweep @${off}: ${(e as Error).message}`);
        });
      }
    });

    it('rejects a document whose cabundle[0] is replaced by an attacker root', async () => {
      const good = readFixtureDocument('production');
      const cose = decodeCoseSign1(good);
      const payload = decodeStrictCbor(cose.payload) as Map<CborKey, CborValue>;
      const attacker = buildChain(standardLevels(), { rootName: AWS_ROOT_NAME });
      payload.set('cabundle', [attacker.root.der, ...(payload.get('cabundle') as Uint8Array[]).slice(1)]);
      // Re-signing is impossible without AWS's leaf key; the attacker signs with its own leaf instead.
      payload.set('certificate', attacker.leaf.der);
      const forged = signCoseSign1Es384(encodeStrictCbor(payload), attacker.leaf.key);
      await expectRejected(forged, { root: readAwsRootPem(), at: new Date() }, /cabundle\[0\] is not the pinned root/);
    });

    it('rejects an attacker chain hung below a genuine AWS root in cabundle[0]', async () => {
      const attacker = buildChain(standardLevels(), { rootName: AWS_ROOT_NAME });
      const forged = signTestDocument({ ...attacker, cabundle: [AWS_NITRO_ROOT_G1_DER, ...attacker.cabundle.slice(1)] });
      await expectRejected(forged, { root: readAwsRootPem() }, /^cabundle\[1\]: (not issued by root|signature by root does not verify)/);
    });

    it('checks expected PCRs and names the mismatching index', async () => {
      const doc = readFixtureDocument('production');
      const root = readAwsRootPem();
      await verifyAttestationDocument(doc, { root, at: PROD_AT, expectedPcrs: { 0: fromHex(PROD_PCR0), 3: new Uint8Array(48) } });
      const wrong = fromHex(PROD_PCR0);
      wrong[47]! ^= 1;
      await expectRejected(doc, { root, at: PROD_AT, expectedPcrs: { 0: wrong } }, /^PCR0 does not match/);
      await expectRejected(doc, { root, at: PROD_AT, expectedPcrs: { 8: new Uint8Array(48).fill(1) } }, /^PCR8 does not match/);
      await expectRejected(doc, { root, at: PROD_AT, expectedPcrs: { 20: new Uint8Array(48) } }, /^PCR20 is absent/);
    });

    it('checks the expected nonce and the maximum age', async () => {
      const doc = readFixtureDocument('production');
      const root = readAwsRootPem();
      await verifyAttestationDocument(doc, { root, at: PROD_AT, expectedNonce: new Uint8Array(1024).fill(1) });
      await expectRejected(doc, { root, at: PROD_AT, expectedNonce: new Uint8Array(1024).fill(2) }, /nonce/);
      await verifyAttestationDocument(doc, { root, at: new Date(PRODUCTION_TIMESTAMP + 1000), maxAgeMs: 5000 });
      await expectRejected(doc, { root, at: new Date(PRODUCTION_TIMESTAMP + 6000), maxAgeMs: 5000 }, /ms old/);
      await expectRejected(doc, { root, at: new Date(PRODUCTION_TIMESTAMP - 61_000 + 3000), maxAgeMs: 5000 }, /not valid before|in the future/);
    });
  });

  describe('certificate path rules (hand-made chains)', () => {
    const verifyWith = (levels: LevelSpec[], fields = {}) => {
      const chain = buildChain(levels);
      return { doc: signTestDocument(chain, fields), root: chain.root.der };
    };

    it('accepts a well-formed chain (control)', async () => {
      const { doc, root } = verifyWith(standardLevels());
      const d = await verifyAttestationDocument(doc, { root });
      expect(d.cabundle.length).to.equal(4);
    });

    it('rejects an intermediate that is not a CA', async () => {
      const levels = standardLevels();
      levels[2] = { ...levels[2]!, caPathLength: undefined };
      const { doc, root } = verifyWith(levels);
      await expectRejected(doc, { root }, /cabundle\[2\]: issues certificates but is not a CA/);
    });

    it('rejects a chain longer than a path length constraint allows', async () => {
      const levels = standardLevels();
      levels[1] = { ...levels[1]!, caPathLength: 1 }; // regional allows 1 intermediate below, has 2
      const { doc, root } = verifyWith(levels);
      await expectRejected(doc, { root }, /cabundle\[1\]: path length constraint 1 exceeded by 2/);
    });

    it('rejects a CA without keyCertSign', async () => {
      const levels = standardLevels();
      levels[3] = { ...levels[3]!, keyUsage: ['digitalSignature'] };
      const { doc, root } = verifyWith(levels);
      await expectRejected(doc, { root }, /cabundle\[3\]: (key usage lacks keyCertSign|not issued)/);
    });

    it('rejects a signer without digitalSignature, and a signer that is a CA', async () => {
      const a = standardLevels();
      a[4] = { ...a[4]!, keyUsage: ['nonRepudiation'] };
      let v = verifyWith(a);
      await expectRejected(v.doc, { root: v.root }, /certificate: key usage lacks digitalSignature/);
      const b = standardLevels();
      b[4] = { ...b[4]!, caPathLength: 0, keyUsage: ['digitalSignature', 'keyCertSign'] };
      v = verifyWith(b);
      await expectRejected(v.doc, { root: v.root }, /certificate: the signing certificate must not be a CA/);
    });

    it('rejects an expired or not-yet-valid intermediate', async () => {
      const now = Date.now();
      const a = standardLevels();
      a[2] = { ...a[2]!, notBefore: new Date(now - 7200_000), notAfter: new Date(now - 3600_000) };
      let v = verifyWith(a);
      await expectRejected(v.doc, { root: v.root }, /cabundle\[2\]: expired/);
      const b = standardLevels();
      b[1] = { ...b[1]!, notBefore: new Date(now + 3600_000), notAfter: new Date(now + 7200_000) };
      v = verifyWith(b);
      await expectRejected(v.doc, { root: v.root }, /cabundle\[1\]: not valid before/);
    });

    it('rejects a document signed by a key other than the certificate’s', async () => {
      const chain = buildChain();
      const other = buildChain();
      const doc = signTestDocument({ ...chain, leaf: { ...chain.leaf, key: other.leaf.key } });
      await expectRejected(doc, { root: chain.root.der }, /ES384 signature does not verify/);
    });

    it('rejects a signing certificate from a different chain under the same root name', async () => {
      const chain = buildChain();
      const other = buildChain();
      const doc = signTestDocument({ ...chain, leaf: other.leaf });
      await expectRejected(doc, { root: chain.root.der }, /certificate: (not issued|signature by)/);
    });
  });

  describe('syntax (AWS "Verifying the root of trust")', () => {
    const chain = buildChain();
    const base = testDocumentFields(chain);
    const resign = (payload: Map<CborKey, CborValue>) => signCoseSign1Es384(encodeStrictCbor(payload), chain.leaf.key);
    const payloadMap = () => decodeStrictCbor(encodeAttestationPayload(base)) as Map<CborKey, CborValue>;
    const expectSyntax = (doc: Uint8Array, pattern: RegExp) => {
      expect(() => parseAttestationDocument(doc)).to.throw(pattern);
      return expectRejected(doc, { root: chain.root.der }, pattern);
    };

    it('accepts boundary sizes: 1024-byte fields, empty user_data and nonce', async () => {
      const doc = signTestDocument(chain, { publicKey: new Uint8Array(1024), userData: new Uint8Array(0), nonce: new Uint8Array(1024) });
      const d = await verifyAttestationDocument(doc, { root: chain.root.der });
      expect(d.userData!.length).to.equal(0);
      expect(d.nonce!.length).to.equal(1024);
    });

    it('rejects PCRs that are not SHA384-sized (the digest field says SHA384)', async () => {
      for (const len of [32, 64]) {
        const pcrs = testPcrs();
        pcrs.set(16, new Uint8Array(len).fill(5));
        await expectSyntax(signTestDocument(chain, { pcrs }), /PCR16 must be 48 bytes/);
      }
    });

    it('rejects out-of-bounds field sizes', async () => {
      await expectSyntax(signTestDocument(chain, { publicKey: new Uint8Array(1025) }), /public_key must be 1\.\.1024 bytes/);
      await expectSyntax(signTestDocument(chain, { publicKey: new Uint8Array(0) }), /public_key must be 1\.\.1024 bytes/);
      await expectSyntax(signTestDocument(chain, { userData: new Uint8Array(1025) }), /user_data/);
      await expectSyntax(signTestDocument(chain, { nonce: new Uint8Array(1025) }), /nonce/);
      await expectSyntax(signTestDocument(chain, { moduleId: '' }), /module_id/);
      await expectSyntax(signTestDocument(chain, { timestamp: 0 }), /timestamp/);
      await expectSyntax(signTestDocument(chain, { cabundle: [] }), /cabundle must be a non-empty array/);
      await expectSyntax(signTestDocument(chain, { cabundle: [...chain.cabundle, new Uint8Array(1025)] }), /cabundle\[4\] must be 1\.\.1024 bytes/);
    });

    it('rejects bad PCR maps', async () => {
      const p47 = testPcrs();
      p47.set(5, new Uint8Array(47));
      await expectSyntax(signTestDocument(chain, { pcrs: p47 }), /PCR5 must be 48 bytes/);
      await expectSyntax(signTestDocument(chain, { pcrs: new Map() }), /pcrs must hold 1\.\.32 entries/);
      const p33 = new Map<number, Uint8Array>();
      for (let i = 0; i < 33; i++) p33.set(i, new Uint8Array(48));
      await expectSyntax(signTestDocument(chain, { pcrs: p33 }), /pcrs must hold 1\.\.32 entries|PCR index 32/);
      const textKey = payloadMap();
      textKey.set('pcrs', new Map<CborKey, CborValue>([['0', new Uint8Array(48)]]));
      await expectSyntax(resign(textKey), /PCR index 0 is not an integer/);
    });

    it('rejects wrong digest, unknown and missing fields, wrong types', async () => {
      let m = payloadMap();
      m.set('digest', 'SHA256');
      await expectSyntax(resign(m), /digest must be "SHA384"/);
      m = payloadMap();
      m.set('extra', 1);
      await expectSyntax(resign(m), /unknown field "extra"/);
      m = payloadMap();
      m.delete('certificate');
      await expectSyntax(resign(m), /missing field certificate/);
      m = payloadMap();
      m.set('timestamp', '1725719859545');
      await expectSyntax(resign(m), /timestamp/);
      m = payloadMap();
      m.set('user_data', 'text');
      await expectSyntax(resign(m), /user_data must be a byte string/);
    });

    it('accepts absent optional fields like null ones', async () => {
      const m = payloadMap();
      m.delete('public_key');
      m.delete('nonce');
      const d = await verifyAttestationDocument(resign(m), { root: chain.root.der });
      expect(d.publicKey).to.equal(null);
      expect(d.nonce).to.equal(null);
    });

    it('rejects empty, oversized and non-COSE input', async () => {
      await expectRejected(new Uint8Array(0), { root: chain.root.der }, /size 0/);
      await expectRejected(new Uint8Array(0x3001), { root: chain.root.der }, /size 12289/);
      await expectRejected(fromHex('a0'), { root: chain.root.der }, /COSE_Sign1 array/);
    });

    it('refuses an invalid verification time', async () => {
      await expectRejected(signTestDocument(chain), { root: chain.root.der, at: new Date('nope') }, /not a valid date/);
    });
  });
});
