// The EVM chain adapter: viem over JSON-RPC to one configured node and chain id. Every call that
// reads the chain checks, once per adapter, that the node serves the configured chain id, so a
// misconfigured URL (a mainnet node behind a testnet asset) fails before anything is signed.

import {
  createPublicClient,
  defineChain,
  encodeFunctionData,
  http,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  BlockNotFoundError,
  type PublicClient,
} from 'viem';
import type { Address, EvmAssetConfig, EvmChainAdapter, EvmSignature, EvmTransferRequest, Hex, TxStatus, UnsignedEvmTransfer } from '../chain-adapter.js';
import { ChainError } from '../chain-errors.js';
import { CosignerError } from '../../../shared/errors.js';
import { ERC20_ABI } from './erc20-abi.js';
import { assembleSigned, checkAddress, decodeSignedEvmTransaction, serializeUnsigned } from './evm-transaction.js';
import { suggestFees } from './fees.js';
import { toChainError } from './rpc-errors.js';

export interface EvmAdapterConfig {
  /** http(s) JSON-RPC URL of the node. */
  readonly rpcUrl: string;
  /** The chain id the node must serve (EIP-155). */
  readonly chainId: number;
  /** Per-request timeout; default 10 s. */
  readonly timeoutMs?: number;
  /** Retries of a request that failed on the network (viem's backoff); default 2. */
  readonly retryCount?: number;
  /** Refuse a transfer whose gas limit would exceed this; default 1 000 000. */
  readonly maxGas?: bigint;
  /** Refuse a transfer whose fee cap per gas would exceed this (wei); default: no cap. */
  readonly maxFeePerGasCap?: bigint;
}

const NATIVE_DECIMALS = 18;
const TRANSFER_GAS = 21_000n;
const MAX_UINT256 = (1n << 256n) - 1n;

export function createEvmAdapter(config: EvmAdapterConfig): EvmChainAdapter {
  return new EvmAdapter(config);
}

class EvmAdapter implements EvmChainAdapter {
  readonly family = 'EVM' as const;
  readonly chainId: number;
  private readonly client: PublicClient;
  private readonly maxGas: bigint;
  private readonly maxFeePerGasCap: bigint | undefined;
  private chainChecked: Promise<void> | undefined;

