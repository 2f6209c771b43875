// One adapter over noble's two RFC 9591 ciphersuites, so the DKG and signing state machines are
// written once. Everything that crosses the wire goes through decodePoint / decodeScalar here:
// RFC 9591 §3.1 DeserializeElement (canonical encoding, on the curve, not the identity, in the
// prime-order subgroup) and DeserializeScalar (canonical, < order).
//
// The signing hashes (RFC 9591 §4 H1..H5 and the challenge) are defined here per ciphersuite:
//   ed25519: §6.1 FROST(Ed25519, SHA-512), contextString "FROST-ED25519-SHA512-v1"
//   bip340:  frost-rs FROST(secp256k1, SHA-256)-TR (as @noble/curves' schnorr_FROST): the §6.5
//            secp256k1 hashes with contextString "FROST-secp256k1-SHA256-TR-v1", challenge = BIP340
//            tagged hash, and x-only/even-Y adjustments done by the signing code (signing.ts).
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { ed25519, ed25519_FROST } from '@noble/curves/ed25519.js';
import { schnorr, schnorr_FROST, secp256k1, secp256k1_hasher } from '@noble/curves/secp256k1.js';
import type { FROST } from '@noble/curves/abstract/frost.js';
import { invert } from '@noble/curves/abstract/modular.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { CosignerError, type ErrorCode } from '../../errors.js';
import { concatBytes } from '../../bytes.js';

export type FrostScheme = 'ed25519' | 'bip340';
export const FROST_SCHEMES: readonly FrostScheme[] = ['ed25519', 'bip340'];

/** The slice of a noble point (Edwards or Weierstrass) the FROST code needs. */
export interface GroupPoint {
  add(other: GroupPoint): GroupPoint;
  subtract(other: GroupPoint): GroupPoint;
  negate(): GroupPoint;
  multiply(k: bigint): GroupPoint;
  multiplyUnsafe(k: bigint): GroupPoint;
  equals(other: GroupPoint): boolean;
  is0(): boolean;
  toBytes(compressed?: boolean): Uint8Array;
  toAffine(): { x: bigint; y: bigint };
  /** noble: attach a wNAF table (window W) so later multiplications of this point are faster. */
  precompute(windowSize?: number, isLazy?: boolean): GroupPoint;
}

/** An independent verifier of whole signatures under one fixed key (built once per key). */
export type SignatureVerifier = (signature: Uint8Array, message: Uint8Array) => boolean;

export interface FrostSuite {
  readonly scheme: FrostScheme;
  /** noble's ciphersuite object (RFC 9591 + the frost-rs DKG). */
  readonly frost: FROST;
  /** RFC 9591 contextString of the ciphersuite. */
  readonly contextString: string;
  /** Serialized element length: 32 (Ed25519) or 33 (compressed secp256k1). */
  readonly pointLength: number;
  readonly scalarLength: 32;
  readonly order: bigint;
  readonly base: GroupPoint;
  readonly zero: GroupPoint;
  /** RFC 9591 §3.1 DeserializeElement; throws `code` naming `what` on any invalid encoding. */
  decodePoint(bytes: Uint8Array, what: string, code?: ErrorCode): GroupPoint;
  /** RFC 9591 §3.1 DeserializeScalar (canonical, < order); optionally also non-zero. */
  decodeScalar(bytes: Uint8Array, what: string, opts?: { nonZero?: boolean; code?: ErrorCode }): bigint;
  encodeScalar(k: bigint): Uint8Array;
  /** noble's serialized identifier for a project party id (1..255). */
  identifier(party: number): string;
  /** The DKG proof-of-knowledge hash (frost-rs "HDKG": hash_to_scalar with DST contextString‖"dkg"). */
  hashDkg(msg: Uint8Array): bigint;
  /** Decode a DKG proof-of-knowledge signature into (R, z) as noble encodes it. */
  decodeProof(proof: Uint8Array, what: string): { R: GroupPoint; z: bigint };
  /** The key an outside verifier uses: Ed25519 A (32 bytes) or the BIP340 x-only key (32 bytes). */
  externalKey(groupKey: Uint8Array): Uint8Array;
  /**
   * An independent verifier for one group key, set up once per key: Ed25519 through node:crypto
   * (OpenSSL, RFC 8032 cofactorless, strict), BIP340 through @noble's audited schnorr.verify — not
   * through any of this module's own signing arithmetic.
   */
  verifierFor(groupKey: Uint8Array): SignatureVerifier;

