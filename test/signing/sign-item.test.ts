// The KEYGEN and SIGN payload schemas (shared/cosigner-api/sign-item.ts): what the coordinator
// sends passes, and each way of bending it is refused with SCHEMA_VIOLATION naming the path.
import { expect } from 'chai';
import { parseKeygenItemPayload, parseSignItemPayload, isEip55OrUniformCase } from '../../shared/cosigner-api/sign-item.js';
import { expectCosignerError } from '../support/expect-error.js';
import { DESTINATION, hash32, keygenPayload, rawPayload, sessionId, transferPayload } from './fixtures.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe('work item payload schemas (shared/cosigner-api/sign-item.ts)', () => {
  describe('KEYGEN', () => {
    for (const algorithm of ['MPC_ECDSA_SECP256K1', 'MPC_EDDSA_ED25519', 'MPC_BIP340_SECP256K1']) {
      it(`accepts the coordinator's KEYGEN payload for ${algorithm}`, () => {
        const p = keygenPayload(algorithm);
        expect(parseKeygenItemPayload(clone(p))).to.deep.equal(p);
      });
    }
    const BENT: Array<[string, (p: Json) => void, RegExp]> = [
      ['an unknown algorithm', (p) => { p.algorithm = 'RSA'; }, /payload\.algorithm: expected one of/],
      ['a session id in upper case', (p) => { p.sessionId = p.sessionId.toUpperCase(); }, /payload\.sessionId/],
      ['a session id of 31 bytes', (p) => { p.sessionId = p.sessionId.slice(2); }, /payload\.sessionId/],
      ['the co-signer as party 1', (p) => { p.cosignerPartyId = 1; }, /payload\.cosignerPartyId: expected 2/],
      ['the coordinator as party 2', (p) => { p.coordinatorPartyId = 2; }, /payload\.coordinatorPartyId: expected 1/],
      ['an extra field', (p) => { p.derivationPath = [44]; }, /unexpected field "derivationPath"/],
      ['a missing field', (p) => { delete p.sessionId; }, /missing field "sessionId"/],
    ];
    for (const [what, bend, msg] of BENT) {
      it(`refuses ${what}`, () => {
        const p = clone(keygenPayload()) as Json;
        bend(p);
        expectCosignerError(() => parseKeygenItemPayload(p), 'SCHEMA_VIOLATION', msg);
      });
    }
    it('refuses a payload that is not an object', () => {
      expectCosignerError(() => parseKeygenItemPayload([keygenPayload()]), 'SCHEMA_VIOLATION', /payload: expected map/);
    });
  });

  describe('SIGN', () => {
    it('accepts a RAW ECDSA payload of one message', () => {
      const p = rawPayload();
      expect(parseSignItemPayload(clone(p))).to.deep.equal(p);
    });
    it('accepts 16 Ed25519 messages of 1 to 4096 bytes', () => {
      const contents = Array.from({ length: 16 }, (_, i) => 'ab'.repeat(i === 15 ? 4096 : i + 1));
      const p = rawPayload(contents, 'MPC_EDDSA_ED25519');
      expect(parseSignItemPayload(clone(p)).messages).to.have.length(16);
    });
    it('accepts a re-issued item carrying a subset of the messages (indices 1 and 3)', () => {
      const p = rawPayload([hash32(), hash32(), hash32(), hash32()]) as Json;
      p.messages = [p.messages[1], p.messages[3]];
      expect(parseSignItemPayload(p).messages.map((m) => m.index)).to.deep.equal([1, 3]);
    });
    it('accepts a TRANSFER payload (EIP-55 addresses, 0x-prefixed transaction)', () => {
      const p = transferPayload();
      expect(parseSignItemPayload(clone(p))).to.deep.equal(p);
    });
    it('accepts all-lower-case addresses', () => {
      const p = transferPayload() as Json;
      p.transfer.to = p.transfer.to.toLowerCase();
      expect(parseSignItemPayload(p).transfer!.to).to.equal(DESTINATION.toLowerCase());
    });

    const RAW_BENT: Array<[string, (p: Json) => void, RegExp]> = [
      ['content in upper case', (p) => { p.messages[0].content = p.messages[0].content.toUpperCase(); }, /messages\[0\]\.content: text does not match/],
      ['content with 0x', (p) => { p.messages[0].content = '0x' + p.messages[0].content.slice(2); }, /messages\[0\]\.content/],
      ['content of odd length', (p) => { p.messages[0].content = p.messages[0].content.slice(1); }, /messages\[0\]\.content/],
      ['empty content', (p) => { p.messages[0].content = ''; }, /messages\[0\]\.content/],
      ['an ECDSA content of 31 bytes', (p) => { p.messages[0].content = p.messages[0].content.slice(2); }, /an ECDSA message is a 32-byte hash/],
      ['an ECDSA content of 33 bytes', (p) => { p.messages[0].content += '00'; }, /an ECDSA message is a 32-byte hash/],
      ['a session id of 63 hex digits', (p) => { p.messages[0].sessionId = sessionId().slice(1); }, /messages\[0\]\.sessionId/],
      ['a negative derivation index', (p) => { p.messages[0].derivationPath[4] = -1; }, /derivationPath\[4\]: expected unsigned integer/],
      ['a hardened derivation index', (p) => { p.messages[0].derivationPath[2] = 0x80000000; }, /derivationPath\[2\]: expected at most 2147483647/],
      ['a fractional derivation index', (p) => { p.messages[0].derivationPath[0] = 44.5; }, /derivationPath\[0\]: expected unsigned integer/],
      ['a derivation index as text', (p) => { p.messages[0].derivationPath[0] = '44'; }, /derivationPath\[0\]: expected unsigned integer/],
      ['a derivation path of 9 steps', (p) => { p.messages[0].derivationPath = [44, 1, 0, 0, 0, 0, 0, 0, 0]; }, /derivationPath: expected at most 8 items/],
      ['an empty derivation path', (p) => { p.messages[0].derivationPath = []; }, /derivationPath: expected at least 1 items/],
      ['no messages', (p) => { p.messages = []; }, /messages: expected at least 1 items/],
      ['17 messages', (p) => { p.messages = Array.from({ length: 17 }, (_, index) => ({ ...p.messages[0], index, sessionId: sessionId() })); }, /messages: expected at most 16 items/],
      ['a message index past 15', (p) => { p.messages[0].index = 16; }, /messages\[0\]\.index: expected at most 15/],
      ['two messages with one index', (p) => { p.messages.push({ ...p.messages[0], sessionId: sessionId() }); }, /messages\[1\]\.index: indices must be strictly increasing/],
      ['indices going down', (p) => { p.messages.unshift({ ...p.messages[0], index: 1, sessionId: sessionId() }); }, /indices must be strictly increasing/],
      ['two messages in one session', (p) => { p.messages.push({ ...p.messages[0], index: 1 }); }, /messages\[1\]\.sessionId: a session id appears twice/],
      ['an unknown algorithm', (p) => { p.algorithm = 'MPC_ECDSA_SECP256R1'; }, /payload\.algorithm/],
      ['a transaction id that is not a UUID', (p) => { p.transactionId = 'tx-1'; }, /payload\.transactionId/],
      ['an upper-case transaction id', (p) => { p.transactionId = p.transactionId.toUpperCase(); }, /payload\.transactionId/],
      ['an extra field on the payload', (p) => { p.note = 'pay me'; }, /payload: unexpected field "note"/],
      ['an extra field on a message', (p) => { p.messages[0].publicKey = '02'; }, /messages\[0\]: unexpected field "publicKey"/],
      ['the co-signer as party 1', (p) => { p.cosignerPartyId = 1; }, /cosignerPartyId: expected 2/],
    ];
    for (const [what, bend, msg] of RAW_BENT) {
      it(`refuses ${what}`, () => {
        const p = clone(rawPayload()) as Json;
        bend(p);
        expectCosignerError(() => parseSignItemPayload(p), 'SCHEMA_VIOLATION', msg);
      });
    }
    it('refuses an Ed25519 message longer than 4096 bytes', () => {
      const p = rawPayload(['ab'.repeat(4097)], 'MPC_EDDSA_ED25519');
      expectCosignerError(() => parseSignItemPayload(p), 'SCHEMA_VIOLATION', /messages\[0\]\.content: expected at most 8192 characters/);
    });

    const TRANSFER_BENT: Array<[string, (p: Json) => void, RegExp]> = [
      ['a transfer signed with EdDSA', (p) => { p.algorithm = 'MPC_EDDSA_ED25519'; }, /payload\.algorithm: an EVM transfer is signed with MPC_ECDSA_SECP256K1/],
      ['a transfer with two messages', (p) => { p.messages.push({ ...p.messages[0], index: 1, sessionId: sessionId() }); }, /payload\.messages: an EVM transfer has exactly one message/],
      ['a transfer whose message is not index 0', (p) => { p.messages[0].index = 1; }, /exactly one message, index 0/],
      ['a destination with a wrong EIP-55 checksum', (p) => { p.transfer.to = p.transfer.to.replace('a', 'A'); }, /transfer\.to: mixed-case address with a wrong EIP-55 checksum/],
      ['a destination of 19 bytes', (p) => { p.transfer.to = p.transfer.to.slice(0, 40); }, /transfer\.to/],
      ['a source without 0x', (p) => { p.transfer.from = '00' + p.transfer.from.slice(2); }, /transfer\.from/],
      ['a transaction in upper-case hex', (p) => { p.transfer.serializedUnsigned = '0x' + p.transfer.serializedUnsigned.slice(2).toUpperCase(); }, /transfer\.serializedUnsigned/],
      ['a transaction without 0x', (p) => { p.transfer.serializedUnsigned = p.transfer.serializedUnsigned.slice(2); }, /transfer\.serializedUnsigned/],
      ['a transaction of more than 1024 bytes', (p) => { p.transfer.serializedUnsigned += '00'.repeat(1024); }, /transfer\.serializedUnsigned: expected at most 2050 characters/],
      ['an amount with a leading zero', (p) => { p.transfer.amount = '0' + p.transfer.amount; }, /transfer\.amount/],
      ['an amount of zero', (p) => { p.transfer.amount = '0'; }, /transfer\.amount/],
      ['a decimal amount', (p) => { p.transfer.amount = '1.5'; }, /transfer\.amount/],
      ['a negative amount', (p) => { p.transfer.amount = '-1'; }, /transfer\.amount/],
      ['an amount as a number', (p) => { p.transfer.amount = 1; }, /transfer\.amount: expected text/],
      ['an amount above 2^256-1', (p) => { p.transfer.amount = (1n << 256n).toString(); }, /transfer\.amount: amount exceeds 2\^256-1/],
      ['chain id 0', (p) => { p.transfer.chainId = 0; }, /transfer\.chainId: a chain id is positive/],
      ['a chain id as text', (p) => { p.transfer.chainId = '31337'; }, /transfer\.chainId: expected unsigned integer/],
      ['an asset id with a space', (p) => { p.transfer.assetId = 'ETH TEST'; }, /transfer\.assetId/],
      ['an extra field on the transfer', (p) => { p.transfer.data = '0x'; }, /transfer: unexpected field "data"/],
      ['a transfer without its amount', (p) => { delete p.transfer.amount; }, /transfer: missing field "amount"/],
    ];
    for (const [what, bend, msg] of TRANSFER_BENT) {
      it(`refuses ${what}`, () => {
        const p = clone(transferPayload()) as Json;
        bend(p);
        expectCosignerError(() => parseSignItemPayload(p), 'SCHEMA_VIOLATION', msg);
      });
    }
  });

  describe('EIP-55', () => {
    it('accepts the EIP-55 examples and refuses one with a letter flipped', () => {
      for (const a of ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359', '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB', '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb']) {
        expect(isEip55OrUniformCase(a), a).to.equal(true);
      }
      expect(isEip55OrUniformCase('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD')).to.equal(false);
      expect(isEip55OrUniformCase('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed')).to.equal(true);
      expect(isEip55OrUniformCase('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae')).to.equal(false);
    });
  });
});
