// Funding from a development node's own unlocked account (eth_sendTransaction), so the local
// stack can give new vault addresses ether and test tokens without any private key in the
// coordinator. Works only on development nodes (Hardhat, Anvil, geth --dev): real nodes and RPC
// providers hold no unlocked accounts and refuse eth_sendTransaction.

import { createWalletClient, createPublicClient, defineChain, encodeFunctionData, getAddress, http, type PublicClient, type WalletClient, type Chain } from 'viem';
import type { Address, Hex } from '../chain-adapter.js';
import { ChainError } from '../chain-errors.js';
import { checkAddress } from './evm-transaction.js';
import { toChainError } from './rpc-errors.js';

/** The mint function of a development token (scripts/devnet/TestToken.sol). */
const MINT_ABI = [
  { type: 'function', name: 'mint', stateMutability: 'nonpayable', inputs: [{ name: 'to', type: 'address' }, { name: 'value', type: 'uint256' }], outputs: [] },
] as const;

export interface DevFaucetConfig {
  readonly rpcUrl: string;
  readonly chainId: number;
  /** The unlocked account to pay from; default the node's first account. */
  readonly account?: Address;
  /** How long to wait for each transaction to be mined; default 60 s. */
  readonly timeoutMs?: number;
}

export interface DevFaucet {
  readonly account: Address;
  /** Sends `wei` to `to`; resolves with the hash once mined successfully. */
  sendNative(to: Address, wei: bigint): Promise<Hex>;
  /** Calls mint(to, amount) on `token` as the faucet account; resolves with the hash once mined successfully. */
  mintToken(token: Address, to: Address, amount: bigint): Promise<Hex>;
}

export async function createDevFaucet(config: DevFaucetConfig): Promise<DevFaucet> {
  const chain = defineChain({
    id: config.chainId,
    name: `dev-${config.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
  const transport = http(config.rpcUrl, { timeout: 30_000, retryCount: 0 });
  const pub = createPublicClient({ chain, transport, cacheTime: 0, pollingInterval: 50 });
  const wallet = createWalletClient({ chain, transport });
  let id: number;
  let accounts: Address[];
  try {
    [id, accounts] = await Promise.all([pub.getChainId(), wallet.getAddresses()]);
  } catch (e) {
    throw toChainError(e, 'connecting the dev faucet');
  }
  if (id !== config.chainId) throw new ChainError('CHAIN_ID_MISMATCH', `the node serves chain ${id}, the faucet is configured for chain ${config.chainId}`);
  const wanted = config.account ? checkAddress(config.account, 'faucet account') : accounts[0];
  if (!wanted || !accounts.some((a) => getAddress(a) === getAddress(wanted))) {
    throw new ChainError('CHAIN_UNSUPPORTED', 'the node has no unlocked account to fund from (not a development node?)');
  }
  return new Faucet(getAddress(wanted), pub, wallet, chain, config.timeoutMs ?? 60_000);
}

class Faucet implements DevFaucet {
  constructor(
    readonly account: Address,
    private readonly pub: PublicClient,
    private readonly wallet: WalletClient,
    private readonly chain: Chain,
    private readonly timeoutMs: number,
  ) {}

  private async send(what: string, to: Address, value: bigint, data: Hex): Promise<Hex> {
    let hash: Hex;
    try {
      hash = await this.wallet.sendTransaction({ account: this.account, chain: this.chain, to, value, data });
    } catch (e) {
      throw toChainError(e, what);
    }
    let status: string;
    try {
      status = (await this.pub.waitForTransactionReceipt({ hash, timeout: this.timeoutMs })).status;
    } catch (e) {
      throw toChainError(e, `${what}: waiting for the receipt`);
    }
    if (status !== 'success') throw new ChainError('CHAIN_EXECUTION_REVERTED', `${what}: transaction ${hash} reverted`);
    return hash;
  }

  sendNative(to: Address, wei: bigint): Promise<Hex> {
    if (typeof wei !== 'bigint' || wei <= 0n) return Promise.reject(new ChainError('CHAIN_INVALID_INPUT', 'the amount must be a positive bigint of wei'));
    return this.send('funding', checkAddress(to, 'to'), wei, '0x');
  }

  mintToken(token: Address, to: Address, amount: bigint): Promise<Hex> {
    if (typeof amount !== 'bigint' || amount <= 0n) return Promise.reject(new ChainError('CHAIN_INVALID_INPUT', 'the amount must be a positive bigint of base units'));
    return this.mint(checkAddress(token, 'token'), checkAddress(to, 'to'), amount);
  }

  private async mint(token: Address, to: Address, amount: bigint): Promise<Hex> {
    // A call to an address without code "succeeds" and mints nothing.
    let code: Hex | undefined;
    try {
      code = await this.pub.getCode({ address: token });
    } catch (e) {
      throw toChainError(e, 'minting: reading the token code');
    }
    if (!code || code === '0x') throw new ChainError('CHAIN_INVALID_INPUT', `minting: no contract at ${token}`);
    const data = encodeFunctionData({ abi: MINT_ABI, functionName: 'mint', args: [to, amount] });
    return this.send('minting', token, 0n, data);
  }
}
