// secp256k1 points and scalars at the protocol boundary (CRYPTO.md attack 7 "Invalid points and
// scalars"): every point received is decoded strictly (on the curve, compressed, never the
// identity) and every scalar is checked to be in [1, q). Randomness comes from node:crypto.
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ScalarMultiplier, normalizeZ } from '@noble/curves/abstract/curve.js';
import { CosignerError } from '../../errors.js';
import { bytesToBigint } from '../transcript.js';

export const Point = secp256k1.Point;
export type Point = InstanceType<typeof secp256k1.Point>;

/** The group order q (often written n for secp256k1). */
export const CURVE_ORDER: bigint = Point.Fn.ORDER;
export const G: Point = Point.BASE;
export const POINT_BYTES = 33;
export const SCALAR_BYTES = 32;

export function modQ(x: bigint): bigint {
  const r = x % CURVE_ORDER;
  return r < 0n ? r + CURVE_ORDER : r;
}

/**
 * Inverse mod q of a PUBLIC value (noble's Fn.inv is the variable-time extended Euclid). Throws on 0.
 * Secret scalars use invQSecret.
 */
export function invQ(x: bigint): bigint {
  const v = modQ(x);
  if (v === 0n) throw new CosignerError('INTERNAL', 'inverse of zero scalar');
  return Point.Fn.inv(v);
}

/**
 * Inverse mod q of a SECRET scalar (a nonce): multiplicative blinding, k⁻¹ = b·(k·b)⁻¹ with a fresh
 * uniform b, so the variable-time inversion only ever sees k·b, which is uniform and independent of k.
 */
export function invQSecret(k: bigint): bigint {
  const v = modQ(k);
  if (v === 0n) throw new CosignerError('INTERNAL', 'inverse of zero scalar');
  const b = randomScalar();
  return modQ(b * Point.Fn.inv(modQ(v * b)));
}

/**
 * Uniform scalar in [1, q) from node:crypto: 384 random bits reduced mod (q − 1), plus one; the
 * reduction bias is below 2^-128.
 */
export function randomScalar(): bigint {
  const buf = randomBytes(48);
  const v = bytesToBigint(buf);
  buf.fill(0);
  return (v % (CURVE_ORDER - 1n)) + 1n;
}

/** Compressed SEC1 encoding (33 bytes). The identity has no encoding and is never produced here. */
export function pointToBytes(P: Point): Uint8Array {
  return P.toBytes(true);
}

/** Decode a received point: compressed, on the curve, not the identity. */
export function pointFromBytes(b: Uint8Array, what: string): Point {
  if (!(b instanceof Uint8Array) || b.length !== POINT_BYTES) {
    throw new CosignerError('MPC_INVALID_MESSAGE', `${what}: expected a ${POINT_BYTES}-byte compressed point`);
  }
  let P: Point;
  try {
    P = Point.fromBytes(b);
    P.assertValidity();
  } catch {
    throw new CosignerError('MPC_INVALID_MESSAGE', `${what}: not a point on secp256k1`);
  }
  if (P.is0()) throw new CosignerError('MPC_INVALID_MESSAGE', `${what}: point at infinity`);
  return P;
}

/** A scalar in [1, q), or a typed error naming only the field (never the value). */
export function checkScalar(x: bigint, what: string, code: 'MPC_INVALID_MESSAGE' | 'SEALED_STATE_INVALID' = 'MPC_INVALID_MESSAGE'): bigint {
  if (typeof x !== 'bigint' || x <= 0n || x >= CURVE_ORDER) throw new CosignerError(code, `${what}: scalar out of range [1, q)`);
  return x;
}

/** Fixed-width 32-byte big-endian scalar. */
export function scalarToBytes(x: bigint): Uint8Array {
  if (x < 0n || x >= CURVE_ORDER) throw new CosignerError('INTERNAL', 'scalar out of range');
  return new Uint8Array(Buffer.from(x.toString(16).padStart(SCALAR_BYTES * 2, '0'), 'hex'));
}

/** Decode a 32-byte scalar and check it is in [1, q). */
export function scalarFromBytes(b: Uint8Array, what: string, code: 'MPC_INVALID_MESSAGE' | 'SEALED_STATE_INVALID' = 'MPC_INVALID_MESSAGE'): bigint {
  if (!(b instanceof Uint8Array) || b.length !== SCALAR_BYTES) throw new CosignerError(code, `${what}: expected ${SCALAR_BYTES} bytes`);
  return checkScalar(bytesToBigint(b), what, code);
}

