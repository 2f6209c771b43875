// Ethereum addresses. Yellow Paper (Appendix F, eq. 284): the address of a key is the last 20
// bytes of KECCAK-256 of the 64-byte uncompressed public key X ‖ Y (no 0x04 prefix).
// EIP-55 mixed-case checksum: hash = keccak256(lowercase hex digits as ASCII); the i-th hex
// letter is upper-case when the i-th nibble of the hash is ≥ 8.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { CosignerError } from '../../shared/errors.js';

function invalid(why: string): never {
  throw new CosignerError('ADDRESS_INVALID', `EVM address: ${why}`);
}

function eip55(lowerHex: string): string {
  const hash = keccak_256(new TextEncoder().encode(lowerHex));
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1]! >> (i % 2 === 0 ? 4 : 0)) & 0x0f;
    const c = lowerHex[i]!;
    out += nibble >= 8 ? c.toUpperCase() : c;
  }
  return out;
}

/** EIP-55 address of a secp256k1 public key (33-byte compressed or 65-byte uncompressed). */
export function evmAddressFromPublicKey(publicKey: Uint8Array): string {
  let point;
  try {
    point = secp256k1.Point.fromBytes(publicKey);
    point.assertValidity();
  } catch {
    throw new CosignerError('KEY_DERIVATION_INVALID', 'not a valid secp256k1 public key');
  }
  const xy = point.toBytes(false).subarray(1);
  return eip55(Buffer.from(keccak_256(xy).subarray(12)).toString('hex'));
}

/**
 * Parse an address as a client writes it and return its EIP-55 form. All-lower or all-upper
 * hex carries no checksum and is accepted; mixed case must be a correct checksum (a typo in a
 * checksummed address is caught rather than sent funds to).
 */
export function checksumEvmAddress(text: unknown): string {
  if (typeof text !== 'string') invalid('expected a string');
  if (!/^0x[0-9a-fA-F]{40}$/.test(text)) invalid('expected 0x and 40 hex digits');
  const digits = text.slice(2);
  const checksummed = eip55(digits.toLowerCase());
  const mixed = digits !== digits.toLowerCase() && digits !== digits.toUpperCase();
  if (mixed && checksummed !== text) invalid('mixed-case address with a wrong EIP-55 checksum');
  return checksummed;
}
