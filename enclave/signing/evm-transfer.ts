// The enclave's own reading of an EVM transfer before it signs (DESIGN.md, "The trust boundary is
// the design": "the hash signed is the approved content — EVM transfer: it decodes the unsigned
// transaction and checks chain id, destination, amount, asset before hashing").
//
// EIP-1559 §Specification: the unsigned transaction is
//   0x02 || rlp([chain_id, nonce, max_priority_fee_per_gas, max_fee_per_gas, gas_limit,
//                destination, amount, data, access_list])
// and what is signed is keccak256 of exactly those bytes. Only a canonical encoding (shared/rlp.ts)
// of that one type passes; legacy (first byte ≥ 0xc0) and other typed envelopes (EIP-2718) are
// refused. An ERC-20 transfer is the call transfer(address,uint256): selector a9059cbb, then the
// ABI words (32 bytes each): the address with its upper 12 bytes zero, then the amount — nothing
// more. Fees, gas limit and nonce are not part of an approval and are not checked here.
// Pure: no I/O.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { CosignerError } from '../../shared/errors.js';
import { decodeRlp, rlpUint, type RlpItem } from '../../shared/rlp.js';

export const EIP1559_TX_TYPE = 0x02;
const ERC20_TRANSFER_SELECTOR = Uint8Array.of(0xa9, 0x05, 0x9c, 0xbb);
const MAX_TX_BYTES = 1024;
const UINT256_MAX = (1n << 256n) - 1n;

export type ApprovedEvmAsset = { kind: 'NATIVE' } | { kind: 'ERC20'; contract: string };

export interface ApprovedEvmTransfer {
  chainId: number;
  asset: ApprovedEvmAsset;
  /** The destination address (for ERC-20: the token recipient). */
  to: string;
  /** Base units, decimal. */
  amount: string;
}

export interface Eip1559Unsigned {
  chainId: bigint;
  nonce: bigint;
  maxPriorityFeePerGas: bigint;
  maxFeePerGas: bigint;
  gasLimit: bigint;
  to: Uint8Array; // 20 bytes
  value: bigint;
  data: Uint8Array;
  accessList: RlpItem[];
}

function txInvalid(why: string): never {
  throw new CosignerError('EVM_TX_INVALID', `unsigned EIP-1559 transaction: ${why}`);
}

function notApproved(field: string, why: string): never {
  throw new CosignerError('EVM_TX_NOT_APPROVED', `the transaction is not the approved transfer: ${why}`, { field });
}

/** Bytes of lower-case hex, with or without 0x. */
function hexBytes(hex: unknown, what: string, code: 'EVM_TX_INVALID' | 'SIGNING_HASH_MISMATCH', maxBytes: number): Uint8Array {
  if (typeof hex !== 'string' || hex.length > 2 + 2 * maxBytes || !/^(?:0x)?(?:[0-9a-f]{2})*$/.test(hex)) {
    throw new CosignerError(code, `${what} is not lower-case hex of at most ${maxBytes} bytes`);
  }
  return new Uint8Array(Buffer.from(hex.replace(/^0x/, ''), 'hex'));
}

/** 20 bytes of an address written 0x + 40 hex digits (any case: compared as bytes). */
function addressBytes(a: unknown, what: string): Uint8Array {
  if (typeof a !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(a)) throw new CosignerError('ADDRESS_INVALID', `approved ${what} is not 0x and 40 hex digits`);
  return new Uint8Array(Buffer.from(a.slice(2), 'hex'));
}

function amountOf(a: unknown): bigint {
  if (typeof a !== 'string' || !/^(?:0|[1-9][0-9]{0,77})$/.test(a) || BigInt(a) > UINT256_MAX) {
    throw new CosignerError('AMOUNT_INVALID', 'approved amount is not a decimal integer of base units from 0 to 2^256-1');
  }
  return BigInt(a);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function isZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

function bigFromBytes(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));
}

/** A scalar field: non-canonical integers (leading zeros) are RLP_INVALID, as the Yellow Paper's scalars. */
const uintField = (item: RlpItem, maxBytes: number, what: string): bigint => rlpUint(item, maxBytes, what);

