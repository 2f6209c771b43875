// secp256k1 points and scalars at the protocol boundary (CRYPTO.md attack 7 "Invalid points and
// scalars"): every point received is decoded strictly (on the curve, compressed, never the
// identity) and every scalar is checked to be in [1, q). Randomness comes from node:crypto.
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
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

/** Inverse mod q (q is prime; Fermat through noble's field). Throws on 0. */
export function invQ(x: bigint): bigint {
  const v = modQ(x);
  if (v === 0n) throw new CosignerError('INTERNAL', 'inverse of zero scalar');
  return Point.Fn.inv(v);
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

/** x·G for a secret scalar in [1, q) (noble's constant-time ladder). */
export function mulBase(x: bigint): Point {
  return G.multiply(x);
}

/**
 * a·G + b·P for public scalars (verification equations). G's precomputed table plus one
 * variable-time multiplication measured faster here than noble's joint mulAddUnsafe.
 */
export function publicCombination(a: bigint, P: Point, b: bigint): Point {
  const aa = modQ(a);
  const bb = modQ(b);
  const left = aa === 0n ? Point.ZERO : G.multiply(aa);
  return bb === 0n ? left : left.add(P.multiplyUnsafe(bb));
}