  // ---- RFC 9591 signing primitives of the ciphersuite ----
  /** frost-rs TR ciphersuite: x-only keys and even-Y group commitments (BIP340). */
  readonly taproot: boolean;
  /** a⁻¹ mod order (a ≠ 0). */
  invertScalar(a: bigint): bigint;
  /** §4.1 / §6.x H1: binding factors ("rho"). */
  h1(m: Uint8Array): bigint;
  /** §6.x H3: nonce generation ("nonce"). */
  h3(m: Uint8Array): bigint;
  /** §6.x H4: message hash ("msg"), raw digest. */
  h4(m: Uint8Array): Uint8Array;
  /** §6.x H5: commitment-list hash ("com"), raw digest. */
  h5(m: Uint8Array): Uint8Array;
  /** §4.6 compute_challenge(R, PK, msg); PK already in the form the suite signs under. */
  challenge(R: GroupPoint, groupKey: GroupPoint, message: Uint8Array): bigint;
  /** RFC 9591 Appendix A signature encoding (bip340: x(R) ‖ z, as BIP340 and frost-rs TR). */
  encodeSignature(R: GroupPoint, z: bigint): Uint8Array;
  /** Whether the affine y coordinate is odd (used by the TR adjustments; false for Ed25519). */
  hasOddY(p: GroupPoint): boolean;
}

function fail(code: ErrorCode, what: string, why: string): never {
  throw new CosignerError(code, `${what}: ${why}`);
}

const ED_ORDER = ed25519.Point.Fn.ORDER;
const K1_ORDER = secp256k1.Point.Fn.ORDER;

function leToBigint(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
  return x;
}
function beToBigint(b: Uint8Array): bigint {
  let x = 0n;
  for (const v of b) x = (x << 8n) | BigInt(v);
  return x;
}

function checkScalar(x: bigint, order: bigint, what: string, opts: { nonZero?: boolean; code?: ErrorCode }): bigint {
  const code = opts.code ?? 'MPC_INVALID_MESSAGE';
  if (x >= order) fail(code, what, 'scalar is not reduced modulo the group order');
  if (opts.nonZero && x === 0n) fail(code, what, 'scalar is zero');
  return x;
}

function checkPoint(p: GroupPoint & { assertValidity(): void; isTorsionFree(): boolean }, bytes: Uint8Array, what: string, code: ErrorCode): GroupPoint {
  if (p.is0()) fail(code, what, 'point is the identity element');
  try {
    p.assertValidity();
  } catch {
    fail(code, what, 'point is not on the curve');
  }
  if (!p.isTorsionFree()) fail(code, what, 'point is not in the prime-order subgroup');
  const again = p.toBytes(true);
  if (again.length !== bytes.length || !again.every((v, i) => v === bytes[i])) fail(code, what, 'point encoding is not canonical');
  return p;
}

const utf8 = (t: string) => new TextEncoder().encode(t);
const ED_CONTEXT = 'FROST-ED25519-SHA512-v1';
const ED_RHO = utf8(ED_CONTEXT + 'rho');
const ED_NONCE = utf8(ED_CONTEXT + 'nonce');
const ED_MSG = utf8(ED_CONTEXT + 'msg');
const ED_COM = utf8(ED_CONTEXT + 'com');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const TR_CONTEXT = 'FROST-secp256k1-SHA256-TR-v1';
const TR_RHO = utf8(TR_CONTEXT + 'rho');
const TR_NONCE = utf8(TR_CONTEXT + 'nonce');
const TR_MSG = utf8(TR_CONTEXT + 'msg');
const TR_COM = utf8(TR_CONTEXT + 'com');
const BIP340_TAG_HASH = sha256(utf8('BIP0340/challenge'));
const BIP340_CHALLENGE_TAG = concatBytes(BIP340_TAG_HASH, BIP340_TAG_HASH);

