// Moving a FROST sharing to a related key without any interaction.
//
// Additive tweak: if s_i = f(i) is a t-of-n sharing of s (f(0) = s), then s_i + t = f'(i) with
// f'(x) = f(x) + t, a t-of-n sharing of s + t: the Lagrange coefficients of any signing set sum
// to 1, so Σ λ_i (s_i + t) = s + t. Publicly, φ_0 and every verifying share move by t·G and the
// other commitments stay. Negation (s_i → −s_i, every point negated) is the same argument with −1.
// These give non-hardened derivation (child = parent + t·G) and the BIP341 Taproot tweak.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CosignerError } from '../../errors.js';
import { concatBytes, wipe } from '../../bytes.js';
import { FrostKeyShare } from './key-share.js';
import { PerKeyCache } from '../derivation/per-key-cache.js';

function mod(a: bigint, n: bigint): bigint {
  const r = a % n;
  return r < 0n ? r + n : r;
}

/**
 * Key share of (group key + t·G): adds t to the signing share and t·G to φ_0 and to every
 * verifying share. Every participant applies the same t to its own share; no messages needed.
 * The chain code of the result is `chainCode` (default: unchanged).
 */
export function tweakFrostKeyShare(share: FrostKeyShare, tweak: bigint, chainCode: Uint8Array = share.chainCode): FrostKeyShare {
  const suite = share.suite;
  const t = mod(tweak, suite.order);
  const p = share.toParts();
  try {
    if (t !== 0n) {
      const T = suite.base.multiply(t);
      const move = (b: Uint8Array) => {
        const moved = suite.decodePoint(b, 'key', 'MPC_KEY_SHARE_INVALID').add(T);
        if (moved.is0()) throw new CosignerError('KEY_DERIVATION_INVALID', 'tweak moves a key to the identity element');
        return moved.toBytes(true);
      };
      p.commitments[0] = move(p.commitments[0]!);
      p.verifyingShares = p.verifyingShares.map(move);
      const sk = suite.decodeScalar(p.signingShare, 'signingShare', { code: 'MPC_KEY_SHARE_INVALID' });
      wipe(p.signingShare);
      p.signingShare = suite.encodeScalar(mod(sk + t, suite.order));
    }
    p.chainCode = new Uint8Array(chainCode);
    return FrostKeyShare.fromParts(p);
  } finally {
    wipe(p.signingShare);
  }
}

/** Key share of the negated group key (−s, −φ_k, −Y_i). */
export function negateFrostKeyShare(share: FrostKeyShare): FrostKeyShare {
  const suite = share.suite;
  const p = share.toParts();
  try {
    const neg = (b: Uint8Array) => suite.decodePoint(b, 'key', 'MPC_KEY_SHARE_INVALID').negate().toBytes(true);
    p.commitments = p.commitments.map(neg);
    p.verifyingShares = p.verifyingShares.map(neg);
    const sk = suite.decodeScalar(p.signingShare, 'signingShare', { code: 'MPC_KEY_SHARE_INVALID' });
    wipe(p.signingShare);
    p.signingShare = suite.encodeScalar(mod(-sk, suite.order));
    return FrostKeyShare.fromParts(p);
  } finally {
    wipe(p.signingShare);
  }
}

/** BIP340 keys are x-only: the sharing of the even-Y point with the same x (BIP340 "lift_x"). */
export function evenYFrostKeyShare(share: FrostKeyShare): FrostKeyShare {
  if (share.scheme !== 'bip340') throw new CosignerError('MPC_INVALID_MESSAGE', 'even-Y normalisation is for bip340 keys only');
  return share.commitments[0]![0] === 3 ? negateFrostKeyShare(share) : share;
}

/** BIP340 tagged hash: SHA256(SHA256(tag) ‖ SHA256(tag) ‖ msg). */
export function taggedHash(tag: string, ...msgs: Uint8Array[]): Uint8Array {
  const th = sha256(new TextEncoder().encode(tag));
  return sha256(concatBytes(th, th, ...msgs));
}

function checkMerkleRoot(merkleRoot: Uint8Array): void {
  if (!(merkleRoot instanceof Uint8Array) || (merkleRoot.length !== 0 && merkleRoot.length !== 32)) {
    throw new CosignerError('KEY_DERIVATION_INVALID', 'Taproot merkle root must be empty (key-path only) or 32 bytes');
  }
}

/**
 * BIP341 taproot_tweak_pubkey: t = int(hash_TapTweak(x(P) ‖ merkle_root)); fails if t ≥ n.
 * An empty merkle root is the key-path-only output of BIP86.
 */
export function taprootTweakScalar(internalKey: Uint8Array, merkleRoot: Uint8Array = new Uint8Array(0)): bigint {
  checkMerkleRoot(merkleRoot);
  if (!(internalKey instanceof Uint8Array) || (internalKey.length !== 32 && internalKey.length !== 33)) {
    throw new CosignerError('KEY_DERIVATION_INVALID', 'Taproot internal key must be 32 (x-only) or 33 (compressed) bytes');
  }
  const x = internalKey.length === 33 ? internalKey.subarray(1) : internalKey;
  const t = BigInt('0x' + Buffer.from(taggedHash('TapTweak', x, merkleRoot)).toString('hex'));
  if (t >= secp256k1.Point.Fn.ORDER) throw new CosignerError('KEY_DERIVATION_INVALID', 'TapTweak hash is not below the group order');
  return t;
}

/**
 * The key share a Taproot key-path spend signs with (BIP341): the internal key is first taken
 * with even Y (x-only), then tweaked by hash_TapTweak(x(P) ‖ merkle_root). The output key is
 * `result.externalPublicKey` (x-only, 32 bytes).
 */
export function taprootFrostKeyShare(internal: FrostKeyShare, merkleRoot: Uint8Array = new Uint8Array(0)): FrostKeyShare {
  // Cached per (share object, merkle root), like derived shares (derive.ts): the same tweaked
  // object, with its signing tables, for every spend of that output key.
  const id = `taproot:${Buffer.from(merkleRoot).toString('hex')}`;
  return taprootCache.get(internal, id, () => {
    const even = evenYFrostKeyShare(internal);
    return tweakFrostKeyShare(even, taprootTweakScalar(even.groupPublicKey, merkleRoot));
  }, (s) => !s.wiped);
}

const taprootCache = new PerKeyCache<FrostKeyShare, FrostKeyShare>(64);

/**
 * BIP341 output key Q = lift_x(x(P)) + t·G for an internal key P (32-byte x-only or 33-byte
 * compressed), returned x-only (32 bytes) as it appears in a P2TR scriptPubKey.
 */
export function taprootOutputKey(internalKey: Uint8Array, merkleRoot: Uint8Array = new Uint8Array(0)): Uint8Array {
  const t = taprootTweakScalar(internalKey, merkleRoot);
  const x = internalKey.length === 33 ? internalKey.subarray(1) : internalKey;
  let P;
  try {
    P = secp256k1.Point.fromBytes(concatBytes(Uint8Array.of(2), x));
  } catch {
    throw new CosignerError('KEY_DERIVATION_INVALID', 'Taproot internal key is not a valid secp256k1 x coordinate');
  }
  const Q = P.add(secp256k1.Point.BASE.multiply(t));
  if (Q.is0()) throw new CosignerError('KEY_DERIVATION_INVALID', 'Taproot output key is the identity element');
  return Q.toBytes(true).subarray(1);
}
