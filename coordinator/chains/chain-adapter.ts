// What the coordinator asks of a chain, one interface per chain family. The coordinator builds an
// unsigned transaction and the exact hash to sign, has it signed by MPC, assembles the signed
// transaction, broadcasts it and follows it to confirmation; balances and nonces come from the node.
// Amounts are always exact integers in the asset's base units (wei, token units); conversion from
// the API's decimal strings is in amount.ts.

/** 0x-prefixed hex, the form JSON-RPC and viem use. */
export type Hex = `0x${string}`;
/** A 20-byte EVM address, 0x-prefixed (EIP-55 checksummed when the adapter returns one). */
export type Address = `0x${string}`;

/** An asset on an EVM chain: the chain's native coin, or an ERC-20 token contract. */
export type EvmAssetConfig =
  | { readonly id: string; readonly chainId: number; readonly kind: 'NATIVE'; readonly decimals: number }
  | { readonly id: string; readonly chainId: number; readonly kind: 'ERC20'; readonly contract: Address; readonly decimals: number };

export interface EvmTransferRequest {
  readonly asset: EvmAssetConfig;
  readonly from: Address;
  /** The recipient; for an ERC-20 the transaction itself goes to the token contract. */
  readonly to: Address;
  /** Base units (wei for the native coin, the token's smallest unit for an ERC-20); > 0. */
  readonly amount: bigint;
  /** A nonce reserved through a NonceAllocator (see nonce-allocator.ts). */
  readonly nonce: number;
}

/** An EIP-1559 (type 2) transaction ready to be signed. */
export interface UnsignedEvmTransfer {
  readonly chainId: number;
  /** The source; assemble() checks the signature recovers to it. */
  readonly from: Address;
  readonly nonce: number;
  /** The recipient for the native coin, the token contract for an ERC-20. */
  readonly to: Address;
  readonly value: bigint;
  readonly data: Hex;
  readonly gas: bigint;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
  /** 0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList]) (EIP-1559). */
  readonly serializedUnsigned: Hex;
  /** keccak256(serializedUnsigned): the 32 bytes the MPC parties sign. */
  readonly signingHash: Hex;
}

/** An ECDSA secp256k1 signature over `signingHash`; v is the y-parity (0/1), s must be low (EIP-2). */
export interface EvmSignature {
  readonly r: Hex;
  readonly s: Hex;
  readonly v: 0 | 1;
}

export type TxState = 'PENDING' | 'CONFIRMED' | 'FAILED' | 'NOT_FOUND';

/**
 * Where a broadcast transaction stands. PENDING: the node has it, not yet in a block. CONFIRMED:
 * included and succeeded; `confirmations` counts the including block as 1, so compare it with the
 * required depth. FAILED: included and reverted (the fee is spent, the nonce used). NOT_FOUND: the
 * node does not know it (never arrived, dropped from the mempool, or its block was reorganised away):
 * broadcast the same raw transaction again. A state may go back (CONFIRMED → PENDING after a reorg).
 */
export interface TxStatus {
  readonly state: TxState;
  readonly confirmations: number;
  readonly blockNumber?: bigint;
  readonly blockHash?: Hex;
  readonly gasUsed?: bigint;
  readonly effectiveGasPrice?: bigint;
}

/** What every chain family offers: broadcast, follow, read balances and nonces. */
export interface ChainAdapter<TAsset, TUnsigned, TSignature, TAddress extends string = string> {
  readonly family: string;
  /** The chain this adapter is configured for (checked against the node). */
  readonly chainId: number;
  /** The signed transaction ready to broadcast; verifies the signature belongs to the source. */
  assemble(unsigned: TUnsigned, signature: TSignature): Promise<Hex>;
  /**
   * Sends a signed transaction and returns its hash. Idempotent: sending the same transaction again
   * (after a crash) succeeds whenever the node already has it, pending or mined.
   */
  broadcast(raw: Hex): Promise<Hex>;
  confirmations(txHash: Hex): Promise<TxStatus>;
  /** The next nonce as the node sees it, pending transactions included. */
  pendingNonce(address: TAddress): Promise<number>;
  /** The balance in base units. */
  balance(address: TAddress, asset: TAsset): Promise<bigint>;
  /** The asset's decimals as the chain reports them. */
  decimals(asset: TAsset): Promise<number>;
}

export interface EvmChainAdapter extends ChainAdapter<EvmAssetConfig, UnsignedEvmTransfer, EvmSignature, Address> {
  readonly family: 'EVM';
  /** Builds the transaction with gas and fees from the node; does not reserve the nonce. */
  buildTransfer(req: EvmTransferRequest): Promise<UnsignedEvmTransfer>;
}
