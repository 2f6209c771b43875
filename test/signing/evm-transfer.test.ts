// checkEvmTransfer (enclave/signing/evm-transfer.ts) on real transactions serialised by viem and by
// the coordinator's own code: the approved transfer passes and yields keccak256 of its bytes; every
// change after approval, every other transaction type and every non-canonical encoding is refused.
// Each refusal is given the true keccak256 of the bytes under test as the hash to sign, so only the
// check named can refuse it.
import { expect } from 'chai';
import fc from 'fast-check';
import { encodeFunctionData, erc20Abi, getAddress, keccak256, parseTransaction, serializeTransaction, type Hex } from 'viem';
import { checkEvmTransfer, decodeEip1559Unsigned, type ApprovedEvmTransfer } from '../../enclave/signing/evm-transfer.js';
import { decodeRlp, encodeRlp, rlpUintBytes, type RlpItem } from '../../shared/rlp.js';
import { serializeUnsigned } from '../../coordinator/chains/evm/evm-transaction.js';
import { ERC20_ABI } from '../../coordinator/chains/evm/erc20-abi.js';
import { expectCosignerError } from '../support/expect-error.js';
import { CHAIN_ID, DESTINATION, eip1559, erc20Data, ONE_ETH, SOURCE, TOKEN } from './fixtures.js';

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytesOf = (h: string) => new Uint8Array(Buffer.from(h.replace(/^0x/, ''), 'hex'));
const hashOf = (serialized: string) => keccak256(serialized as Hex).slice(2);

const NATIVE: ApprovedEvmTransfer = { chainId: CHAIN_ID, asset: { kind: 'NATIVE' }, to: DESTINATION, amount: ONE_ETH.toString() };
const TOKEN_AMOUNT = 123_456_789n * 10n ** 12n;
const ERC20: ApprovedEvmTransfer = { chainId: CHAIN_ID, asset: { kind: 'ERC20', contract: TOKEN }, to: DESTINATION, amount: TOKEN_AMOUNT.toString() };
const erc20Tx = (data: Hex = erc20Data(DESTINATION, TOKEN_AMOUNT), value = 0n, to: Hex = TOKEN) => eip1559({ to, value, data, gas: 60_000n });

/** The nine RLP fields of a viem-serialised unsigned transaction, to edit and re-encode. */
function fieldsOf(serialized: Hex): RlpItem[] {
  return decodeRlp(bytesOf(serialized).subarray(1)) as RlpItem[];
}
const typed = (fields: RlpItem[] | Uint8Array, type = 0x02): string => '0x' + hexOf(Uint8Array.of(type, ...encodeRlp(fields)));

/** Expects checkEvmTransfer to refuse `serialized` (hash: its own keccak256) with `code`. */
function refused(serialized: string, approved: ApprovedEvmTransfer, code: Parameters<typeof expectCosignerError>[1], msg?: RegExp, field?: string) {
  const e = expectCosignerError(() => checkEvmTransfer(serialized, approved, hashOf(serialized)), code, msg);
  if (field) expect(e.details?.field).to.equal(field);
}

