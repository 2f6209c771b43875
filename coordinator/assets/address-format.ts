// Parsing destination addresses (one-time addresses, whitelisted wallet addresses) for an asset:
// refuse what is not an address of the asset's chain and return the canonical form, so that a
// typo is an error before anything is signed and the same address always compares equal.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { base58, bech32, bech32m } from '@scure/base';
import { concatBytes } from '../../shared/bytes.js';
import { CosignerError } from '../../shared/errors.js';
import type { AssetDefinition } from './catalogue.js';
import { checksumEvmAddress } from './evm-address.js';

function invalid(asset: AssetDefinition, why: string): never {
  throw new CosignerError('ADDRESS_INVALID', `not a ${asset.id} address: ${why}`, { assetId: asset.id });
}

/** Solana: base58 (Bitcoin alphabet) of 32 bytes; any 32 bytes (program-derived addresses are off the curve). */
function solana(asset: AssetDefinition, text: string): string {
  if (!/^[1-9A-HJ-NP-Za-km-z]{32,44}$/.test(text)) invalid(asset, 'expected 32 to 44 base58 characters');
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(text);
  } catch {
    invalid(asset, 'not base58');
  }
  if (bytes.length !== 32) invalid(asset, `decodes to ${bytes.length} bytes, not 32`);
  return text;
}

/**
 * Bitcoin segwit addresses (BIP173, BIP350). Only outputs someone can actually spend with a key
 * are accepted: v0 in bech32 with a 20- or 32-byte program (P2WPKH, P2WSH), and v1 in bech32m
 * with a 32-byte program that is a valid x-only key (P2TR). Other versions and lengths are valid
 * encodings but, under today's consensus rules, anyone-can-spend; an x that is not on the curve
 * is unspendable. Legacy base58 addresses are not accepted.
 */
function segwit(asset: AssetDefinition, text: string, network: 'testnet'): string {
  const hrp = network === 'testnet' ? 'tb' : 'bc';
  if (text.length > 90) invalid(asset, 'longer than 90 characters');
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) invalid(asset, 'mixed case');
  const lower = text.toLowerCase();
  if (!lower.startsWith(`${hrp}1`)) invalid(asset, `expected a segwit address starting "${hrp}1" (legacy addresses are not supported)`);
  const asBech32 = bech32.decodeUnsafe(lower);
  const asBech32m = bech32m.decodeUnsafe(lower);
  const decoded = asBech32 || asBech32m;
  if (!decoded) invalid(asset, 'bad bech32/bech32m checksum or characters');
  // The separator is the last "1": "tb1…1…" would otherwise decode under another prefix.
  if (decoded.prefix !== hrp) invalid(asset, `expected the prefix "${hrp}"`);
  const [version, ...words] = decoded.words;
  if (version !== 0 && version !== 1) invalid(asset, `witness version ${version ?? '(none)'} is not supported (only v0 and v1 outputs are spendable by a key today)`);
  // BIP350: v0 uses the bech32 checksum, v1 and later the bech32m one.
  if (version === 0 ? !asBech32 : !asBech32m) invalid(asset, `witness v${version} must use ${version === 0 ? 'bech32' : 'bech32m'}`);
  const program = bech32.fromWordsUnsafe(words);
  if (!program) invalid(asset, 'bad padding');
  if (version === 0 && program.length !== 20 && program.length !== 32) invalid(asset, 'a v0 witness program is 20 or 32 bytes');
  if (version === 1) {
    if (program.length !== 32) invalid(asset, 'a v1 (Taproot) witness program is 32 bytes');
    try {
      secp256k1.Point.fromBytes(concatBytes(Uint8Array.of(2), program)).assertValidity(); // BIP340 lift_x
    } catch {
      invalid(asset, 'the Taproot output key is not a valid x coordinate, so nobody could spend it');
    }
  }
  return lower;
}

/** The canonical form of `text` as an address of `asset`'s chain, or ADDRESS_INVALID. */
export function normaliseAddress(asset: AssetDefinition, text: unknown): string {
  if (typeof text !== 'string' || text.length === 0) invalid(asset, 'expected a non-empty string');
  switch (asset.chain.family) {
    case 'EVM': {
      let address: string;
      try {
        address = checksumEvmAddress(text);
      } catch (e) {
        invalid(asset, e instanceof CosignerError ? e.message.replace(/^EVM address: /, '') : 'malformed');
      }
      if (/^0x0{40}$/.test(address)) invalid(asset, 'the zero address: whatever is sent there is lost');
      return address;
    }
    case 'SOLANA':
      return solana(asset, text);
    case 'BITCOIN':
      return segwit(asset, text, asset.chain.network);
  }
}
