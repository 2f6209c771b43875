// checkRawMessages (enclave/signing/raw-check.ts): RAW content is signed only when byte-equal to
// the payload the callback approved for its message index, and of the size its algorithm signs.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { checkRawMessages } from '../../enclave/signing/raw-check.js';
import { expectCosignerError } from '../support/expect-error.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (n: number) => new Uint8Array(randomBytes(n));

describe('enclave: checkRawMessages (enclave/signing/raw-check.ts)', () => {
  it('returns the approved bytes of each ECDSA message', () => {
    const approved = [bytes(32), bytes(32)];
    const out = checkRawMessages('MPC_ECDSA_SECP256K1', approved.map((a, index) => ({ index, content: hex(a) })), approved);
    expect(out.map(hex)).to.deep.equal(approved.map(hex));
  });
  it('accepts Ed25519 and BIP-340 messages of 1 and 4096 bytes', () => {
    for (const algorithm of ['MPC_EDDSA_ED25519', 'MPC_BIP340_SECP256K1'] as const) {
      const approved = [bytes(1), bytes(4096)];
      expect(checkRawMessages(algorithm, approved.map((a, index) => ({ index, content: hex(a) })), approved).map((b) => b.length)).to.deep.equal([1, 4096]);
    }
  });
  it('matches messages by index (a re-issued item with messages 1 and 3)', () => {
    const approved = [bytes(32), bytes(32), bytes(32), bytes(32)];
    const out = checkRawMessages('MPC_ECDSA_SECP256K1', [{ index: 1, content: hex(approved[1]!) }, { index: 3, content: hex(approved[3]!) }], approved);
    expect(out.map(hex)).to.deep.equal([hex(approved[1]!), hex(approved[3]!)]);
  });

  it('refuses content that differs from the approved payload by one bit', () => {
    const a = bytes(32);
    const b = a.slice();
    b[31]! ^= 1;
    expectCosignerError(() => checkRawMessages('MPC_ECDSA_SECP256K1', [{ index: 0, content: hex(b) }], [a]), 'RAW_CONTENT_NOT_APPROVED', /not byte-equal/);
  });
  it('refuses the second message when only the first matches', () => {
    const approved = [bytes(32), bytes(32)];
    const e = expectCosignerError(() => checkRawMessages('MPC_ECDSA_SECP256K1', [{ index: 0, content: hex(approved[0]!) }, { index: 1, content: hex(bytes(32)) }], approved), 'RAW_CONTENT_NOT_APPROVED');
    expect(e.details?.index).to.equal(1);
  });
  it('refuses two approved messages swapped', () => {
    const approved = [bytes(32), bytes(32)];
    expectCosignerError(() => checkRawMessages('MPC_ECDSA_SECP256K1', [{ index: 0, content: hex(approved[1]!) }, { index: 1, content: hex(approved[0]!) }], approved), 'RAW_CONTENT_NOT_APPROVED');
  });
  it('refuses an Ed25519 message that is a prefix of the approved one (or extends it)', () => {
    const a = bytes(100);
    expectCosignerError(() => checkRawMessages('MPC_EDDSA_ED25519', [{ index: 0, content: hex(a.subarray(0, 99)) }], [a]), 'RAW_CONTENT_NOT_APPROVED');
    expectCosignerError(() => checkRawMessages('MPC_EDDSA_ED25519', [{ index: 0, content: hex(a) + '00' }], [a]), 'RAW_CONTENT_NOT_APPROVED');
  });
  it('refuses a message with no approved payload at its index', () => {
    const a = bytes(32);
    expectCosignerError(() => checkRawMessages('MPC_ECDSA_SECP256K1', [{ index: 1, content: hex(a) }], [a]), 'RAW_CONTENT_NOT_APPROVED', /no approved payload/);
  });
  it('refuses an ECDSA message that is not a 32-byte hash, even if approved', () => {
    for (const n of [31, 33, 64]) {
      const a = bytes(n);
      expectCosignerError(() => checkRawMessages('MPC_ECDSA_SECP256K1', [{ index: 0, content: hex(a) }], [a]), 'RAW_CONTENT_INVALID', /32-byte hash/);
    }
  });
  it('refuses an Ed25519 message of more than 4096 bytes, or none, even if approved', () => {
    const big = bytes(4097);
    expectCosignerError(() => checkRawMessages('MPC_EDDSA_ED25519', [{ index: 0, content: hex(big) }], [big]), 'RAW_CONTENT_INVALID', /at most 4096 bytes/);
    expectCosignerError(() => checkRawMessages('MPC_EDDSA_ED25519', [{ index: 0, content: '' }], [new Uint8Array(0)]), 'RAW_CONTENT_INVALID', /empty/);
  });
  it('refuses content that is not lower-case hex', () => {
    const a = bytes(32);
    expectCosignerError(() => checkRawMessages('MPC_ECDSA_SECP256K1', [{ index: 0, content: hex(a).toUpperCase() }], [a]), 'RAW_CONTENT_INVALID', /lower-case hex/);
    expectCosignerError(() => checkRawMessages('MPC_ECDSA_SECP256K1', [{ index: 0, content: '0x' + hex(a) }], [a]), 'RAW_CONTENT_INVALID');
  });
  it('refuses one index twice, and an empty list', () => {
    const a = bytes(32);
    expectCosignerError(() => checkRawMessages('MPC_ECDSA_SECP256K1', [{ index: 0, content: hex(a) }, { index: 0, content: hex(a) }], [a]), 'RAW_CONTENT_INVALID', /fresh/);
    expectCosignerError(() => checkRawMessages('MPC_ECDSA_SECP256K1', [], [a]), 'RAW_CONTENT_INVALID', /no RAW message/);
  });
  it('refuses an unknown algorithm', () => {
    const a = bytes(32);
    expectCosignerError(() => checkRawMessages('MPC_ECDSA_SECP256R1' as never, [{ index: 0, content: hex(a) }], [a]), 'RAW_CONTENT_INVALID', /unknown algorithm/);
  });
});
