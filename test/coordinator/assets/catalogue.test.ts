// The asset catalogue: what GET /v1/supported_assets returns, the runtime-configured ERC-20,
// and typed errors for unknown assets and bad configuration.
import { expect } from 'chai';
import { getAddress } from 'viem';
import { isCosignerError, type ErrorCode } from '../../../shared/errors.js';
import { Value } from '@sinclair/typebox/value';
import { AssetCatalogue, SupportedAssetSchema, type AssetCatalogueConfig } from '../../../coordinator/assets/index.js';

const TOKEN = '0x5fbdb2315678afecb367f032d93f642f64180aa3'; // an address as a devnet prints it (lower case)

function expectCode(fn: () => unknown, code: ErrorCode): void {
  expect(fn).to.throw().that.satisfies((e: unknown) => isCosignerError(e, code));
}

describe('asset catalogue', () => {
  it('without a deployed token: ETH_TEST5, SOL_TEST, BTC_TEST in the supported_assets shape', () => {
    const c = new AssetCatalogue({ evmChainId: 31337 });
    expect(c.supportedAssets()).to.deep.equal([
      { id: 'ETH_TEST5', name: 'Ethereum Test', type: 'BASE_ASSET', contractAddress: '', nativeAsset: 'ETH_TEST5', decimals: 18 },
      { id: 'SOL_TEST', name: 'Solana Test', type: 'BASE_ASSET', contractAddress: '', nativeAsset: 'SOL_TEST', decimals: 9 },
      { id: 'BTC_TEST', name: 'Bitcoin Test', type: 'BASE_ASSET', contractAddress: '', nativeAsset: 'BTC_TEST', decimals: 8 },
    ]);
    expect(c.has('TTK_TEST')).to.equal(false);
    expect(c.get('ETH_TEST5')).to.deep.include({ algorithm: 'MPC_ECDSA_SECP256K1', coinType: 1, addressFormat: 'EVM', chain: { family: 'EVM', chainId: 31337 } });
    expect(c.get('SOL_TEST')).to.deep.include({ algorithm: 'MPC_EDDSA_ED25519', coinType: 1, addressFormat: 'SOLANA' });
    expect(c.get('BTC_TEST')).to.deep.include({ algorithm: 'MPC_BIP340_SECP256K1', coinType: 1, addressFormat: 'TAPROOT', chain: { family: 'BITCOIN', network: 'testnet' } });
  });

  it('with the devnet token configured: TTK_TEST, an ERC20 on ETH_TEST5 with its EIP-55 contract address', () => {
    const c = new AssetCatalogue({ evmChainId: 11155111, testToken: { contractAddress: TOKEN } });
    const ttk = c.supportedAssets().find((a) => a.id === 'TTK_TEST');
    expect(ttk).to.deep.equal({ id: 'TTK_TEST', name: 'Test Token', type: 'ERC20', contractAddress: getAddress(TOKEN), nativeAsset: 'ETH_TEST5', decimals: 18 });
    expect(c.get('TTK_TEST').chain).to.deep.equal({ family: 'EVM', chainId: 11155111 });
    for (const a of c.supportedAssets()) expect(Value.Check(SupportedAssetSchema, a), a.id).to.equal(true);
    expect(new AssetCatalogue({ evmChainId: 1, testToken: { contractAddress: TOKEN, decimals: 6 } }).get('TTK_TEST').decimals).to.equal(6);
  });

  it('unknown or non-string asset ids are ASSET_UNKNOWN; entries cannot be changed', () => {
    const c = new AssetCatalogue({ evmChainId: 31337 });
    for (const id of ['ETH', 'eth_test5', '', 'TTK_TEST', '__proto__', 'constructor', 5, null, undefined]) expectCode(() => c.get(id), 'ASSET_UNKNOWN');
    expect(c.has('__proto__')).to.equal(false);
    expect(() => { (c.get('ETH_TEST5') as { decimals: number }).decimals = 6; }).to.throw(TypeError);
    expect(() => { (c.get('ETH_TEST5').chain as { chainId: number }).chainId = 1; }).to.throw(TypeError);
    expect(c.get('ETH_TEST5').decimals).to.equal(18);
  });

  it('bad configuration is CONFIG_INVALID', () => {
    const bad: unknown[] = [
      undefined, {}, { evmChainId: 0 }, { evmChainId: -1 }, { evmChainId: 1.5 }, { evmChainId: '31337' }, { evmChainId: 2 ** 53 },
      { evmChainId: 1, testToken: {} }, { evmChainId: 1, testToken: { contractAddress: '0x1234' } },
      { evmChainId: 1, testToken: { contractAddress: TOKEN.replace('0x5f', '0x5F') } }, // mixed case, wrong checksum
      { evmChainId: 1, testToken: { contractAddress: '0x' + '0'.repeat(40) } },
      { evmChainId: 1, testToken: { contractAddress: TOKEN, decimals: 37 } }, { evmChainId: 1, testToken: { contractAddress: TOKEN, decimals: -1 } },
    ];
    for (const cfg of bad) expectCode(() => new AssetCatalogue(cfg as AssetCatalogueConfig), 'CONFIG_INVALID');
  });
});
