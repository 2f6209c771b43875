// BIP32 public-parent → public-child derivation (CKDpub, non-hardened only) for secp256k1.
// Used for ECDSA (additive two-party shares) and for the BIP340 internal key of a FROST sharing:
// nobody holds the parent private key, but child = parent + tweak·G where the tweak is public,
// so every share holder adds the same tweak to its share.
//
// BIP32 "Public parent key → public child key":
//   I = HMAC-SHA512(Key = c_par, Data = serP(K_par) ‖ ser32(i)),  I_L ‖ I_R = I
//   K_i = point(parse256(I_L)) + K_par,  c_i = I_R
//   "In case parse256(I_L) ≥ n or K_i is the point at infinity, the resulting key is invalid,
//    and one should proceed with the next value for i."  (@scure/bip32 does the same.)
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { CosignerError } from '../../errors.js';
import { concatBytes } from '../../bytes.js';
import { checkNonHardenedPath, HARDENED_OFFSET } from './path.js';

const Point = secp256k1.Point;
const N = Point.Fn.ORDER;

export interface Secp256k1ExtendedPublicKey {
  /** 33-byte compressed point (serP). */
  publicKey: Uint8Array;
  chainCode: Uint8Array;
}

export interface DerivedSecp256k1 {
  publicKey: Uint8Array;
  chainCode: Uint8Array;
  /** Σ parse256(I_L) mod n over the steps: child = parent + tweak·G. */
  tweak: bigint;
  /** The indices actually used (an index is skipped, per BIP32, if its key is invalid). */
  path: number[];
  /** Fingerprint of the last step's parent (for xpub serialisation); 0 for an empty path. */
  parentFingerprint: number;
}

function invalid(why: string): never {
  throw new CosignerError('KEY_DERIVATION_INVALID', why);
}

function ser32(i: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, i, false);
  return b;
}

function parse256(b: Uint8Array): bigint {
  return BigInt('0x' + Buffer.from(b).toString('hex'));
}

function parsePublicKey(publicKey: Uint8Array) {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 33 || (publicKey[0] !== 2 && publicKey[0] !== 3)) invalid('parent public key must be a 33-byte compressed secp256k1 point');
  try {
    const P = Point.fromBytes(publicKey);
    P.assertValidity();
    if (P.is0()) invalid('parent public key is the point at infinity');
    return P;
  } catch (e) {
    if (e instanceof CosignerError) throw e;
    invalid('parent public key is not a valid secp256k1 point');
  }
}

function checkChainCode(chainCode: Uint8Array): void {
  if (!(chainCode instanceof Uint8Array) || chainCode.length !== 32) invalid('chain code must be 32 bytes');
}

/** BIP32 key identifier fingerprint: the first 4 bytes of HASH160(serP(K)), as a uint32. */
export function fingerprint(publicKey: Uint8Array): number {
  const h = ripemd160(sha256(publicKey));
  return new DataView(h.buffer, h.byteOffset, 4).getUint32(0, false);
}

/**
 * One CKDpub step. `I` replaces the HMAC output for the first attempt only (a test seam to
 * exercise the invalid-key rule, mirroring @scure/bip32's `_deriveChild`).
 */
export function ckdPubSecp256k1(parent: Secp256k1ExtendedPublicKey, index: number, I?: Uint8Array): { publicKey: Uint8Array; chainCode: Uint8Array; tweak: bigint; index: number } {
  const P = parsePublicKey(parent.publicKey);
  checkChainCode(parent.chainCode);
  for (let i = index; ; i++) {
    if (!Number.isSafeInteger(i) || i < 0) invalid(`index ${i} is not a non-negative integer`);
    if (i >= HARDENED_OFFSET) invalid(i === index ? `index ${i} is hardened` : `no valid child key below the hardened range after index ${index}`);
    const out = i === index && I ? I : hmac(sha512, parent.chainCode, concatBytes(parent.publicKey, ser32(i)));
    if (out.length !== 64) invalid('HMAC output must be 64 bytes');
    const il = parse256(out.subarray(0, 32));
    if (il >= N) continue; // BIP32: invalid, proceed with the next index
    const child = il === 0n ? P : P.add(Point.BASE.multiply(il));
    if (child.is0()) continue; // BIP32: invalid, proceed with the next index
    return { publicKey: child.toBytes(true), chainCode: new Uint8Array(out.subarray(32)), tweak: il, index: i };
  }
}

/** Non-hardened BIP32 derivation along `path` from a public parent; hardened indices are rejected. */
export function deriveSecp256k1(parent: Secp256k1ExtendedPublicKey, path: number[]): DerivedSecp256k1 {
  const steps = checkNonHardenedPath(path);
  parsePublicKey(parent.publicKey);
  checkChainCode(parent.chainCode);
  let key: { publicKey: Uint8Array; chainCode: Uint8Array } = { publicKey: new Uint8Array(parent.publicKey), chainCode: new Uint8Array(parent.chainCode) };
  let tweak = 0n;
  let parentFingerprint = 0;
  const used: number[] = [];
  for (const index of steps) {
    parentFingerprint = fingerprint(key.publicKey);
    const child = ckdPubSecp256k1(key, index);
    tweak = (tweak + child.tweak) % N;
    used.push(child.index);
    key = { publicKey: child.publicKey, chainCode: child.chainCode };
  }
  return { ...key, tweak, path: used, parentFingerprint };
}