function edHashToScalar(prefix: Uint8Array, m: Uint8Array): bigint {
  return leToBigint(sha512(concatBytes(prefix, m))) % ED_ORDER;
}

function xOnly(p: GroupPoint): Uint8Array {
  return p.toBytes(true).subarray(1);
}

const ed25519Suite: FrostSuite = {
  scheme: 'ed25519',
  frost: ed25519_FROST,
  contextString: 'FROST-ED25519-SHA512-v1',
  pointLength: 32,
  scalarLength: 32,
  order: ED_ORDER,
  base: ed25519.Point.BASE as unknown as GroupPoint,
  zero: ed25519.Point.ZERO as unknown as GroupPoint,
  decodePoint(bytes, what, code = 'MPC_INVALID_MESSAGE') {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) fail(code, what, 'expected a 32-byte Ed25519 point');
    let p;
    try {
      // Strict RFC 8032 decoding (zip215 = false): rejects y >= p and x = 0 with the sign bit set.
      p = ed25519.Point.fromBytes(bytes, false);
    } catch {
      fail(code, what, 'not a valid Ed25519 point encoding');
    }
    return checkPoint(p as never, bytes, what, code);
  },
  decodeScalar(bytes, what, opts = {}) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) fail(opts.code ?? 'MPC_INVALID_MESSAGE', what, 'expected a 32-byte scalar');
    return checkScalar(leToBigint(bytes), ED_ORDER, what, opts);
  },
  encodeScalar: (k) => ed25519.Point.Fn.toBytes(k),
  identifier: (party) => ed25519_FROST.Identifier.fromNumber(party),
  // ed25519_FROST has no hashToScalar hook: noble's default is SHA-512(DST‖msg) read little-endian mod L.
  hashDkg: (msg) => {
    const dst = new TextEncoder().encode('FROST-ED25519-SHA512-v1dkg');
    const h = sha512(new Uint8Array([...dst, ...msg]));
    return leToBigint(h) % ED_ORDER;
  },
  decodeProof(proof, what) {
    if (!(proof instanceof Uint8Array) || proof.length !== 64) fail('MPC_INVALID_MESSAGE', what, 'expected a 64-byte proof');
    return { R: this.decodePoint(proof.subarray(0, 32), what), z: this.decodeScalar(proof.subarray(32), what) };
  },
  externalKey: (groupKey) => groupKey,
  verifierFor(groupKey) {
    // RFC 8410 SubjectPublicKeyInfo for Ed25519: fixed prefix ‖ the 32-byte key.
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, groupKey]), format: 'der', type: 'spki' });
    return (sig, msg) => {
      try {
        return sig.length === 64 && nodeVerify(null, msg, key, sig);
      } catch {
        return false;
      }
    };
  },
  taproot: false,
  invertScalar: (a) => invert(a, ED_ORDER),
  // §6.1: H1 = SHA-512(contextString ‖ "rho" ‖ m) mod L, H3 with "nonce"; H4/H5 raw SHA-512.
  h1: (m) => edHashToScalar(ED_RHO, m),
  h3: (m) => edHashToScalar(ED_NONCE, m),
  h4: (m) => sha512(concatBytes(ED_MSG, m)),
  h5: (m) => sha512(concatBytes(ED_COM, m)),
  // §6.1 H2 = SHA-512(m) mod L without a prefix (RFC 8032 compatible), m = R ‖ PK ‖ msg.
  challenge: (R, PK, msg) => leToBigint(sha512(concatBytes(R.toBytes(), PK.toBytes(), msg))) % ED_ORDER,
  encodeSignature: (R, z) => concatBytes(R.toBytes(), ed25519.Point.Fn.toBytes(z)),
  hasOddY: () => false,
};

