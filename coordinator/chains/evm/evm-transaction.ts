// EIP-1559 (type 2) transactions without a node: serialise the unsigned form and its signing hash,
// decode one back, and attach a signature after checking it is the source's. Pure functions, so the
// coordinator can keep only `serializedUnsigned` (and the source) in its database and rebuild the rest.
//
// EIP-1559 §Specification: the signed transaction is
//   0x02 || rlp([chain_id, nonce, max_priority_fee_per_gas, max_fee_per_gas, gas_limit, destination,
//                amount, data, access_list, signature_y_parity, signature_r, signature_s])
// and the signature is over keccak256(0x02 || rlp([the same nine fields without the signature])).

import { getAddress, isAddress, keccak256, parseTransaction, recoverAddress, serializeTransaction, type TransactionSerializableEIP1559 } from 'viem';
import type { Address, EvmSignature, Hex, UnsignedEvmTransfer } from '../chain-adapter.js';
import { ChainError } from '../chain-errors.js';

/** secp256k1 group order n (SEC 2 §2.4.1). */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HEX32 = /^0x[0-9a-fA-F]{64}$/;

export interface Eip1559Fields {
  readonly chainId: number;
  readonly nonce: number;
  readonly to: Address;
  readonly value: bigint;
  readonly data: Hex;
  readonly gas: bigint;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

function fieldsOf(f: Eip1559Fields): TransactionSerializableEIP1559 {
  return {
    type: 'eip1559',
    chainId: f.chainId,
    nonce: f.nonce,
    to: f.to,
    value: f.value,
    data: f.data,
    gas: f.gas,
    maxFeePerGas: f.maxFeePerGas,
    maxPriorityFeePerGas: f.maxPriorityFeePerGas,
    accessList: [],
  };
}

export function checkAddress(a: unknown, what: string): Address {
  // strict: a mixed-case address must carry a valid EIP-55 checksum (a typo is then caught).
  if (typeof a !== 'string' || !isAddress(a, { strict: true })) {
    throw new ChainError('CHAIN_INVALID_INPUT', `${what} is not a valid EVM address (20 bytes of 0x-hex, EIP-55 checksum if mixed case)`);
  }
  return getAddress(a);
}

function checkFields(f: Eip1559Fields): void {
  const u256 = (1n << 256n) - 1n;
  if (!Number.isSafeInteger(f.chainId) || f.chainId <= 0) throw new ChainError('CHAIN_TX_INVALID', 'chainId must be a positive integer');
  if (!Number.isSafeInteger(f.nonce) || f.nonce < 0) throw new ChainError('CHAIN_TX_INVALID', 'nonce must be a non-negative integer');
  for (const [k, v] of [['value', f.value], ['gas', f.gas], ['maxFeePerGas', f.maxFeePerGas], ['maxPriorityFeePerGas', f.maxPriorityFeePerGas]] as const) {
    if (typeof v !== 'bigint' || v < 0n || v > u256) throw new ChainError('CHAIN_TX_INVALID', `${k} must be a bigint from 0 to 2^256-1`);
  }
  if (f.maxPriorityFeePerGas > f.maxFeePerGas) throw new ChainError('CHAIN_TX_INVALID', 'maxPriorityFeePerGas exceeds maxFeePerGas');
  if (typeof f.data !== 'string' || !/^0x(?:[0-9a-fA-F]{2})*$/.test(f.data)) throw new ChainError('CHAIN_TX_INVALID', 'data must be 0x-prefixed hex bytes');
  checkAddress(f.to, 'to');
}

/** The unsigned transaction and its signing hash. */
export function serializeUnsigned(from: Address, f: Eip1559Fields): UnsignedEvmTransfer {
  checkFields(f);
  const serializedUnsigned = serializeTransaction(fieldsOf(f));
  return {
    chainId: f.chainId,
    from: checkAddress(from, 'from'),
    nonce: f.nonce,
    to: getAddress(f.to),
    value: f.value,
    data: f.data.toLowerCase() as Hex,
    gas: f.gas,
    maxFeePerGas: f.maxFeePerGas,
    maxPriorityFeePerGas: f.maxPriorityFeePerGas,
    serializedUnsigned,
    signingHash: keccak256(serializedUnsigned),
  };
}

/** Rebuilds an UnsignedEvmTransfer from its serialised bytes; only canonical, unsigned type-2 transfers with no access list pass. */
export function decodeUnsignedEvmTransfer(serializedUnsigned: Hex, from: Address): UnsignedEvmTransfer {
  if (typeof serializedUnsigned !== 'string' || !/^0x02(?:[0-9a-fA-F]{2})+$/.test(serializedUnsigned)) {
    throw new ChainError('CHAIN_TX_INVALID', 'an unsigned EIP-1559 transaction is 0x02 followed by RLP bytes');
  }
  let t: ReturnType<typeof parseTransaction>;
  try {
    t = parseTransaction(serializedUnsigned);
  } catch {
    throw new ChainError('CHAIN_TX_INVALID', 'the unsigned transaction is not valid EIP-1559 RLP');
  }
  if (t.type !== 'eip1559') throw new ChainError('CHAIN_TX_INVALID', 'not an EIP-1559 transaction');
  if (t.r !== undefined || t.s !== undefined || t.yParity !== undefined) throw new ChainError('CHAIN_TX_INVALID', 'the transaction is already signed');
  if (t.accessList && t.accessList.length > 0) throw new ChainError('CHAIN_TX_INVALID', 'transfers carry no access list');
  if (!t.to) throw new ChainError('CHAIN_TX_INVALID', 'a transfer has a destination (contract creation is not a transfer)');
  const out = serializeUnsigned(from, {
    chainId: t.chainId,
    nonce: t.nonce ?? 0,
    to: t.to,
    value: t.value ?? 0n,
    data: t.data ?? '0x',
    gas: t.gas ?? 0n,
    maxFeePerGas: t.maxFeePerGas ?? 0n,
    maxPriorityFeePerGas: t.maxPriorityFeePerGas ?? 0n,
  });
  // Re-encoding must give the same bytes, so one transaction has one encoding (and one hash).
  if (out.serializedUnsigned.toLowerCase() !== serializedUnsigned.toLowerCase()) {
    throw new ChainError('CHAIN_TX_INVALID', 'the unsigned transaction is not canonically encoded');
  }
  return out;
}

/** An unsigned transfer that was stored or passed around: its fields, bytes and hash must agree. */
export function checkUnsigned(u: UnsignedEvmTransfer): UnsignedEvmTransfer {
  const again = serializeUnsigned(u.from, u);
  if (again.serializedUnsigned.toLowerCase() !== String(u.serializedUnsigned).toLowerCase() || again.signingHash.toLowerCase() !== String(u.signingHash).toLowerCase()) {
    throw new ChainError('CHAIN_TX_INVALID', 'the unsigned transaction does not match its own fields or signing hash');
  }
  return again;
}

/** r and s as integers, checked: 0 < r < n, 0 < s ≤ n/2 (EIP-2 makes high-S transactions invalid). */
export function checkSignature(sig: EvmSignature): { r: Hex; s: Hex; yParity: 0 | 1 } {
  if (sig === null || typeof sig !== 'object') throw new ChainError('CHAIN_SIGNATURE_INVALID', 'the signature must be an object { r, s, v }');
  if (typeof sig.r !== 'string' || !HEX32.test(sig.r)) throw new ChainError('CHAIN_SIGNATURE_INVALID', 'r must be 32 bytes of 0x-prefixed hex');
  if (typeof sig.s !== 'string' || !HEX32.test(sig.s)) throw new ChainError('CHAIN_SIGNATURE_INVALID', 's must be 32 bytes of 0x-prefixed hex');
  if (sig.v !== 0 && sig.v !== 1) throw new ChainError('CHAIN_SIGNATURE_INVALID', 'v must be the y-parity, 0 or 1');
  const r = BigInt(sig.r);
  const s = BigInt(sig.s);
  if (r === 0n || r >= SECP256K1_N) throw new ChainError('CHAIN_SIGNATURE_INVALID', 'r is out of range');
  if (s === 0n || s >= SECP256K1_N) throw new ChainError('CHAIN_SIGNATURE_INVALID', 's is out of range');
  if (s > SECP256K1_N / 2n) throw new ChainError('CHAIN_SIGNATURE_INVALID', 's is high; Ethereum accepts only low-S signatures (EIP-2)');
  return { r: sig.r.toLowerCase() as Hex, s: sig.s.toLowerCase() as Hex, yParity: sig.v };
}

/** The address whose key made `sig` over `hash` (a CHAIN_SIGNATURE_INVALID when it recovers to no point). */
export async function recoverSigner(hash: Hex, sig: EvmSignature): Promise<Address> {
  const checked = checkSignature(sig);
  try {
    return getAddress(await recoverAddress({ hash, signature: checked }));
  } catch {
    throw new ChainError('CHAIN_SIGNATURE_INVALID', 'the signature does not recover to a public key');
  }
}

/** The signed raw transaction, after checking that the signature is the source's over this exact transaction. */
export async function assembleSigned(unsigned: UnsignedEvmTransfer, sig: EvmSignature): Promise<Hex> {
  const u = checkUnsigned(unsigned);
  const signer = await recoverSigner(u.signingHash, sig);
  if (signer !== u.from) {
    throw new ChainError('CHAIN_SIGNER_MISMATCH', `the signature was made by ${signer}, not by the source ${u.from}`, { signer, from: u.from });
  }
  return serializeTransaction(fieldsOf(u), checkSignature(sig));
}

export interface SignedEvmTransaction extends Eip1559Fields {
  readonly hash: Hex;
  readonly from: Address;
}

/** Decodes and checks a signed type-2 transaction: canonical, low-S, recovering to a sender. */
export async function decodeSignedEvmTransaction(raw: Hex): Promise<SignedEvmTransaction> {
  if (typeof raw !== 'string' || !/^0x02(?:[0-9a-fA-F]{2})+$/.test(raw)) {
    throw new ChainError('CHAIN_TX_INVALID', 'a signed EIP-1559 transaction is 0x02 followed by RLP bytes');
  }
  let t: ReturnType<typeof parseTransaction>;
  try {
    t = parseTransaction(raw);
  } catch {
    throw new ChainError('CHAIN_TX_INVALID', 'the signed transaction is not valid EIP-1559 RLP');
  }
  if (t.type !== 'eip1559' || !t.to) throw new ChainError('CHAIN_TX_INVALID', 'not an EIP-1559 transfer');
  if (t.r === undefined || t.s === undefined || (t.yParity !== 0 && t.yParity !== 1)) throw new ChainError('CHAIN_TX_INVALID', 'the transaction is not signed');
  const fields: Eip1559Fields = {
    chainId: t.chainId,
    nonce: t.nonce ?? 0,
    to: t.to,
    value: t.value ?? 0n,
    data: t.data ?? '0x',
    gas: t.gas ?? 0n,
    maxFeePerGas: t.maxFeePerGas ?? 0n,
    maxPriorityFeePerGas: t.maxPriorityFeePerGas ?? 0n,
  };
  const pad = (h: Hex): Hex => `0x${h.slice(2).padStart(64, '0')}` as Hex;
  const sig: EvmSignature = { r: pad(t.r), s: pad(t.s), v: t.yParity };
  const unsigned = serializeUnsigned('0x0000000000000000000000000000000000000000', fields);
  const from = await recoverSigner(unsigned.signingHash, sig);
  const again = serializeTransaction(fieldsOf(fields), checkSignature(sig));
  if (again.toLowerCase() !== raw.toLowerCase()) throw new ChainError('CHAIN_TX_INVALID', 'the signed transaction is not canonically encoded');
  return { ...fields, to: getAddress(fields.to), hash: keccak256(raw), from };
}
