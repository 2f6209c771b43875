// Deposit addresses from a workspace's master public keys (one per algorithm, made by DKG), by
// the non-hardened BIP44 path [44, coin, account, change, index]. Only public keys are used, so
// anyone holding the exported xpub derives the same addresses with a standard wallet library:
//   MPC_ECDSA_SECP256K1  BIP32 CKDpub → EIP-55 Ethereum address (evm-address.ts)
//   MPC_EDDSA_ED25519    Fireblocks-style additive Ed25519 derivation → base58 of the 32-byte key
//   MPC_BIP340_SECP256K1 BIP32 CKDpub → internal key P → BIP341/BIP86 key-path-only output key
//                        Q = lift_x(x(P)) + hash_TapTweak(x(P))·G → segwit v1 bech32m address
import { base58, bech32m } from '@scure/base';
import { CosignerError } from '../../shared/errors.js';
import {
  checkNonHardenedPath,
  deriveEd25519,
  deriveSecp256k1,
  encodeXpub,
  TPUB_VERSION,
  XPUB_VERSION,
  type Ed25519ExtendedPublicKey,
  type Secp256k1ExtendedPublicKey,
} from '../../shared/mpc/derivation/index.js';
import { taprootOutputKey } from '../../shared/mpc/frost/tweak.js';
import type { AssetAlgorithm, AssetDefinition } from './catalogue.js';
import { evmAddressFromPublicKey } from './evm-address.js';

/** A workspace's master public keys, by algorithm; absent until that key's DKG has completed. */
export interface MasterPublicKeys {
  MPC_ECDSA_SECP256K1?: Secp256k1ExtendedPublicKey;
  MPC_EDDSA_ED25519?: Ed25519ExtendedPublicKey;
  /** The untweaked FROST group key (33-byte compressed, any Y parity) and its chain code. */
  MPC_BIP340_SECP256K1?: Secp256k1ExtendedPublicKey;
}

export type BitcoinNetwork = 'mainnet' | 'testnet' | 'regtest';
/** BIP173 human-readable parts. */
const HRP: Record<BitcoinNetwork, string> = { mainnet: 'bc', testnet: 'tb', regtest: 'bcrt' };

export interface DerivedKey {
  /** 33-byte compressed secp256k1 point (for BIP340: the internal key), or 32-byte Ed25519 key. */
  publicKey: Uint8Array;
  chainCode: Uint8Array;
  /** The path actually used (BIP32 skips an index whose key is invalid; probability < 2^-127). */
  derivationPath: number[];
}

export interface DerivedAddress extends DerivedKey {
  assetId: string;
  algorithm: AssetAlgorithm;
  address: string;
  /** BIP340 only: the x-only Taproot output key the address commits to. */
  taprootOutputKey?: Uint8Array;
}

/** [44, coin, account, change, index], every component a non-hardened index (< 2^31). */
export function bip44Path(coinType: number, account: number, change: number, index: number): number[] {
  return checkNonHardenedPath([44, coinType, account, change, index]);
}

function masterKey<A extends AssetAlgorithm>(keys: MasterPublicKeys, algorithm: A): NonNullable<MasterPublicKeys[A]> {
  const k = keys[algorithm];
  if (!k) throw new CosignerError('MPC_STATE', `the workspace has no ${algorithm} master key yet (key generation has not completed)`);
  return k as NonNullable<MasterPublicKeys[A]>;
}

/** The child public key of the workspace's `algorithm` master key at `path`. */
export function deriveChildKey(keys: MasterPublicKeys, algorithm: AssetAlgorithm, path: readonly number[]): DerivedKey {
  const steps = checkNonHardenedPath([...path]);
  if (algorithm === 'MPC_EDDSA_ED25519') {
    const d = deriveEd25519(masterKey(keys, algorithm), steps);
    return { publicKey: d.publicKey, chainCode: d.chainCode, derivationPath: steps };
  }
  if (algorithm === 'MPC_ECDSA_SECP256K1' || algorithm === 'MPC_BIP340_SECP256K1') {
    const d = deriveSecp256k1(masterKey(keys, algorithm), steps);
    return { publicKey: d.publicKey, chainCode: d.chainCode, derivationPath: d.path };
  }
  throw new CosignerError('KEY_DERIVATION_INVALID', `unknown algorithm ${String(algorithm).slice(0, 32)}`);
}

/** Solana: the address is the base58 text of the 32-byte Ed25519 public key. */
export function solanaAddressFromPublicKey(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new CosignerError('KEY_DERIVATION_INVALID', 'an Ed25519 public key is 32 bytes');
  return base58.encode(publicKey);
}

/**
 * BIP86 / BIP341 key-path-only P2TR address of an internal key (33-byte compressed or 32-byte
 * x-only): witness v1 program = x-only output key, bech32m (BIP350).
 */
export function taprootAddressFromInternalKey(internalKey: Uint8Array, network: BitcoinNetwork): { address: string; outputKey: Uint8Array } {
  const outputKey = taprootOutputKey(internalKey);
  const hrp = HRP[network];
  if (!hrp) throw new CosignerError('INTERNAL', 'unknown bitcoin network');
  return { address: bech32m.encode(hrp, [1, ...bech32m.toWords(outputKey)]), outputKey };
}

/** The address of an asset's wallet: [44, coinType, account, change, index] of its algorithm's key. */
export function deriveAddress(asset: AssetDefinition, keys: MasterPublicKeys, at: { account: number; change?: number; index?: number }): DerivedAddress {
  const path = bip44Path(asset.coinType, at.account, at.change ?? 0, at.index ?? 0);
  const child = deriveChildKey(keys, asset.algorithm, path);
  const base = { ...child, assetId: asset.id, algorithm: asset.algorithm };
  switch (asset.addressFormat) {
    case 'EVM':
      return { ...base, address: evmAddressFromPublicKey(child.publicKey) };
    case 'SOLANA':
      return { ...base, address: solanaAddressFromPublicKey(child.publicKey) };
    case 'TAPROOT': {
      const network = asset.chain.family === 'BITCOIN' ? asset.chain.network : undefined;
      if (!network) throw new CosignerError('INTERNAL', `asset ${asset.id} has a Taproot address but no bitcoin network`);
      const t = taprootAddressFromInternalKey(child.publicKey, network);
      return { ...base, address: t.address, taprootOutputKey: t.outputKey };
    }
  }
}

/**
 * The master key as a BIP32 extended public key (depth 0), for export: what a wallet library
 * (e.g. @scure/bip32 HDKey.fromExtendedKey) needs to re-derive every address independently.
 * Ed25519 keys have no standard xpub; Fireblocks' "fpub" puts 0x00 ‖ A in the key field, and
 * a caller can build that with encodeXpub's layout if needed.
 */
export function masterXpub(key: Secp256k1ExtendedPublicKey, network: 'mainnet' | 'testnet' = 'mainnet'): string {
  return encodeXpub({ publicKey: key.publicKey, chainCode: key.chainCode, depth: 0, parentFingerprint: 0, index: 0 }, network === 'mainnet' ? XPUB_VERSION : TPUB_VERSION);
}