const bip340Suite: FrostSuite = {
  scheme: 'bip340',
  frost: schnorr_FROST,
  contextString: 'FROST-secp256k1-SHA256-TR-v1',
  pointLength: 33,
  scalarLength: 32,
  order: K1_ORDER,
  base: secp256k1.Point.BASE as unknown as GroupPoint,
  zero: secp256k1.Point.ZERO as unknown as GroupPoint,
  decodePoint(bytes, what, code = 'MPC_INVALID_MESSAGE') {
    // Only SEC1 compressed points (RFC 9591 §6.5 SerializeElement); never uncompressed or x-only.
    if (!(bytes instanceof Uint8Array) || bytes.length !== 33 || (bytes[0] !== 2 && bytes[0] !== 3)) fail(code, what, 'expected a 33-byte compressed secp256k1 point');
    let p;
    try {
      p = secp256k1.Point.fromBytes(bytes);
    } catch {
      fail(code, what, 'not a valid secp256k1 point encoding');
    }
    return checkPoint(p as never, bytes, what, code);
  },
  decodeScalar(bytes, what, opts = {}) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) fail(opts.code ?? 'MPC_INVALID_MESSAGE', what, 'expected a 32-byte scalar');
    return checkScalar(beToBigint(bytes), K1_ORDER, what, opts);
  },
  encodeScalar: (k) => secp256k1.Point.Fn.toBytes(k),
  identifier: (party) => schnorr_FROST.Identifier.fromNumber(party),
  hashDkg: (msg) => secp256k1_hasher.hashToScalar(msg, { DST: new TextEncoder().encode('FROST-secp256k1-SHA256-TR-v1dkg') }),
  decodeProof(proof, what) {
    // schnorr_FROST drops the 0x02 prefix of R (R always has even Y, as in BIP340).
    if (!(proof instanceof Uint8Array) || proof.length !== 64) fail('MPC_INVALID_MESSAGE', what, 'expected a 64-byte proof');
    const R = this.decodePoint(new Uint8Array([2, ...proof.subarray(0, 32)]), what);
    return { R, z: this.decodeScalar(proof.subarray(32), what) };
  },
  externalKey: (groupKey) => groupKey.slice(1, 33),
  verifierFor: (groupKey) => {
    const key = groupKey.slice(1, 33);
    return (signature, message) => {
      try {
        return schnorr.verify(signature, message, key);
      } catch {
        return false;
      }
    };
  },
  taproot: true,
  invertScalar: (a) => invert(a, K1_ORDER),
  // §6.5 with the TR contextString: H1/H3 are RFC 9380 hash_to_field (expand_message_xmd SHA-256,
  // L = 48) with DST contextString ‖ "rho" / "nonce"; H4/H5 raw SHA-256 of prefix ‖ m.
  h1: (m) => secp256k1_hasher.hashToScalar(m, { DST: TR_RHO }),
  h3: (m) => secp256k1_hasher.hashToScalar(m, { DST: TR_NONCE }),
  h4: (m) => sha256(concatBytes(TR_MSG, m)),
  h5: (m) => sha256(concatBytes(TR_COM, m)),
  // BIP340 challenge: int(hash_BIP0340/challenge(x(R) ‖ x(P) ‖ m)) mod n.
  challenge: (R, PK, msg) => beToBigint(sha256(concatBytes(BIP340_CHALLENGE_TAG, xOnly(R), xOnly(PK), msg))) % K1_ORDER,
  encodeSignature: (R, z) => concatBytes(xOnly(R), secp256k1.Point.Fn.toBytes(z)),
  hasOddY: (p) => (p.toAffine().y & 1n) === 1n,
};

export function frostSuite(scheme: FrostScheme): FrostSuite {
  if (scheme === 'ed25519') return ed25519Suite;
  if (scheme === 'bip340') return bip340Suite;
  throw new CosignerError('MPC_INVALID_MESSAGE', `unknown FROST scheme ${JSON.stringify(String(scheme).slice(0, 32))}`);
}

/** Party ids become FROST identifiers; 0 is not a valid identifier (RFC 9591 §4.1). */
export function checkPartyIds(parties: readonly number[], what: string): number[] {
  const sorted = [...parties].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i]!;
    if (!Number.isInteger(p) || p < 1 || p > 255) throw new CosignerError('MPC_INVALID_MESSAGE', `${what}: party id ${p} is not in 1..255`);
    if (i > 0 && sorted[i - 1] === p) throw new CosignerError('MPC_INVALID_MESSAGE', `${what}: duplicate party id ${p}`);
  }
  return sorted;
}