/** Strictly decodes 0x02 || rlp([nine fields]) (already bytes). */
export function decodeEip1559Unsigned(tx: Uint8Array): Eip1559Unsigned {
  if (tx.length === 0) txInvalid('empty');
  if (tx.length > MAX_TX_BYTES) txInvalid(`longer than ${MAX_TX_BYTES} bytes`);
  const type = tx[0]!;
  if (type !== EIP1559_TX_TYPE) {
    const kind = type >= 0xc0 ? 'a legacy transaction' : type === 0x01 ? 'an EIP-2930 transaction' : `transaction type ${type}`;
    throw new CosignerError('EVM_TX_TYPE_UNSUPPORTED', `${kind}, not an EIP-1559 (type 2) transaction`, { type });
  }
  const body = decodeRlp(tx.subarray(1), { maxBytes: MAX_TX_BYTES, maxDepth: 4 });
  if (body instanceof Uint8Array) txInvalid('the payload is a string, not a list');
  if (body.length !== 9) txInvalid(`${body.length} fields, an unsigned one has 9`);
  const [chainId, nonce, prio, maxFee, gas, to, value, data, accessList] = body as [RlpItem, RlpItem, RlpItem, RlpItem, RlpItem, RlpItem, RlpItem, RlpItem, RlpItem];
  const out: Eip1559Unsigned = {
    chainId: uintField(chainId, 32, 'chain_id'),
    nonce: uintField(nonce, 8, 'nonce'), // EIP-2681: nonce < 2^64
    maxPriorityFeePerGas: uintField(prio, 32, 'max_priority_fee_per_gas'),
    maxFeePerGas: uintField(maxFee, 32, 'max_fee_per_gas'),
    gasLimit: uintField(gas, 32, 'gas_limit'),
    to: to instanceof Uint8Array ? to : txInvalid('destination is a list'),
    value: uintField(value, 32, 'amount'),
    data: data instanceof Uint8Array ? data : txInvalid('data is a list'),
    accessList: Array.isArray(accessList) ? accessList : txInvalid('access_list is not a list'),
  };
  if (out.to.length === 0) txInvalid('no destination (contract creation is not a transfer)');
  if (out.to.length !== 20) txInvalid(`destination is ${out.to.length} bytes, an address is 20`);
  if (out.chainId === 0n) txInvalid('chain_id is zero');
  if (out.maxPriorityFeePerGas > out.maxFeePerGas) txInvalid('max_priority_fee_per_gas exceeds max_fee_per_gas');
  return out;
}

/**
 * Checks that `serializedUnsignedHex` is exactly the approved transfer and that its keccak256 is
 * `expectedHashHex` (the SIGN message content the enclave is asked to sign); returns those 32
 * bytes, computed here.
 */
export function checkEvmTransfer(serializedUnsignedHex: string, approved: ApprovedEvmTransfer, expectedHashHex: string): Uint8Array {
  const bytes = hexBytes(serializedUnsignedHex, 'the unsigned transaction', 'EVM_TX_INVALID', MAX_TX_BYTES);
  const expected = hexBytes(expectedHashHex, 'the hash to sign', 'SIGNING_HASH_MISMATCH', 32);
  if (expected.length !== 32) throw new CosignerError('SIGNING_HASH_MISMATCH', 'the hash to sign is not 32 bytes');
  if (!Number.isSafeInteger(approved.chainId) || approved.chainId <= 0) throw new CosignerError('EVM_TX_NOT_APPROVED', 'the approved chain id is not a positive integer', { field: 'chainId' });
  const destination = addressBytes(approved.to, 'destination');
  const amount = amountOf(approved.amount);

  const tx = decodeEip1559Unsigned(bytes);
  if (tx.chainId !== BigInt(approved.chainId)) notApproved('chainId', `chain id ${tx.chainId}, approved ${approved.chainId}`);
  if (tx.accessList.length !== 0) notApproved('accessList', 'a transfer carries no access list');
  if (approved.asset.kind === 'NATIVE') {
    if (!equalBytes(tx.to, destination)) notApproved('to', 'the destination is not the approved one');
    if (tx.value !== amount) notApproved('value', 'the value is not the approved amount');
    if (tx.data.length !== 0) notApproved('data', 'a native transfer carries no call data');
  } else if (approved.asset.kind === 'ERC20') {
    const contract = addressBytes(approved.asset.contract, 'token contract');
    if (!equalBytes(tx.to, contract)) notApproved('to', 'the transaction does not call the approved token contract');
    if (tx.value !== 0n) notApproved('value', 'an ERC-20 transfer sends no ether');
    const d = tx.data;
    if (d.length < 4 || !equalBytes(d.subarray(0, 4), ERC20_TRANSFER_SELECTOR)) notApproved('data', 'the call is not transfer(address,uint256)');
    if (d.length !== 4 + 32 + 32) notApproved('data', `the transfer call data is ${d.length} bytes, exactly 68 expected`);
    if (!isZero(d.subarray(4, 16))) notApproved('data', 'the recipient word has non-zero upper bytes');
    if (!equalBytes(d.subarray(16, 36), destination)) notApproved('recipient', 'the token recipient is not the approved destination');
    if (bigFromBytes(d.subarray(36, 68)) !== amount) notApproved('amount', 'the token amount is not the approved amount');
  } else {
    notApproved('asset', 'the approved asset is neither NATIVE nor ERC20');
  }
  const hash = keccak_256(bytes);
  if (!equalBytes(hash, expected)) throw new CosignerError('SIGNING_HASH_MISMATCH', 'keccak256 of the unsigned transaction is not the hash the enclave was asked to sign');
  return hash;
}
