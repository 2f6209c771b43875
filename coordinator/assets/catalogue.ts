// The assets a workspace supports, by their Fireblocks ids (what both SDKs send), with what the
// coordinator needs to serve them: the signing algorithm and master key, the BIP44 coin type,
// the address format, decimals, and the chain. Testnet assets only; "for Testnet assets,
// coin_type is always 1" (Fireblocks docs), so ETH_TEST5 and BTC_TEST share coin type 1 but
// never a key: they use different master keys (ECDSA vs BIP340).
import { Type, type Static } from '@sinclair/typebox';
import { CosignerError } from '../../shared/errors.js';
import { checksumEvmAddress } from './evm-address.js';

/** Fireblocks' algorithm names, plus ours for BIP340 Schnorr (Taproot), which Fireblocks lacks. */
export type AssetAlgorithm = 'MPC_ECDSA_SECP256K1' | 'MPC_EDDSA_ED25519' | 'MPC_BIP340_SECP256K1';
export const ASSET_ALGORITHMS: readonly AssetAlgorithm[] = ['MPC_ECDSA_SECP256K1', 'MPC_EDDSA_ED25519', 'MPC_BIP340_SECP256K1'];

export type AddressFormat = 'EVM' | 'SOLANA' | 'TAPROOT';

export type AssetChain =
  | { family: 'EVM'; chainId: number }
  | { family: 'SOLANA'; network: 'devnet' }
  | { family: 'BITCOIN'; network: 'testnet' };

export interface AssetDefinition {
  id: string;
  name: string;
  /** Fireblocks asset type: BASE_ASSET for a chain's native coin, ERC20 for a token. */
  type: 'BASE_ASSET' | 'ERC20';
  /** The chain's native asset id (itself for a base asset): pays the fees. */
  nativeAsset: string;
  decimals: number;
  /** Token contract (EIP-55); "" for a native asset, as Fireblocks returns it. */
  contractAddress: string;
  algorithm: AssetAlgorithm;
  /** BIP44 coin type in [44, coin, account, change, index]. */
  coinType: number;
  addressFormat: AddressFormat;
  chain: AssetChain;
}

/** One entry of GET /v1/supported_assets (AssetTypeResponse of both SDKs); the response schema. */
export const SupportedAssetSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    type: Type.String(),
    contractAddress: Type.String({ description: 'token contract, "" for a native asset' }),
    nativeAsset: Type.String(),
    decimals: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type SupportedAsset = Static<typeof SupportedAssetSchema>;

export interface AssetCatalogueConfig {
  /** Chain id of the configured EVM RPC (e.g. 31337 for a local Hardhat node). */
  evmChainId: number;
  /** The ERC-20 test token (TTK_TEST), known only once deployed; absent → not supported. */
  testToken?: { contractAddress: string; decimals?: number };
}

export const TESTNET_COIN_TYPE = 1;
/** The local devnet's ERC-20, configured at runtime because the local stack deploys it at start. */
export const TEST_TOKEN_ID = 'TTK_TEST';
const TOKEN_DECIMALS_DEFAULT = 18;

function configInvalid(why: string): never {
  throw new CosignerError('CONFIG_INVALID', `asset catalogue: ${why}`);
}

function checkConfig(config: AssetCatalogueConfig): void {
  if (typeof config !== 'object' || config === null) configInvalid('expected {evmChainId, testToken?}');
  const { evmChainId, testToken } = config;
  // EIP-155 chain ids are positive; 2^53 − 1 keeps them exact as JSON numbers.
  if (!Number.isSafeInteger(evmChainId) || evmChainId < 1) configInvalid('evmChainId must be a positive integer');
  if (testToken !== undefined) {
    if (typeof testToken !== 'object' || testToken === null || typeof testToken.contractAddress !== 'string') configInvalid('testToken must be {contractAddress, decimals?}');
    const d = testToken.decimals;
    if (d !== undefined && (!Number.isSafeInteger(d) || d < 0 || d > 36)) configInvalid('testToken.decimals must be an integer in 0..36');
  }
}

export class AssetCatalogue {
  readonly #assets: ReadonlyMap<string, Readonly<AssetDefinition>>;

  constructor(config: AssetCatalogueConfig) {
    checkConfig(config);
    const evm: AssetChain = { family: 'EVM', chainId: config.evmChainId };
    const list: AssetDefinition[] = [
      { id: 'ETH_TEST5', name: 'Ethereum Test', type: 'BASE_ASSET', nativeAsset: 'ETH_TEST5', decimals: 18, contractAddress: '', algorithm: 'MPC_ECDSA_SECP256K1', coinType: TESTNET_COIN_TYPE, addressFormat: 'EVM', chain: evm },
    ];
    if (config.testToken) {
      let contractAddress: string;
      try {
        contractAddress = checksumEvmAddress(config.testToken.contractAddress);
      } catch {
        configInvalid('testToken.contractAddress is not an EVM address (0x and 40 hex digits, EIP-55 checksum if mixed case)');
      }
      if (/^0x0{40}$/.test(contractAddress)) configInvalid('testToken.contractAddress is the zero address');
      list.push({
        id: TEST_TOKEN_ID, name: 'Test Token', type: 'ERC20', nativeAsset: 'ETH_TEST5', decimals: config.testToken.decimals ?? TOKEN_DECIMALS_DEFAULT,
        contractAddress, algorithm: 'MPC_ECDSA_SECP256K1', coinType: TESTNET_COIN_TYPE, addressFormat: 'EVM', chain: evm,
      });
    }
    list.push(
      { id: 'SOL_TEST', name: 'Solana Test', type: 'BASE_ASSET', nativeAsset: 'SOL_TEST', decimals: 9, contractAddress: '', algorithm: 'MPC_EDDSA_ED25519', coinType: TESTNET_COIN_TYPE, addressFormat: 'SOLANA', chain: { family: 'SOLANA', network: 'devnet' } },
      { id: 'BTC_TEST', name: 'Bitcoin Test', type: 'BASE_ASSET', nativeAsset: 'BTC_TEST', decimals: 8, contractAddress: '', algorithm: 'MPC_BIP340_SECP256K1', coinType: TESTNET_COIN_TYPE, addressFormat: 'TAPROOT', chain: { family: 'BITCOIN', network: 'testnet' } },
    );
    this.#assets = new Map(list.map((a) => [a.id, Object.freeze({ ...a, chain: Object.freeze({ ...a.chain }) })]));
  }

  /** Every supported asset, in a stable order. */
  list(): readonly Readonly<AssetDefinition>[] {
    return [...this.#assets.values()];
  }

  has(id: unknown): boolean {
    return typeof id === 'string' && this.#assets.has(id);
  }

  /** The asset, or ASSET_UNKNOWN (the API answers 404 with code 1006). */
  get(id: unknown): Readonly<AssetDefinition> {
    const a = typeof id === 'string' ? this.#assets.get(id) : undefined;
    if (!a) {
      const shown = typeof id === 'string' ? JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id) : typeof id;
      throw new CosignerError('ASSET_UNKNOWN', `asset ${shown} is not supported`);
    }
    return a;
  }

  /** The body of GET /v1/supported_assets. */
  supportedAssets(): SupportedAsset[] {
    return this.list().map((a) => ({ id: a.id, name: a.name, type: a.type, contractAddress: a.contractAddress, nativeAsset: a.nativeAsset, decimals: a.decimals }));
  }
}
