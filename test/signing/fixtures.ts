// Work item payloads shaped as the coordinator builds them (coordinator/mpc/signing-requests.ts,
// coordinator/transfers/transfer-pipeline.ts), and real EIP-1559 transfers serialised by viem.
import { randomBytes, randomUUID } from 'node:crypto';
import { encodeFunctionData, getAddress, keccak256, serializeTransaction, type Hex, type TransactionSerializableEIP1559 } from 'viem';

export const sessionId = () => randomBytes(32).toString('hex');
export const hash32 = () => randomBytes(32).toString('hex');

export const CHAIN_ID = 31337;
export const SOURCE = getAddress('0x' + 'a1'.repeat(20));
export const DESTINATION = getAddress('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'); // EIP-55 example
export const TOKEN = getAddress('0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359'); // EIP-55 example
export const ONE_ETH = 10n ** 18n;

export function keygenPayload(algorithm = 'MPC_ECDSA_SECP256K1') {
  return { sessionId: sessionId(), algorithm, coordinatorPartyId: 1, cosignerPartyId: 2 };
}

export function rawPayload(contents: string[] = [hash32()], algorithm = 'MPC_ECDSA_SECP256K1') {
  return {
    transactionId: randomUUID(),
    algorithm,
    coordinatorPartyId: 1,
    cosignerPartyId: 2,
    messages: contents.map((content, index) => ({ index, sessionId: sessionId(), content, derivationPath: [44, 1, 0, 0, index] })),
  };
}

export interface TxFields {
  chainId?: number;
  nonce?: number;
  to?: Hex;
  value?: bigint;
  data?: Hex;
  gas?: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  accessList?: TransactionSerializableEIP1559['accessList'];
}

/** An unsigned EIP-1559 transaction as the coordinator serialises it (viem), and its signing hash. */
export function eip1559(f: TxFields = {}): { serialized: Hex; hash: Hex } {
  const serialized = serializeTransaction({
    type: 'eip1559',
    chainId: f.chainId ?? CHAIN_ID,
    nonce: f.nonce ?? 7,
    to: f.to ?? DESTINATION,
    value: f.value ?? ONE_ETH,
    data: f.data ?? '0x',
    gas: f.gas ?? 21_000n,
    maxFeePerGas: f.maxFeePerGas ?? 2_000_000_000n,
    maxPriorityFeePerGas: f.maxPriorityFeePerGas ?? 1_000_000_000n,
    accessList: f.accessList ?? [],
  });
  return { serialized, hash: keccak256(serialized) };
}

export const ERC20_TRANSFER_ABI = [{
  type: 'function', name: 'transfer', stateMutability: 'nonpayable',
  inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }], outputs: [{ name: '', type: 'bool' }],
}] as const;

export const erc20Data = (to: Hex, amount: bigint): Hex => encodeFunctionData({ abi: ERC20_TRANSFER_ABI, functionName: 'transfer', args: [to, amount] });

/** A TRANSFER's SIGN payload: one message whose content is the keccak256 of `serializedUnsigned`. */
export function transferPayload(f: TxFields = {}, amount = (f.value ?? ONE_ETH).toString()) {
  const { serialized, hash } = eip1559(f);
  return {
    transactionId: randomUUID(),
    algorithm: 'MPC_ECDSA_SECP256K1',
    coordinatorPartyId: 1,
    cosignerPartyId: 2,
    messages: [{ index: 0, sessionId: sessionId(), content: hash.slice(2), derivationPath: [44, 1, 0, 0, 0] }],
    transfer: { assetId: 'ETH_TEST5', chainId: f.chainId ?? CHAIN_ID, from: SOURCE, serializedUnsigned: serialized, to: f.to ?? DESTINATION, amount },
  };
}
