import { expect } from 'chai';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  ES384_PROTECTED_HEADER,
  decodeCoseSign1,
  sigStructure,
  signCoseSign1Es384,
  verifyCoseSign1Es384,
} from '../../shared/attestation/cose.js';
import { encodeStrictCbor } from '../../shared/attestation/strict-cbor.js';
import { fromHex, toHex } from '../../shared/bytes.js';
import { fixturePath } from '../support/fixtures.js';
import { expectCosignerError } from '../support/expect-error.js';

function expectInvalid(fn: () => unknown, pattern: RegExp): void {
  expectCosignerError(fn, 'ATTESTATION_INVALID', pattern);
}

describe('COSE_Sign1 ES384', () => {
  describe('COSE WG example ecdsa-sig-02 (tagged, P-384)', () => {
    // cose-wg/Examples ecdsa-examples/ecdsa-sig-02.json
    const load = () => JSON.parse(readFileSync(fixturePath('cose', 'ecdsa-sig-02.json'), 'utf8'));
    const keyOf = (ex: { input: { sign0: { key: { x: string; y: string } } } }) =>
      createPublicKey({ key: { kty: 'EC', crv: 'P-384', x: ex.input.sign0.key.x, y: ex.input.sign0.key.y }, format: 'jwk' });

    it('rebuilds the exact Sig_structure bytes (ToBeSign_hex)', () => {
      const ex = load();
      const cose = decodeCoseSign1(fromHex(ex.output.cbor));
      expect(cose.tagged).to.equal(true);
      expect(toHex(cose.protectedBytes)).to.equal('a1013822');
      expect(new TextDecoder().decode(cose.payload)).to.equal(ex.input.plaintext);
      expect(toHex(sigStructure(cose.protectedBytes, cose.payload))).to.equal(ex.intermediates.ToBeSign_hex.toLowerCase());
    });

    it('verifies its signature with the example key', () => {
      const ex = load();
      verifyCoseSign1Es384(decodeCoseSign1(fromHex(ex.output.cbor)), keyOf(ex));
    });

    it('rejects the example with any signature byte or payload byte changed', () => {
      const ex = load();
      const good = fromHex(ex.output.cbor);
      const sigStart = good.length - 96;
      const payloadStart = good.indexOf(0x54) + 1; // bstr(20) header of the payload
      for (const pos of [sigStart, sigStart + 47, good.length - 1, payloadStart, payloadStart + 19]) {
        const bad = new Uint8Array(good);
        bad[pos]! ^= 0x01;
        expectInvalid(() => verifyCoseSign1Es384(decodeCoseSign1(bad), keyOf(ex)), /does not verify/);
      }
    });

    it('rejects the example under a different key', () => {
      const ex = load();
      const other = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
      expectInvalid(() => verifyCoseSign1Es384(decodeCoseSign1(fromHex(ex.output.cbor)), other), /does not verify/);
    });
  });

  describe('signing', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const payload = new TextEncoder().encode('payload');

    it('emits untagged COSE_Sign1 with the NSM header and an empty unprotected map', () => {
      const bytes = signCoseSign1Es384(payload, privateKey);
      expect(toHex(bytes.subarray(0, 6))).to.equal('8444a1013822');
      expect(bytes[6]).to.equal(0xa0);
      const cose = decodeCoseSign1(bytes);
      expect(cose.tagged).to.equal(false);
      expect(cose.signature.length).to.equal(96);
      verifyCoseSign1Es384(cose, publicKey);
    });

    it('emits tagged COSE_Sign1 on request (tag 18) that verifies the same way', () => {
      const bytes = signCoseSign1Es384(payload, privateKey, { tagged: true });
      expect(bytes[0]).to.equal(0xd2);
      verifyCoseSign1Es384(decodeCoseSign1(bytes), publicKey);
    });

    it('refuses a P-256 signing key', () => {
      const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      expectInvalid(() => signCoseSign1Es384(payload, p256.privateKey), /P-384/);
      const cose = decodeCoseSign1(signCoseSign1Es384(payload, privateKey));
      expectInvalid(() => verifyCoseSign1Es384(cose, p256.publicKey), /P-384/);
    });
  });

  describe('structure and header checks', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const good = decodeCoseSign1(signCoseSign1Es384(new Uint8Array([1]), privateKey));
    const build = (items: unknown[]) => encodeStrictCbor(items as never);

    it('rejects a protected header with another algorithm (ES256 = -7)', () => {
      const prot = encodeStrictCbor(new Map([[1, -7]]));
      const cose = decodeCoseSign1(build([prot, new Map(), good.payload, good.signature]));
      expectInvalid(() => verifyCoseSign1Es384(cose, publicKey), /ES384/);
    });

    it('rejects alg only in the unprotected header', () => {
      const cose = decodeCoseSign1(build([new Uint8Array(0), new Map([[1, -35]]), good.payload, good.signature]));
      expectInvalid(() => verifyCoseSign1Es384(cose, publicKey), /ES384/);
    });

    it('rejects crit headers', () => {
      const prot = encodeStrictCbor(new Map<number, unknown>([[1, -35], [2, [99]]]) as never);
      const cose = decodeCoseSign1(build([prot, new Map(), good.payload, good.signature]));
      expectInvalid(() => verifyCoseSign1Es384(cose, publicKey), /critical/);
    });

    it('rejects a DER (not raw r||s) or truncated signature', () => {
      const cose = decodeCoseSign1(build([ES384_PROTECTED_HEADER, new Map(), good.payload, good.signature.subarray(0, 95)]));
      expectInvalid(() => verifyCoseSign1Es384(cose, publicKey), /96 bytes/);
    });

    it('rejects other tags, wrong arity, detached payloads and non-map headers', () => {
      expectInvalid(() => decodeCoseSign1(fromHex('d1' + toHex(build([ES384_PROTECTED_HEADER, new Map(), good.payload, good.signature])))), /tag 17/);
      expectInvalid(() => decodeCoseSign1(build([ES384_PROTECTED_HEADER, new Map(), good.payload])), /4 items/);
      expectInvalid(() => decodeCoseSign1(build([ES384_PROTECTED_HEADER, new Map(), null, good.signature])), /attached/);
      expectInvalid(() => decodeCoseSign1(build([ES384_PROTECTED_HEADER, [], good.payload, good.signature])), /unprotected/);
      expectInvalid(() => decodeCoseSign1(build([fromHex('80'), new Map(), good.payload, good.signature])), /encode a map/);
    });
  });
});
