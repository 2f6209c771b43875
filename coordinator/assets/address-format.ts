// Parsing destination addresses (one-time addresses, whitelisted wallet addresses) for an asset:
// refuse what is not an address of the asset's chain and return the canonical form, so that a
// typo is an error before anything is signed and the same address always compares equal.
import { base58, bech32, bech32m } from '@scure/base';
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
 * Bitcoin segwit addresses (BIP173, BIP350): witness v0 in bech32 with a 20- or 32-byte program,
 * v1..16 in bech32m with 2..40 bytes. Legacy base58 addresses are not accepted.
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
  const [version, ...words] = decoded.words;
  if (version === undefined || version > 16) invalid(asset, 'bad witness version');
  // BIP350: v0 uses the bech32 checksum, v1 and later the bech32m one.
  if (version === 0 ? !asBech32 : !asBech32m) invalid(asset, `witness v${version} must use ${version === 0 ? 'bech32' : 'bech32m'}`);
  const program = bech32.fromWordsUnsafe(words);
  if (!program) invalid(asset, 'bad padding');
  if (program.length < 2 || program.length > 40) invalid(asset, 'witness program must be 2 to 40 bytes');
  if (version === 0 && program.length !== 20 && program.length !== 32) invalid(asset, 'a v0 witness program is 20 or 32 bytes');
  return lower;
}

/** The canonical form of `text` as an address of `asset`'s chain, or ADDRESS_INVALID. */
export function normaliseAddress(asset: AssetDefinition, text: unknown): string {
  if (typeof text !== 'string' || text.length === 0) invalid(asset, 'expected a non-empty string');
  switch (asset.chain.family) {
    case 'EVM':
      try {
        return checksumEvmAddress(text);
      } catch (e) {
        invalid(asset, e instanceof CosignerError ? e.message.replace(/^EVM address: /, '') : 'malformed');
      }
    case 'SOLANA':
      return solana(asset, text);
    case 'BITCOIN':
      return segwit(asset, text, asset.chain.network);
  }
}