  constructor(config: EvmAdapterConfig) {
    let url: URL;
    try {
      url = new URL(config.rpcUrl);
    } catch {
      throw new CosignerError('CONFIG_INVALID', 'the EVM RPC URL is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CosignerError('CONFIG_INVALID', 'the EVM RPC URL must be http or https');
    if (!Number.isSafeInteger(config.chainId) || config.chainId <= 0) throw new CosignerError('CONFIG_INVALID', 'the EVM chain id must be a positive integer');
    this.chainId = config.chainId;
    this.maxGas = config.maxGas ?? 1_000_000n;
    this.maxFeePerGasCap = config.maxFeePerGasCap;
    const chain = defineChain({
      id: config.chainId,
      name: `evm-${config.chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: NATIVE_DECIMALS },
      rpcUrls: { default: { http: [config.rpcUrl] } },
    });
    this.client = createPublicClient({
      chain,
      // cacheTime 0: every read goes to the node (confirmations must see the newest block).
      cacheTime: 0,
      transport: http(config.rpcUrl, { timeout: config.timeoutMs ?? 10_000, retryCount: config.retryCount ?? 2, retryDelay: 200 }),
    });
  }

  /** Once per adapter; a failed check (e.g. node down) is retried on the next call. */
  private checkChain(): Promise<void> {
    if (!this.chainChecked) {
      this.chainChecked = (async () => {
        let id: number;
        try {
          id = await this.client.getChainId();
        } catch (e) {
          throw toChainError(e, 'reading the chain id');
        }
        if (id !== this.chainId) {
          throw new ChainError('CHAIN_ID_MISMATCH', `the node serves chain ${id}, configured for chain ${this.chainId}`, { nodeChainId: id, chainId: this.chainId });
        }
      })();
      this.chainChecked.catch(() => {
        this.chainChecked = undefined;
      });
    }
    return this.chainChecked;
  }

  private checkAsset(asset: EvmAssetConfig): void {
    if (asset === null || typeof asset !== 'object') throw new ChainError('CHAIN_INVALID_INPUT', 'asset is missing');
    if (asset.chainId !== this.chainId) {
      throw new ChainError('CHAIN_INVALID_INPUT', `asset ${asset.id} is on chain ${asset.chainId}, this adapter serves chain ${this.chainId}`);
    }
    if (asset.kind !== 'NATIVE' && asset.kind !== 'ERC20') throw new ChainError('CHAIN_INVALID_INPUT', `asset ${String((asset as { id?: unknown }).id)} has an unknown kind`);
    if (asset.kind === 'ERC20') checkAddress(asset.contract, `asset ${asset.id} contract`);
  }

  async buildTransfer(req: EvmTransferRequest): Promise<UnsignedEvmTransfer> {
    if (req === null || typeof req !== 'object') throw new ChainError('CHAIN_INVALID_INPUT', 'the transfer request is missing');
    this.checkAsset(req.asset);
    const from = checkAddress(req.from, 'from');
    const to = checkAddress(req.to, 'to');
    // Tokens or coins sent to the zero address are gone for good; no transfer means that.
    if (BigInt(to) === 0n) throw new ChainError('CHAIN_INVALID_INPUT', 'the destination is the zero address');
    if (typeof req.amount !== 'bigint' || req.amount <= 0n || req.amount > MAX_UINT256) {
      throw new ChainError('CHAIN_INVALID_INPUT', 'amount must be a bigint in base units, greater than 0 and below 2^256');
    }
    if (!Number.isSafeInteger(req.nonce) || req.nonce < 0) throw new ChainError('CHAIN_INVALID_INPUT', 'nonce must be a non-negative integer');
    await this.checkChain();

    const native = req.asset.kind === 'NATIVE';
    const txTo = req.asset.kind === 'NATIVE' ? to : getContract(req.asset);
    const value = native ? req.amount : 0n;
    const data: Hex = native ? '0x' : encodeFunctionData({ abi: ERC20_ABI, functionName: 'transfer', args: [to, req.amount] });

    const [estimate, fees, nativeBalance, code, used] = await Promise.all([
      this.client.estimateGas({ account: from, to: txTo, value, data }).catch((e) => {
        throw toChainError(e, 'estimating gas');
      }),
      suggestFees(this.client),
      this.client.getBalance({ address: from }).catch((e) => {
        throw toChainError(e, 'reading the source balance');
      }),
      this.client.getCode({ address: txTo }).catch((e) => {
        throw toChainError(e, 'reading the destination code');
      }),
      this.client.getTransactionCount({ address: from, blockTag: 'latest' }).catch((e) => {
        throw toChainError(e, 'reading the source nonce');
      }),
    ]);
    // A nonce the chain has already used can never be mined: refuse before anything is signed.
    if (req.nonce < used) {
      throw new ChainError('CHAIN_NONCE_CONFLICT', `nonce ${req.nonce} is already used on chain by ${from} (next is ${used})`, { nonce: req.nonce, next: used });
    }
    // A plain payment to an account without code runs nothing, so its estimate holds; anything
    // that runs code gets a margin, since the state it touches may change before inclusion (unused
    // gas is refunded, so the margin costs nothing but balance headroom).
    const runsCode = !native || (code !== undefined && code !== '0x');
    const gas = runsCode ? (estimate * 6n) / 5n : estimate;
    if (gas < TRANSFER_GAS) throw new ChainError('CHAIN_RPC_ERROR', `the node estimated ${estimate} gas, below the 21 000 every transaction costs`);
    if (gas > this.maxGas) throw new ChainError('CHAIN_TX_REJECTED', `the transfer needs ${gas} gas, above the configured limit ${this.maxGas}`);
    if (this.maxFeePerGasCap !== undefined && fees.maxFeePerGas > this.maxFeePerGasCap) {
      throw new ChainError('CHAIN_TX_REJECTED', `the fee cap ${fees.maxFeePerGas} wei/gas is above the configured cap ${this.maxFeePerGasCap}`);
    }
    const maxCost = gas * fees.maxFeePerGas + value;
    if (nativeBalance < maxCost) {
      throw new ChainError('CHAIN_INSUFFICIENT_FUNDS', `the source holds ${nativeBalance} wei, the transfer may cost up to ${maxCost} wei (amount and fee)`, {
        balance: nativeBalance.toString(),
        required: maxCost.toString(),
      });
    }
    return serializeUnsigned(from, {
      chainId: this.chainId,
      nonce: req.nonce,
      to: txTo,
      value,
      data,
      gas,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
  }

  assemble(unsigned: UnsignedEvmTransfer, signature: EvmSignature): Promise<Hex> {
    if (unsigned?.chainId !== this.chainId) return Promise.reject(new ChainError('CHAIN_TX_INVALID', `the transaction is for chain ${String(unsigned?.chainId)}, this adapter serves chain ${this.chainId}`));
    return assembleSigned(unsigned, signature);
  }

  async broadcast(raw: Hex): Promise<Hex> {
    const tx = await decodeSignedEvmTransaction(raw);
    if (tx.chainId !== this.chainId) throw new ChainError('CHAIN_TX_INVALID', `the transaction is for chain ${tx.chainId}, this adapter serves chain ${this.chainId}`);
    await this.checkChain();
    let sendError: ChainError;
    try {
      const hash = await this.client.request({ method: 'eth_sendRawTransaction', params: [raw] });
      if (typeof hash !== 'string' || hash.toLowerCase() !== tx.hash.toLowerCase()) {
        throw new ChainError('CHAIN_RPC_ERROR', 'the node returned another hash than the transaction has', { expected: tx.hash });
      }
      return tx.hash;
    } catch (e) {
      sendError = toChainError(e, 'broadcasting');
    }
    if (sendError.retryable) throw sendError;
    // Refused: maybe because the node already has this very transaction (a re-broadcast after a
    // crash: "already known" while pending, "nonce too low" once mined). The hash says for sure.
    if (await this.knows(tx.hash)) return tx.hash;
    if (/already known|known transaction|already imported|already exists/i.test(String(sendError.details?.node ?? ''))) {
      // The node says it holds a transaction with this hash, though its lookup does not show it yet.
      return tx.hash;
    }
    if (sendError.code === 'CHAIN_RPC_ERROR' && /underpriced|replacement/i.test(String(sendError.details?.node ?? ''))) {
      throw new ChainError('CHAIN_NONCE_CONFLICT', `broadcasting: another transaction with nonce ${tx.nonce} is pending from ${tx.from}`, { node: String(sendError.details?.node) });
    }
    if (sendError.code === 'CHAIN_RPC_ERROR') throw new ChainError('CHAIN_TX_REJECTED', sendError.message, sendError.details as Record<string, string>);
    throw sendError;
  }

  /** Whether the node has the transaction, pending or mined. */
  private async knows(hash: Hex): Promise<boolean> {
    try {
      await this.client.getTransaction({ hash });
      return true;
    } catch (e) {
      if (e instanceof TransactionNotFoundError) return false;
      throw toChainError(e, 'looking the transaction up');
    }
  }

  async confirmations(txHash: Hex): Promise<TxStatus> {
    if (typeof txHash !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(txHash)) throw new ChainError('CHAIN_INVALID_INPUT', 'a transaction hash is 32 bytes of 0x-prefixed hex');
    await this.checkChain();
    let receipt: Awaited<ReturnType<PublicClient['getTransactionReceipt']>>;
    try {
      receipt = await this.client.getTransactionReceipt({ hash: txHash });
    } catch (e) {
      if (!(e instanceof TransactionReceiptNotFoundError)) throw toChainError(e, 'reading the receipt');
      return { state: (await this.knows(txHash)) ? 'PENDING' : 'NOT_FOUND', confirmations: 0 };
    }
    let head: bigint;
    let canonical: Hex | null;
    try {
      [head, canonical] = await Promise.all([
        this.client.getBlockNumber({ cacheTime: 0 }),
        this.client.getBlock({ blockNumber: receipt.blockNumber }).then(
          (b) => b.hash,
          (e) => {
            if (e instanceof BlockNotFoundError) return null;
            throw e;
          },
        ),
      ]);
    } catch (e) {
      throw toChainError(e, 'reading the chain head');
    }
    // A receipt from a block that is no longer canonical (a reorg, or a load balancer mixing nodes)
    // counts as not yet included.
    if (canonical === null || canonical.toLowerCase() !== receipt.blockHash.toLowerCase() || head < receipt.blockNumber) {
      return { state: (await this.knows(txHash)) ? 'PENDING' : 'NOT_FOUND', confirmations: 0 };
    }
    const confirmations = Number(head - receipt.blockNumber + 1n);
    return {
      state: receipt.status === 'success' ? 'CONFIRMED' : 'FAILED',
      confirmations,
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash,
      gasUsed: receipt.gasUsed,
      effectiveGasPrice: receipt.effectiveGasPrice,
    };
  }

  async pendingNonce(address: Address): Promise<number> {
    const a = checkAddress(address, 'address');
    await this.checkChain();
    try {
      return await this.client.getTransactionCount({ address: a, blockTag: 'pending' });
    } catch (e) {
      throw toChainError(e, 'reading the pending nonce');
    }
  }

  async balance(address: Address, asset: EvmAssetConfig): Promise<bigint> {
    const a = checkAddress(address, 'address');
    this.checkAsset(asset);
    await this.checkChain();
    try {
      if (asset.kind === 'NATIVE') return await this.client.getBalance({ address: a });
      return await this.client.readContract({ address: getContract(asset), abi: ERC20_ABI, functionName: 'balanceOf', args: [a] });
    } catch (e) {
      throw toChainError(e, `reading the ${asset.id} balance`);
    }
  }

  async decimals(asset: EvmAssetConfig): Promise<number> {
    this.checkAsset(asset);
    if (asset.kind === 'NATIVE') return NATIVE_DECIMALS;
    await this.checkChain();
    try {
      return await this.client.readContract({ address: getContract(asset), abi: ERC20_ABI, functionName: 'decimals' });
    } catch (e) {
      throw toChainError(e, `reading the decimals of ${asset.id}`);
    }
  }
}

function getContract(asset: Extract<EvmAssetConfig, { kind: 'ERC20' }>): Address {
  return checkAddress(asset.contract, `asset ${asset.id} contract`);
}
