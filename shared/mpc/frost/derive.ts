// Derive a child FROST key share along a non-hardened path. Every participant runs this on its
// own share with the same path and gets a share of the same child key, without interaction:
//   ed25519: Fireblocks-style additive derivation (derivation/ed25519-additive.ts) from (A, c)
//   bip340:  BIP32 CKDpub (derivation/bip32.ts) from the 33-byte internal key P and c — exactly
//            what HDKey.fromExtendedKey(xpub).derive(path) gives for the xpub of (P, c).
// The child of a bip340 key is again an internal key (with whatever Y parity BIP32 gives it);
// for a Taproot key-path spend sign with taprootFrostKeyShare(child).
import { CosignerError } from '../../errors.js';
import { equalBytes } from '../../bytes.js';
import { deriveSecp256k1 } from '../derivation/bip32.js';
import { deriveEd25519 } from '../derivation/ed25519-additive.js';
import type { FrostKeyShare } from './key-share.js';
import { tweakFrostKeyShare } from './tweak.js';
import { PerKeyCache } from '../derivation/per-key-cache.js';

export interface DerivedFrostKeyShare {
  keyShare: FrostKeyShare;
  /** Child group key (Ed25519 A, or 33-byte BIP340 internal key). */
  publicKey: Uint8Array;
  chainCode: Uint8Array;
  /** child = parent + tweak·G */
  tweak: bigint;
}

const derived = new PerKeyCache<FrostKeyShare, DerivedFrostKeyShare>();

/**
 * Cached per (share object, path): the derivation HMACs and the re-validated child share are made
 * once, and the same child FrostKeyShare object is returned each time, so its signing tables
 * (signing-key.ts) are built once too. A child share that was wiped is derived again.
 */
export function deriveFrostKeyShare(share: FrostKeyShare, path: number[]): DerivedFrostKeyShare {
  const d = derived.get(share, path, () => deriveUncached(share, path), (v) => !v.keyShare.wiped);
  return { ...d, publicKey: new Uint8Array(d.publicKey), chainCode: new Uint8Array(d.chainCode) };
}

function deriveUncached(share: FrostKeyShare, path: number[]): DerivedFrostKeyShare {
  const parent = { publicKey: share.groupPublicKey, chainCode: share.chainCode };
  const d = share.scheme === 'ed25519' ? deriveEd25519(parent, path) : deriveSecp256k1(parent, path);
  const keyShare = tweakFrostKeyShare(share, d.tweak, d.chainCode);
  if (!equalBytes(keyShare.groupPublicKey, d.publicKey)) throw new CosignerError('INTERNAL', 'derived key share does not match the derived public key');
  return { keyShare, publicKey: d.publicKey, chainCode: d.chainCode, tweak: d.tweak };
}
