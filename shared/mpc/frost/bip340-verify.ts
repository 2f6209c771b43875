// BIP340 Verify(pk, m, sig) for one fixed x-only key, written from the BIP340 specification
// ("Verification") on noble's secp256k1 point arithmetic and noble's BIP340 helpers (lift_x,
// taggedHash). It is the final check of every FROST bip340 signature: it starts from the 64
// output bytes and the x-only key alone and shares nothing with the FROST signing code (no R,
// challenge or share from the session). It gives the same answers as @noble's schnorr.verify
// (differential test in test/mpc/frost-bip340-verify.test.ts) but costs less: lift_x is done once
// per key, and from the key's second verification on, e·P uses a wNAF table of P instead of a
// fresh joint multiplication.
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import type { SignatureVerifier } from './suite.js';

const { Fp, Fn } = secp256k1.Point;
const TABLE_WINDOW = 3;

function be(b: Uint8Array): bigint {
  let x = 0n;
  for (const v of b) x = (x << 8n) | BigInt(v);
  return x;
}

/** A verifier for the 32-byte x-only key `xOnlyKey`; throws if the key is not a valid x coordinate. */
export function bip340Verifier(xOnlyKey: Uint8Array): SignatureVerifier {
  if (!(xOnlyKey instanceof Uint8Array) || xOnlyKey.length !== 32) throw new RangeError('BIP340 key must be 32 bytes');
  const key = new Uint8Array(xOnlyKey);
  // P = lift_x(int(pk)); fails if x ≥ p or x is not on the curve. Always the even-Y point.
  const P = schnorr.utils.lift_x(be(key));
  let uses = 0;
  return (sig, msg) => {
    try {
      if (!(sig instanceof Uint8Array) || sig.length !== 64 || !(msg instanceof Uint8Array)) return false;
      const rBytes = sig.subarray(0, 32);
      const r = be(rBytes); // fail if r ≥ p
      const s = be(sig.subarray(32)); // fail if s ≥ n (and, as noble does, s = 0)
      if (r >= Fp.ORDER || s === 0n || s >= Fn.ORDER) return false;
      // e = int(hash_BIP0340/challenge(bytes(r) ‖ bytes(P) ‖ m)) mod n
      const e = be(schnorr.utils.taggedHash('BIP0340/challenge', rBytes, key, msg)) % Fn.ORDER;
      if (++uses === 2) P.precompute(TABLE_WINDOW, false);
      // R = s·G − e·P (public values: variable time)
      const R = secp256k1.Point.BASE.multiplyUnsafe(s).subtract(P.multiplyUnsafe(e));
      // fail if is_infinite(R), not has_even_y(R), or x(R) ≠ r
      if (R.is0()) return false;
      const { x, y } = R.toAffine();
      return (y & 1n) === 0n && x === r;
    } catch {
      return false;
    }
  };
}
