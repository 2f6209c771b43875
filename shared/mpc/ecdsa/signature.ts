// The final ECDSA signature and its encodings (SEC 1 v2 §4.1.4 verification; BIP62/BIP146 and
// EIP-2 low-S; Ethereum's recovery id). P1 finishes a two-party signature here: it verifies the
// candidate (r, s) against the (derived) public key before anything is released (CRYPTO.md attack 8).
import { CosignerError } from '../../errors.js';
import { bytesToBigint } from '../transcript.js';
import { CURVE_ORDER, type Point, invQ, keyWithTable, modQ, publicCombination, scalarToBytes } from './curve.js';

const HALF_ORDER = CURVE_ORDER >> 1n;

export class EcdsaSignature {
  constructor(
    readonly r: bigint,
    readonly s: bigint,
    /** Bit 0: y parity of R; bit 1: R.x ≥ q (practically never). Ethereum's yParity = recoveryId & 1. */
    readonly recoveryId: number,
  ) {}

  /** 64 bytes r ‖ s (big-endian, 32 each). */
  toCompact(): Uint8Array {
    const out = new Uint8Array(64);
    out.set(scalarToBytes(this.r), 0);
    out.set(scalarToBytes(this.s), 32);
    return out;
  }

  /** ASN.1 DER SEQUENCE { INTEGER r, INTEGER s } (X9.62), as node:crypto and Bitcoin expect. */
  toDer(): Uint8Array {
    const r = derInteger(this.r);
    const s = derInteger(this.s);
    return Uint8Array.from([0x30, r.length + s.length, ...r, ...s]);
  }
}

function derInteger(x: bigint): number[] {
  let b = Array.from(scalarToBytes(x));
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.slice(1);
  if (b[0]! & 0x80) b = [0, ...b];
  return [0x02, b.length, ...b];
}

/** The 32-byte message hash as the integer ECDSA signs (bits2int for a 256-bit curve, then mod q). */
export function hashToScalar(hash: Uint8Array): bigint {
  if (!(hash instanceof Uint8Array) || hash.length !== 32) throw new CosignerError('MPC_INVALID_MESSAGE', 'message hash must be 32 bytes');
  return modQ(bytesToBigint(hash));
}

/**
 * Verify (r, s) on the hash integer m under public key Q (SEC 1 §4.1.4): R' = (m/s)·G + (r/s)·Q,
 * accept iff R' ≠ O and R'.x mod q = r. Returns R' (all public values, so the fast
 * variable-time multiplication is fine) or undefined when the signature is invalid. A key that
 * signs repeatedly gets a precomputed table (curve.ts keyWithTable), which makes this ~3x faster.
 */
export function verifyAndRecoverR(m: bigint, r: bigint, s: bigint, Q: Point): Point | undefined {
  if (r <= 0n || r >= CURVE_ORDER || s <= 0n || s >= CURVE_ORDER) return undefined;
  const w = invQ(s);
  const R = publicCombination(m * w, keyWithTable(Q), r * w);
  if (R.is0()) return undefined;
  const { x } = R.toAffine();
  return modQ(x) === r ? R : undefined;
}

/**
 * Verify a candidate signature and put it into its canonical form: low-S (s ≤ q/2), with the
 * recovery id computed from R = k·G — y parity, plus 2 when R.x ≥ q — and the parity flipped
 * when s is negated (negating s turns the verification point into −R). Undefined if invalid.
 */
export function finalizeSignature(m: bigint, r: bigint, s: bigint, Q: Point): EcdsaSignature | undefined {
  const R = verifyAndRecoverR(m, r, s, Q);
  if (!R) return undefined;
  const { x, y } = R.toAffine();
  let recoveryId = Number(y & 1n) | (x >= CURVE_ORDER ? 2 : 0);
  let sLow = s;
  if (s > HALF_ORDER) {
    sLow = CURVE_ORDER - s;
    recoveryId ^= 1;
  }
  return new EcdsaSignature(r, sLow, recoveryId);
}

/**
 * P2's check of the signature P1 releases (SEC 1 §4.1.4 verification under the key P2 derived
 * itself, on the hash P2 computed itself): valid, r equal to the r P2 computed from its own nonce
 * (so it belongs to this session, not a replay of an older signature on the same hash), low-S,
 * and the recovery id the one finalizeSignature gives — i.e. exactly the canonical signature P1
 * outputs, so both parties hold the same bytes.
 */
export function isCanonicalSignatureFor(sig: EcdsaSignature, m: bigint, expectedR: bigint, Q: Point): boolean {
  if (sig.r !== expectedR || sig.s <= 0n || sig.s > HALF_ORDER) return false;
  const canonical = finalizeSignature(m, sig.r, sig.s, Q);
  return canonical !== undefined && canonical.s === sig.s && canonical.recoveryId === sig.recoveryId;
}
