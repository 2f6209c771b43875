// BIP32 extended public key serialisation:
//   version(4) ‖ depth(1) ‖ parent fingerprint(4) ‖ child number(4) ‖ chain code(32) ‖ serP(K)(33)
// Base58Check encoded. 0x0488B21E is mainnet "xpub", 0x043587CF testnet "tpub".
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { CosignerError } from '../../errors.js';
import { base58CheckDecode, base58CheckEncode } from './base58check.js';

export const XPUB_VERSION = 0x0488b21e;
export const TPUB_VERSION = 0x043587cf;

export interface ExtendedKeyFields {
  publicKey: Uint8Array;
  chainCode: Uint8Array;
  depth: number;
  parentFingerprint: number;
  index: number;
}

function invalid(why: string): never {
  throw new CosignerError('KEY_DERIVATION_INVALID', `extended key: ${why}`);
}

function checkUint32(x: number, what: string): void {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) invalid(`${what} must be a uint32`);
}

export function encodeXpub(k: ExtendedKeyFields, version: number = XPUB_VERSION): string {
  checkUint32(version, 'version');
  checkUint32(k.parentFingerprint, 'parent fingerprint');
  checkUint32(k.index, 'child number');
  if (!Number.isInteger(k.depth) || k.depth < 0 || k.depth > 255) invalid('depth must be 0..255');
  if (k.depth === 0 && (k.parentFingerprint !== 0 || k.index !== 0)) invalid('a depth-0 key has parent fingerprint 0 and child number 0');
  if (!(k.chainCode instanceof Uint8Array) || k.chainCode.length !== 32) invalid('chain code must be 32 bytes');
  if (!(k.publicKey instanceof Uint8Array) || k.publicKey.length !== 33) invalid('public key must be 33 bytes (compressed)');
  try {
    secp256k1.Point.fromBytes(k.publicKey).assertValidity();
  } catch {
    invalid('public key is not a valid secp256k1 point');
  }
  const b = new Uint8Array(78);
  const v = new DataView(b.buffer);
  v.setUint32(0, version, false);
  b[4] = k.depth;
  v.setUint32(5, k.parentFingerprint, false);
  v.setUint32(9, k.index, false);
  b.set(k.chainCode, 13);
  b.set(k.publicKey, 45);
  return base58CheckEncode(b);
}

/** Decode any 78-byte BIP32-layout extended key; the 33-byte key field is returned as is. */
export function decodeExtendedKey(text: string): ExtendedKeyFields & { version: number } {
  const b = base58CheckDecode(text);
  if (b.length !== 78) invalid(`expected 78 bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    version: v.getUint32(0, false),
    depth: b[4]!,
    parentFingerprint: v.getUint32(5, false),
    index: v.getUint32(9, false),
    chainCode: b.slice(13, 45),
    publicKey: b.slice(45, 78),
  };
}
