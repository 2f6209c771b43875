// Non-hardened "additive" derivation for Ed25519 keys, as Fireblocks' open-source recovery tool
// (github.com/fireblocks/recovery, packages/wallet-derivation, EdDSAWallet) derives wallet keys
// from an fpub/fprv. SLIP-10 Ed25519 is hardened-only and so cannot be computed by MPC parties.
//
// One step, for index i (0 ≤ i < 2^31 here), parent public key A (32-byte RFC 8032 encoding),
// chain code c:
//   I   = HMAC-SHA512(key = c, data = A ‖ 0x00 ‖ ser32_BE(i))
//   t   = parse256_BE(I[0..32]) mod L          (L = 2^252 + 27742317777372353535851937790883648493)
//   A_i = A + t·G,   c_i = I[32..64],   and for the private scalar: a_i = (a + t) mod L
// Note: I_L is read BIG-endian (unlike Ed25519 scalars) and is reduced mod L, never rejected.
// The secret is a raw scalar a with A = a·G (not an RFC 8032 seed), as FROST shares are.
import { ed25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { CosignerError } from '../../errors.js';
import { checkNonHardenedPath } from './path.js';

const Point = ed25519.Point;
const L = Point.Fn.ORDER;

export interface Ed25519ExtendedPublicKey {
  /** 32-byte RFC 8032 point encoding. */
  publicKey: Uint8Array;
  chainCode: Uint8Array;
}

export interface DerivedEd25519 {
  publicKey: Uint8Array;
  chainCode: Uint8Array;
  /** Σ t mod L over the steps: child = parent + tweak·G, child scalar = parent scalar + tweak. */
  tweak: bigint;
}

function invalid(why: string): never {
  throw new CosignerError('KEY_DERIVATION_INVALID', why);
}

function parsePoint(bytes: Uint8Array) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) invalid('parent public key must be 32 bytes');
  let P;
  try {
    P = Point.fromBytes(bytes, false);
    P.assertValidity();
  } catch {
    invalid('parent public key is not a valid Ed25519 point');
  }
  if (P.is0() || !P.isTorsionFree()) invalid('parent public key is not in the prime-order subgroup');
  return P;
}

/** One additive step; returns the child and this step's tweak t (already reduced mod L). */
export function ckdPubEd25519(parent: Ed25519ExtendedPublicKey, index: number): DerivedEd25519 {
  const A = parsePoint(parent.publicKey);
  if (!(parent.chainCode instanceof Uint8Array) || parent.chainCode.length !== 32) invalid('chain code must be 32 bytes');
  checkNonHardenedPath([index]);
  const data = new Uint8Array(37);
  data.set(parent.publicKey, 0);
  data[32] = 0x00;
  new DataView(data.buffer).setUint32(33, index, false);
  const I = hmac(sha512, parent.chainCode, data);
  const t = BigInt('0x' + Buffer.from(I.subarray(0, 32)).toString('hex')) % L;
  const child = t === 0n ? A : A.add(Point.BASE.multiply(t));
  if (child.is0()) invalid(`child key at index ${index} is the identity element`);
  return { publicKey: child.toBytes(), chainCode: new Uint8Array(I.subarray(32)), tweak: t };
}

/** Additive derivation along `path` (e.g. [44, 501, 0, 0, 0]); hardened indices are rejected. */
export function deriveEd25519(parent: Ed25519ExtendedPublicKey, path: number[]): DerivedEd25519 {
  const steps = checkNonHardenedPath(path);
  parsePoint(parent.publicKey);
  if (!(parent.chainCode instanceof Uint8Array) || parent.chainCode.length !== 32) invalid('chain code must be 32 bytes');
  let key: { publicKey: Uint8Array; chainCode: Uint8Array } = { publicKey: new Uint8Array(parent.publicKey), chainCode: new Uint8Array(parent.chainCode) };
  let tweak = 0n;
  for (const i of steps) {
    const child = ckdPubEd25519(key, i);
    tweak = (tweak + child.tweak) % L;
    key = { publicKey: child.publicKey, chainCode: child.chainCode };
  }
  return { ...key, tweak };
}

/** The private-side step, for offline recovery of a combined key: a_i = (a + t) mod L. */
export function deriveEd25519Scalar(parentScalar: bigint, tweak: bigint): bigint {
  return (((parentScalar + tweak) % L) + L) % L;
}

