// BIP32 for two-party ECDSA keys: the extended public key (xpub) of the joint key and non-hardened
// child keys (BIP32 "Public parent key → public child key", via derivation/bip32.ts).
//
// Neither party holds the master private key x = x1 + x2, but a non-hardened child is
// Q' = Q + t·G with t computed from public data (Q, the chain code, the path), so:
//   - both parties derive the same (Q', t) from their own share, without interaction;
//   - signing takes t as `tweak`: P2 adds it to x2, P1 verifies under Q' (sign.ts);
//   - offline recovery: child private key = x1 + x2 + t mod q, the same key any BIP32 wallet
//     derives from the master private key x and the chain code (BIP32 CKDpriv ≡ CKDpub, non-hardened).
// The result equals HDKey.fromExtendedKey(ecdsaXpub(share)).derive(path) in @scure/bip32.
import { CosignerError } from '../../errors.js';
import { equalBytes } from '../../bytes.js';
import { deriveSecp256k1 } from '../derivation/bip32.js';
import { parseDerivationPath } from '../derivation/path.js';
import { XPUB_VERSION, encodeXpub } from '../derivation/xpub.js';
import type { EcdsaKeyShareP1, EcdsaKeyShareP2 } from './key-share.js';
import { derivePublicKey } from './sign.js';
import { pointToBytes } from './curve.js';
import { PerKeyCache } from '../derivation/per-key-cache.js';

/** Either party's share: both hold the joint key Q and the joint chain code. */
export type EcdsaKeyShare = EcdsaKeyShareP1 | EcdsaKeyShareP2;

export interface DerivedEcdsaKey {
  /** Child public key Q' = Q + tweak·G, compressed SEC1 (33 bytes). */
  publicKey: Uint8Array;
  /** Child chain code (32 bytes). */
  chainCode: Uint8Array;
  /** Additive tweak t ∈ [0, q): pass as `tweak` to EcdsaSignP1 / EcdsaSignP2. 0 for the master. */
  tweak: bigint;
  /** The indices actually used (BIP32 skips an index whose key is invalid, probability ~2^-127). */
  path: number[];
  /** BIP32 depth (= path length), parent fingerprint and child number, for xpub serialisation. */
  depth: number;
  parentFingerprint: number;
  index: number;
}

export interface EcdsaXpubOptions {
  /** Export the key at this non-hardened path instead of the master (e.g. an account: "m/44/60/0"). */
  path?: number[] | string;
  /** BIP32 version bytes: XPUB_VERSION (default, "xpub") or TPUB_VERSION ("tpub"). */
  version?: number;
}

function toPath(path: number[] | string): number[] {
  return typeof path === 'string' ? parseDerivationPath(path) : path;
}

const derived = new PerKeyCache<EcdsaKeyShare, Readonly<DerivedEcdsaKey>>();

/**
 * Non-hardened BIP32 child of the joint key along `path` ("m/44/60/0/0/7" or [44, 60, 0, 0, 7]).
 * Cached per (share object, path): the HMACs and point additions run once per path; every call
 * returns fresh copies, so a caller changing its result cannot change the cache.
 */
export function deriveEcdsaChild(share: EcdsaKeyShare, path: number[] | string): DerivedEcdsaKey {
  const d = derived.get(share, toPath(path), () => Object.freeze(deriveUncached(share, toPath(path))));
  return { ...d, publicKey: new Uint8Array(d.publicKey), chainCode: new Uint8Array(d.chainCode), path: [...d.path] };
}

function deriveUncached(share: EcdsaKeyShare, path: number[]): DerivedEcdsaKey {
  const d = deriveSecp256k1({ publicKey: pointToBytes(share.Q), chainCode: share.chainCode }, path);
  // The tweak is what signing uses: it must give exactly the key BIP32 derived.
  if (!equalBytes(pointToBytes(derivePublicKey(share.Q, d.tweak)), d.publicKey)) {
    throw new CosignerError('INTERNAL', 'derived tweak does not match the derived public key');
  }
  return {
    publicKey: d.publicKey,
    chainCode: d.chainCode,
    tweak: d.tweak,
    path: d.path,
    depth: d.path.length,
    parentFingerprint: d.parentFingerprint,
    index: d.path.length === 0 ? 0 : d.path[d.path.length - 1]!,
  };
}

/** The BIP32 extended public key of the joint key (depth 0), or of a non-hardened child of it. */
export function ecdsaXpub(share: EcdsaKeyShare, opts: EcdsaXpubOptions = {}): string {
  const d = deriveEcdsaChild(share, opts.path ?? []);
  return encodeXpub(
    { publicKey: d.publicKey, chainCode: d.chainCode, depth: d.depth, parentFingerprint: d.parentFingerprint, index: d.index },
    opts.version ?? XPUB_VERSION,
  );
}
