// The fuzz harness itself must be able to fail: an untyped error, a wrong code or a slow parse is
// a violation; the valid inputs the targets mutate are really valid (so "a mutated document never
// verifies" is not vacuously true).
import { expect } from 'chai';
import fc from 'fast-check';
import { CosignerError } from '../../shared/errors.js';
import { PropertyViolation, requireTyped, typedOnly } from './support/target.js';
import { applyMutation, deepBer, deepCbor } from './support/mutate.js';
import { decodeStrictCbor } from '../../shared/attestation/strict-cbor.js';
import { sealedBlobTarget, FUZZ_DATA_KEY, FUZZ_KEY_ARN } from './targets/sealing.js';
import { poolChain, verifyTarget } from './targets/attestation.js';
import { readFixtureDocument } from '../support/fixtures.js';
import { signAttestationDocument } from '../../emulators/nsm/document.js';
import { testDocumentFields } from '../attestation/chain-builder.js';
import { verifyAttestationDocument } from '../../shared/attestation/verify.js';
import { seal, unseal } from '../../enclave/sealing/sealed-blob.js';
import { checkBerStructure } from '../../shared/kms/ber-check.js';

describe('fuzz harness', () => {
  it('a TypeError, a RangeError or a non-error thrown is a violation; a CosignerError is not', () => {
    expect(() => requireTyped(new TypeError('x'))).to.throw(PropertyViolation, /untyped error: TypeError/);
    expect(() => requireTyped(new RangeError('Maximum call stack size exceeded'))).to.throw(PropertyViolation, /RangeError/);
    expect(() => requireTyped('oops')).to.throw(PropertyViolation, /non-error/);
    expect(requireTyped(new CosignerError('CMS_INVALID', 'bad')).code).to.equal('CMS_INVALID');
    expect(() => requireTyped(new CosignerError('INTERNAL', 'bad'), ['CMS_INVALID'])).to.throw(PropertyViolation, /unexpected error code INTERNAL/);
  });

  it('typedOnly reports a value, a typed error, and a parse that runs past its bound', () => {
    expect(typedOnly(new Uint8Array(1), () => 7)).to.deep.equal({ ok: true, value: 7 });
    expect(typedOnly(new Uint8Array(1), () => { throw new CosignerError('FRAME_NOT_CBOR', 'x'); }).ok).to.equal(false);
    expect(() => typedOnly(new Uint8Array(0), () => { const end = performance.now() + 2_100; while (performance.now() < end); })).to.throw(PropertyViolation, /took \d+ ms/);
  });

  it('mutations change bytes as described and the deep generators nest as deep as asked', () => {
    const b = Uint8Array.of(1, 2, 3, 4);
    expect([...applyMutation(b, { op: 'flip', bits: [0, 9] }, b)]).to.deep.equal([0, 0, 3, 4]);
    expect([...applyMutation(b, { op: 'truncate', at: 2 }, b)]).to.deep.equal([1, 2]);
    expect([...applyMutation(b, { op: 'splice', at: 1, from: 2 }, Uint8Array.of(9, 8, 7))]).to.deep.equal([1, 7]);
    expect([...applyMutation(b, { op: 'duplicate', at: 1, count: 2 }, b)]).to.deep.equal([1, 2, 3, 2, 3, 4]);
    expect(() => decodeStrictCbor(deepCbor('array', 17))).to.throw(/nesting too deep/);
    expect(decodeStrictCbor(deepCbor('array', 16))).to.be.an('array');
    expect(() => checkBerStructure(deepBer(30, true))).to.throw(/nesting too deep/);
    checkBerStructure(deepBer(20, false));
  });

  it('the attestation pool documents verify, and the property flags a document that verifies but was never signed', async () => {
    await verifyTarget.setup!();
    const [doc] = fc.sample(verifyTarget.input, { seed: 1, numRuns: 1 });
    expect(doc).to.be.instanceOf(Uint8Array);
    // The production fixture is in the pool and verifies: check() passes on it.
    await verifyTarget.check(readFixtureDocument('production'));
    // A genuine signature over content the pool never signed stands for a forgery: flagged.
    const chain = poolChain();
    const unpooled = signAttestationDocument({ ...testDocumentFields(chain), nonce: new Uint8Array(16).fill(0xab) }, chain.leaf.key);
    await verifyAttestationDocument(unpooled, { root: chain.root.der, allowDebug: true });
    let err: unknown;
    try { await verifyTarget.check(unpooled); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(PropertyViolation);
  });

  it('the sealed-blob pool opens under the fuzz key, and the property flags a blob that opens but is not in the pool', () => {
    const valid = fc.sample(sealedBlobTarget.input, { seed: 3, numRuns: 200 }).find((x) => {
      try { unseal(x, FUZZ_DATA_KEY, FUZZ_KEY_ARN); return true; } catch { return false; }
    });
    expect(valid, 'some generated blobs are genuine').to.not.equal(undefined);
    sealedBlobTarget.check(valid!);
    // A blob that opens under the key but was not in the pool stands for a forgery: flagged.
    expect(() => sealedBlobTarget.check(seal(new Uint8Array(8), FUZZ_DATA_KEY, FUZZ_KEY_ARN))).to.throw(PropertyViolation, /mutated sealed blob verified/);
  });
});