// Fixed-base and per-key tables (noble's signed fixed-window wNAF, one table addition per window,
// oblivious table reads). They live in our own ScalarMultiplier on a private copy of G, so noble's
// default BASE table (window 6) and whoever else uses it are untouched.
const tables = new ScalarMultiplier(Point, (n?: number) => new Uint8Array(randomBytes(n ?? 32)));
const normalizeTable = (points: Point[]): Point[] => normalizeZ(Point, points);
/**
 * Window 8: 33 table additions for a public 256-bit scalar, 49 for a blinded secret one (noble's
 * default G table, window 6, needs 44 and 65). The two tables are built on first use (~45 ms and
 * ~65 ms, ~0.5 MB and ~1.3 MB) and kept for the life of the process.
 */
const BASE_WINDOW = 8;
const BASE: Point = Point.fromAffine(G.toAffine());
tables.setWindowSize(BASE, BASE_WINDOW);

/**
 * x·G for a secret scalar in [1, q): noble's constant-time path on the precomputed G table (a fixed
 * number of point additions, a real or a dummy one per window, every entry of a window read), with
 * the scalar blinded (x + b·q, b a fresh 128-bit value) as noble's own multiply() does.
 */
export function mulBase(x: bigint): Point {
  return tables.mulCTBlinded(BASE, x, normalizeTable).p;
}

/** a·G for a public scalar a ∈ [0, q) (verification equations): the same table, no blinding. */
export function mulBasePublic(a: bigint): Point {
  return a === 0n ? Point.ZERO : tables.mulUnsafe(BASE, a, normalizeTable);
}

/**
 * a·G + b·P for public scalars (verification equations). G comes from the precomputed table; P
 * uses its own table when it has one (keyWithTable), otherwise noble's one-shot GLV wNAF.
 */
export function publicCombination(a: bigint, P: Point, b: bigint): Point {
  const aa = modQ(a);
  const bb = modQ(b);
  const left = mulBasePublic(aa);
  if (bb === 0n) return left;
  return left.add(tabled.has(P) ? tables.mulUnsafe(P, bb, normalizeTable) : P.multiplyUnsafe(bb));
}

// Per-key tables for verifying under a long-lived public key (P1's and P2's final checks): building
// one costs ~12 ms (window 6, 1408 points, ~0.3 MB) and saves ~0.7 ms per verification, so a key
// gets one once it has been used KEY_TABLE_AFTER_USES times; the KEY_TABLE_KEYS most recently used
// keys keep theirs (at most ~5 MB). Only public points enter here.
const KEY_TABLE_WINDOW = 6;
export const KEY_TABLE_AFTER_USES = 3;
export const KEY_TABLE_KEYS = 16;
const keyTables = new Map<string, { point: Point; uses: number }>();
/** The key copies given a window size here (noble may have set one on other points, e.g. its BASE). */
const tabled = new WeakSet<Point>();

/**
 * The point Q as it should be used for public-scalar multiplications by publicCombination: a
 * private copy that carries a precomputed table once Q has been seen often enough. Q must already
 * be a validated point.
 */
export function keyWithTable(Q: Point): Point {
  const id = Buffer.from(Q.toBytes(true)).toString('hex');
  let entry = keyTables.get(id);
  if (entry) keyTables.delete(id);
  else entry = { point: Point.fromAffine(Q.toAffine()), uses: 0 };
  keyTables.set(id, entry); // most recent last
  if (keyTables.size > KEY_TABLE_KEYS) keyTables.delete(keyTables.keys().next().value as string);
  entry.uses += 1;
  if (entry.uses === KEY_TABLE_AFTER_USES) {
    tables.setWindowSize(entry.point, KEY_TABLE_WINDOW);
    tabled.add(entry.point);
  }
  return entry.point;
}

/** Whether Q currently has a precomputed table (tests and diagnostics). */
export function keyTableBuilt(Q: Point): boolean {
  const entry = keyTables.get(Buffer.from(Q.toBytes(true)).toString('hex'));
  return entry !== undefined && tabled.has(entry.point);
}