describe('enclave: checkEvmTransfer (enclave/signing/evm-transfer.ts)', () => {
  describe('accepts the approved transfer and returns the hash it computed', () => {
    it('a native transfer serialised by viem', () => {
      const { serialized, hash } = eip1559();
      expect('0x' + hexOf(checkEvmTransfer(serialized, NATIVE, hash.slice(2)))).to.equal(hash);
    });
    it('the same with the hash given 0x-prefixed', () => {
      const { serialized, hash } = eip1559();
      expect('0x' + hexOf(checkEvmTransfer(serialized, NATIVE, hash))).to.equal(hash);
    });
    it('an ERC-20 transfer(to, amount) serialised by viem', () => {
      const { serialized, hash } = erc20Tx();
      expect('0x' + hexOf(checkEvmTransfer(serialized, ERC20, hash.slice(2)))).to.equal(hash);
    });
    it('a native transfer as the coordinator builds it (coordinator/chains/evm/evm-transaction.ts)', () => {
      const u = serializeUnsigned(SOURCE, { chainId: CHAIN_ID, nonce: 0, to: DESTINATION, value: 5n, data: '0x', gas: 21_000n, maxFeePerGas: 3n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n });
      expect('0x' + hexOf(checkEvmTransfer(u.serializedUnsigned, { ...NATIVE, amount: '5' }, u.signingHash.slice(2)))).to.equal(u.signingHash);
    });
    it('an ERC-20 transfer as the coordinator encodes it (its ERC20_ABI)', () => {
      const data = encodeFunctionData({ abi: ERC20_ABI, functionName: 'transfer', args: [DESTINATION, TOKEN_AMOUNT] });
      const u = serializeUnsigned(SOURCE, { chainId: CHAIN_ID, nonce: 3, to: TOKEN, value: 0n, data, gas: 65_000n, maxFeePerGas: 3n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n });
      expect('0x' + hexOf(checkEvmTransfer(u.serializedUnsigned, ERC20, u.signingHash.slice(2)))).to.equal(u.signingHash);
    });
    it('addresses compared as 20 bytes, whatever their case', () => {
      const { serialized, hash } = erc20Tx();
      const lower = { ...ERC20, to: DESTINATION.toLowerCase(), asset: { kind: 'ERC20' as const, contract: TOKEN.toLowerCase() } };
      const upper = { ...ERC20, to: '0x' + DESTINATION.slice(2).toUpperCase(), asset: { kind: 'ERC20' as const, contract: '0x' + TOKEN.slice(2).toUpperCase() } };
      expect(hexOf(checkEvmTransfer(serialized, lower, hash))).to.equal(hash.slice(2));
      expect(hexOf(checkEvmTransfer(serialized, upper, hash))).to.equal(hash.slice(2));
    });
    it('extreme but valid fields: amount 2^256-1, nonce 2^64-1, a large chain id', () => {
      const max = (1n << 256n) - 1n;
      const { serialized, hash } = eip1559({ value: max, nonce: Number.MAX_SAFE_INTEGER, chainId: 2 ** 40 });
      expect(hexOf(checkEvmTransfer(serialized, { ...NATIVE, chainId: 2 ** 40, amount: max.toString() }, hash))).to.equal(hash.slice(2));
      const f = fieldsOf(serialized);
      f[1] = rlpUintBytes((1n << 64n) - 1n);
      const s = typed(f);
      expect(hexOf(checkEvmTransfer(s, { ...NATIVE, chainId: 2 ** 40, amount: max.toString() }, hashOf(s)))).to.equal(hashOf(s));
    });
    it('decodes what viem serialises to the same fields viem parses (random transfers)', () => {
      fc.assert(fc.property(
        fc.record({
          chainId: fc.integer({ min: 1, max: 2 ** 32 }), nonce: fc.integer({ min: 0, max: 2 ** 40 }),
          value: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), gas: fc.bigInt({ min: 0n, max: 1n << 64n }),
          fee: fc.bigInt({ min: 0n, max: 1n << 128n }), tip: fc.bigInt({ min: 0n, max: 1n << 128n }),
          to: fc.uint8Array({ minLength: 20, maxLength: 20 }), data: fc.uint8Array({ maxLength: 200 }),
        }),
        (r) => {
          const tip = r.tip > r.fee ? r.fee : r.tip;
          const { serialized } = eip1559({ chainId: r.chainId, nonce: r.nonce, value: r.value, gas: r.gas, maxFeePerGas: r.fee, maxPriorityFeePerGas: tip, to: getAddress('0x' + hexOf(r.to)), data: ('0x' + hexOf(r.data)) as Hex });
          const ours = decodeEip1559Unsigned(bytesOf(serialized));
          const theirs = parseTransaction(serialized);
          expect(ours.chainId).to.equal(BigInt(theirs.chainId!));
          expect(ours.nonce).to.equal(BigInt(theirs.nonce ?? 0));
          expect(ours.value).to.equal(theirs.value ?? 0n);
          expect(ours.gasLimit).to.equal(theirs.gas ?? 0n);
          expect(ours.maxFeePerGas).to.equal(theirs.maxFeePerGas ?? 0n);
          expect(ours.maxPriorityFeePerGas).to.equal(theirs.maxPriorityFeePerGas ?? 0n);
          expect('0x' + hexOf(ours.to)).to.equal(theirs.to!.toLowerCase());
          expect('0x' + hexOf(ours.data)).to.equal(theirs.data ?? '0x');
        },
      ), { numRuns: 200 });
    });
  });

  describe('refuses a transaction changed after approval', () => {
    it('a changed amount (native)', () => {
      refused(eip1559({ value: ONE_ETH + 1n }).serialized, NATIVE, 'EVM_TX_NOT_APPROVED', /value is not the approved amount/, 'value');
    });
    it('a changed destination (native)', () => {
      refused(eip1559({ to: getAddress('0x' + '22'.repeat(20)) }).serialized, NATIVE, 'EVM_TX_NOT_APPROVED', /destination is not the approved one/, 'to');
    });
    it('a changed chain id', () => {
      refused(eip1559({ chainId: 1 }).serialized, NATIVE, 'EVM_TX_NOT_APPROVED', /chain id 1, approved 31337/, 'chainId');
    });
    it('call data on a native transfer', () => {
      refused(eip1559({ data: '0x00' }).serialized, NATIVE, 'EVM_TX_NOT_APPROVED', /carries no call data/, 'data');
    });
    it('an ERC-20 call approved as a native transfer (to the token contract, value 0)', () => {
      refused(erc20Tx().serialized, { ...NATIVE, to: TOKEN, amount: '0' }, 'EVM_TX_NOT_APPROVED', /carries no call data/, 'data');
    });
    it('another token contract (ERC-20)', () => {
      refused(erc20Tx(undefined, 0n, getAddress('0x' + '33'.repeat(20))).serialized, ERC20, 'EVM_TX_NOT_APPROVED', /approved token contract/, 'to');
    });
    it('a changed token recipient (ERC-20)', () => {
      refused(erc20Tx(erc20Data(getAddress('0x' + '44'.repeat(20)), TOKEN_AMOUNT)).serialized, ERC20, 'EVM_TX_NOT_APPROVED', /token recipient/, 'recipient');
    });
    it('a changed token amount (ERC-20)', () => {
      refused(erc20Tx(erc20Data(DESTINATION, TOKEN_AMOUNT + 1n)).serialized, ERC20, 'EVM_TX_NOT_APPROVED', /token amount/, 'amount');
    });
    it('a non-zero value on an ERC-20 transfer', () => {
      refused(erc20Tx(undefined, 1n).serialized, ERC20, 'EVM_TX_NOT_APPROVED', /sends no ether/, 'value');
    });
    it('extra call data after transfer(to, amount): one byte', () => {
      refused(erc20Tx((erc20Data(DESTINATION, TOKEN_AMOUNT) + '00') as Hex).serialized, ERC20, 'EVM_TX_NOT_APPROVED', /69 bytes, exactly 68/, 'data');
    });
    it('extra call data after transfer(to, amount): a whole word', () => {
      refused(erc20Tx((erc20Data(DESTINATION, TOKEN_AMOUNT) + '00'.repeat(32)) as Hex).serialized, ERC20, 'EVM_TX_NOT_APPROVED', /100 bytes/, 'data');
    });
    it('call data cut short', () => {
      refused(erc20Tx(erc20Data(DESTINATION, TOKEN_AMOUNT).slice(0, -2) as Hex).serialized, ERC20, 'EVM_TX_NOT_APPROVED', /67 bytes/, 'data');
    });
    it('a recipient word with dirty upper bytes (the token would read the same address)', () => {
      const d = erc20Data(DESTINATION, TOKEN_AMOUNT);
      const dirty = (d.slice(0, 10) + 'ff' + d.slice(12)) as Hex;
      refused(erc20Tx(dirty).serialized, ERC20, 'EVM_TX_NOT_APPROVED', /non-zero upper bytes/, 'data');
    });
    it('another ERC-20 call with the same arguments (approve)', () => {
      const approve = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [DESTINATION, TOKEN_AMOUNT] });
      refused(erc20Tx(approve).serialized, ERC20, 'EVM_TX_NOT_APPROVED', /not transfer\(address,uint256\)/, 'data');
    });
    it('a non-empty access list', () => {
      const { serialized } = eip1559({ accessList: [{ address: TOKEN, storageKeys: [] }] });
      refused(serialized, NATIVE, 'EVM_TX_NOT_APPROVED', /no access list/, 'accessList');
    });
    it('a hash to sign that is not keccak256 of the transaction', () => {
      const { serialized, hash } = eip1559();
      const other = (BigInt(hash) ^ 1n).toString(16).padStart(64, '0');
      expectCosignerError(() => checkEvmTransfer(serialized, NATIVE, other), 'SIGNING_HASH_MISMATCH', /keccak256 of the unsigned transaction/);
    });
    it('a transaction changed (nonce) while the hash to sign is the approved one\'s', () => {
      const { hash } = eip1559();
      const { serialized } = eip1559({ nonce: 8 });
      expectCosignerError(() => checkEvmTransfer(serialized, NATIVE, hash), 'SIGNING_HASH_MISMATCH');
    });
    it('a hash to sign that is not 32 bytes', () => {
      const { serialized, hash } = eip1559();
      expectCosignerError(() => checkEvmTransfer(serialized, NATIVE, hash.slice(0, -2)), 'SIGNING_HASH_MISMATCH', /not 32 bytes/);
    });
  });

  describe('refuses other transaction types', () => {
    it('a legacy transaction', () => {
      const legacy = serializeTransaction({ type: 'legacy', chainId: CHAIN_ID, nonce: 7, to: DESTINATION, value: ONE_ETH, gas: 21_000n, gasPrice: 10n ** 9n });
      refused(legacy, NATIVE, 'EVM_TX_TYPE_UNSUPPORTED', /a legacy transaction/);
    });
    it('an EIP-2930 transaction', () => {
      const t2930 = serializeTransaction({ type: 'eip2930', chainId: CHAIN_ID, nonce: 7, to: DESTINATION, value: ONE_ETH, gas: 21_000n, gasPrice: 10n ** 9n, accessList: [] });
      refused(t2930, NATIVE, 'EVM_TX_TYPE_UNSUPPORTED', /an EIP-2930 transaction/);
    });
    it('the same nine fields under another type byte (0x04)', () => {
      refused(typed(fieldsOf(eip1559().serialized), 0x04), NATIVE, 'EVM_TX_TYPE_UNSUPPORTED', /transaction type 4/);
    });
    it('a signed EIP-1559 transaction (twelve fields)', () => {
      const f = fieldsOf(eip1559().serialized);
      refused(typed([...f, rlpUintBytes(1), bytesOf('11'.repeat(32)), bytesOf('22'.repeat(32))]), NATIVE, 'EVM_TX_INVALID', /12 fields/);
    });
    it('eight fields', () => {
      refused(typed(fieldsOf(eip1559().serialized).slice(0, 8)), NATIVE, 'EVM_TX_INVALID', /8 fields/);
    });
    it('a contract creation (no destination)', () => {
      const f = fieldsOf(eip1559().serialized);
      f[5] = new Uint8Array(0);
      refused(typed(f), NATIVE, 'EVM_TX_INVALID', /contract creation/);
    });
    it('a destination of 19 bytes', () => {
      const f = fieldsOf(eip1559().serialized);
      f[5] = (f[5] as Uint8Array).subarray(1);
      refused(typed(f), NATIVE, 'EVM_TX_INVALID', /19 bytes/);
    });
    it('a destination that is a list', () => {
      const f = fieldsOf(eip1559().serialized);
      f[5] = [f[5]!];
      refused(typed(f), NATIVE, 'EVM_TX_INVALID', /destination is a list/);
    });
    it('an access list that is a string', () => {
      const f = fieldsOf(eip1559().serialized);
      f[8] = new Uint8Array(0);
      refused(typed(f), NATIVE, 'EVM_TX_INVALID', /access_list is not a list/);
    });
    it('a payload that is a string, not a list', () => {
      refused(typed(bytesOf('00'.repeat(10))), NATIVE, 'EVM_TX_INVALID', /a string, not a list/);
    });
    it('a priority fee above the fee cap', () => {
      const f = fieldsOf(eip1559().serialized);
      f[2] = rlpUintBytes(10n ** 10n);
      refused(typed(f), NATIVE, 'EVM_TX_INVALID', /exceeds max_fee_per_gas/);
    });
    it('chain id 0', () => {
      const f = fieldsOf(eip1559().serialized);
      f[0] = new Uint8Array(0);
      refused(typed(f), { ...NATIVE }, 'EVM_TX_INVALID', /chain_id is zero/);
    });
    it('the type byte alone, and nothing', () => {
      refused('0x02', NATIVE, 'RLP_INVALID', /empty input/);
      expectCosignerError(() => checkEvmTransfer('0x', NATIVE, eip1559().hash), 'EVM_TX_INVALID', /empty/);
    });
  });

  describe('refuses non-canonical encodings of the approved transfer', () => {
    it('a nonce with a leading zero byte', () => {
      const f = fieldsOf(eip1559().serialized);
      f[1] = Uint8Array.of(0, 7);
      refused(typed(f), NATIVE, 'RLP_INVALID', /nonce has a leading zero/);
    });
    it('a value with a leading zero byte', () => {
      const f = fieldsOf(eip1559().serialized);
      f[6] = Uint8Array.of(0, ...(f[6] as Uint8Array));
      refused(typed(f), NATIVE, 'RLP_INVALID', /amount has a leading zero/);
    });
    it('a zero written as 0x00 instead of the empty string', () => {
      const f = fieldsOf(erc20Tx().serialized);
      f[6] = Uint8Array.of(0);
      refused(typed(f), ERC20, 'RLP_INVALID', /leading zero/);
    });
    it('the nonce 7 written as 0x81 0x07 (a prefixed single byte)', () => {
      const s = eip1559().serialized;
      const at = s.indexOf('827a69' + '07'); // chain id 31337 then nonce 7
      expect(at).to.be.greaterThan(0);
      const bent = '0x02' + lengthFixed(s.slice(4), at - 4 + 6, '07', '8107');
      refused(bent, NATIVE, 'RLP_INVALID', /single byte below 0x80/);
    });
    it('the destination in the long string form (0xb8 0x14 …)', () => {
      const s = eip1559().serialized;
      const to = '94' + DESTINATION.slice(2).toLowerCase();
      const at = s.indexOf(to);
      expect(at).to.be.greaterThan(0);
      const bent = '0x02' + lengthFixed(s.slice(4), at - 4, to, 'b814' + DESTINATION.slice(2).toLowerCase());
      refused(bent, NATIVE, 'RLP_INVALID', /long form used for a payload of 55 bytes or fewer/);
    });
    it('the outer list in a long form with a leading zero length byte', () => {
      const f = fieldsOf(eip1559().serialized);
      const payload = hexOf(encodeRlp(f)).slice(4); // 0xf8 LL then the fields
      const len = payload.length / 2;
      refused('0x02f900' + len.toString(16).padStart(2, '0') + payload, NATIVE, 'RLP_INVALID', /leading zero/);
    });
    it('trailing bytes after the transaction', () => {
      refused(eip1559().serialized + '00', NATIVE, 'RLP_INVALID', /1 trailing bytes/);
    });
    it('a nonce longer than 8 bytes (EIP-2681)', () => {
      const f = fieldsOf(eip1559().serialized);
      f[1] = rlpUintBytes(1n << 64n);
      refused(typed(f), NATIVE, 'RLP_INVALID', /nonce is longer than 8 bytes/);
    });
    it('hex that is not lower-case, or of odd length', () => {
      const { serialized, hash } = eip1559();
      expectCosignerError(() => checkEvmTransfer('0x' + serialized.slice(2).toUpperCase(), NATIVE, hash), 'EVM_TX_INVALID', /lower-case hex/);
      expectCosignerError(() => checkEvmTransfer(serialized + '0', NATIVE, hash), 'EVM_TX_INVALID', /lower-case hex/);
    });
  });

  describe('refuses an approval it cannot compare against', () => {
    it('an approved amount that is not a decimal integer', () => {
      const { serialized, hash } = eip1559();
      for (const amount of ['1e18', '01', '-1', '1.0', '']) {
        expectCosignerError(() => checkEvmTransfer(serialized, { ...NATIVE, amount }, hash), 'AMOUNT_INVALID');
      }
    });
    it('an approved destination that is not an address', () => {
      const { serialized, hash } = eip1559();
      expectCosignerError(() => checkEvmTransfer(serialized, { ...NATIVE, to: DESTINATION.slice(0, -1) }, hash), 'ADDRESS_INVALID');
    });
  });
});

/**
 * Replaces `from` by `to` at hex offset `at` of the RLP list `listHex` (the bytes after the type
 * byte) and rewrites the list's length prefix for the new payload length.
 */
function lengthFixed(listHex: string, at: number, from: string, to: string): string {
  expect(listHex.slice(at, at + from.length)).to.equal(from);
  const edited = listHex.slice(0, at) + to + listHex.slice(at + from.length);
  const prefixLen = listHex.startsWith('f8') ? 4 : listHex.startsWith('f9') ? 6 : 2;
  const payload = edited.slice(prefixLen);
  const len = payload.length / 2;
  const prefix = len <= 55 ? (0xc0 + len).toString(16) : len < 256 ? 'f8' + len.toString(16).padStart(2, '0') : 'f9' + len.toString(16).padStart(4, '0');
  return prefix + payload;
}
