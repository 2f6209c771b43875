import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { seal, unseal, SEALED_OVERHEAD } from '../../enclave/sealing/sealed-blob.js';
import { expectCosignerError } from '../support/expect-error.js';

const ARN = 'arn:aws:kms:us-east-1:111122223333:key/0f0e0d0c-0000-4000-8000-000000000001';

function expectInvalid(fn: () => unknown, reason: RegExp) {
  expectCosignerError(fn, 'SEALED_STATE_INVALID', reason);
}

describe('sealed-state blob', () => {
  const key = new Uint8Array(randomBytes(32));

  it('round trips, with a fresh nonce per seal', () => {
    for (const len of [0, 1, 1000, 100_000]) {
      const pt = new Uint8Array(randomBytes(len));
      const a = seal(pt, key, ARN);
      const b = seal(pt, key, ARN);
      expect(a.length).to.equal(len + SEALED_OVERHEAD);
      expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(false);
      expect(unseal(a, key, ARN)).to.deep.equal(pt);
      expect(Buffer.from(a.subarray(0, 5)).toString('latin1')).to.equal('NCSS\x01');
    }
  });

  it('every flipped bit, truncation, another data key or another KMS key is refused', () => {
    const pt = new Uint8Array(randomBytes(64));
    const blob = seal(pt, key, ARN);
    for (let i = 0; i < blob.length; i++) {
      const t = new Uint8Array(blob);
      t[i] ^= 1 << (i % 8);
      expectInvalid(() => unseal(t, key, ARN), /bad magic|unsupported format version|authentication failed/);
    }
    for (const n of [0, 4, SEALED_OVERHEAD - 1]) expectInvalid(() => unseal(blob.subarray(0, n), key, ARN), /truncated/);
    expectInvalid(() => unseal(blob.subarray(0, blob.length - 1), key, ARN), /authentication failed/);
    expectInvalid(() => unseal(blob, new Uint8Array(randomBytes(32)), ARN), /another data key/);
    expectInvalid(() => unseal(blob, key, ARN.replace(/1$/, '2')), /authentication failed/);
    const v2 = new Uint8Array(blob);
    v2[4] = 2;
    expectInvalid(() => unseal(v2, key, ARN), /unsupported format version 2/);
    expectInvalid(() => seal(pt, new Uint8Array(16), ARN), /32 bytes/);
  });
});
