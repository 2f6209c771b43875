// P2's Paillier randomizers r^N mod N², computed ahead of time. P2's last signing message needs one
// fresh encryption Enc(m; r) = (1 + m·N)·r^N mod N²; the r^N part (a 2048-bit exponent mod a
// 4096-bit modulus) is most of P2's online cost and does not depend on the key share, the message
// or the nonces, so it can be computed while the co-signer is idle.
//
// This is not a presignature: nothing here relates to a nonce or to x2, and the values live only
// in memory (never sealed), so a rolled-back blob cannot bring one back. Each value is handed out
// exactly once (take() removes it), because two ciphertexts sharing r would let P1 — who can
// strip randomness with its factorisation — relate P2's two multipliers k2⁻¹·r.
import type { PaillierPublicKey } from '../paillier/paillier.js';
import { randomCoprime } from '../bigint/modarith.js';
import { modPowSecret } from '../bigint/secret-modpow.js';

/**
 * A fresh r^N mod N² with r uniform in Z*_N: exactly Enc(0; r) (Paillier §3 with g = N + 1), computed
 * directly rather than through encrypt(0), which would test r ∈ Z*_N a second time (a 2048-bit gcd).
 * r is secret (it opens c3): the constant-time route only, which refuses rather than fall back to BigInt.
 */
export function freshRandomizer(publicKey: PaillierPublicKey): bigint {
  return modPowSecret(randomCoprime(publicKey.n), publicKey.n, publicKey.nSquared, { what: 'compute a Paillier randomizer' });
}

export class PaillierRandomizerPool {
  private readonly ready: bigint[] = [];

  constructor(readonly publicKey: PaillierPublicKey, readonly size = 4) {}

  private fresh(): bigint {
    return freshRandomizer(this.publicKey);
  }

  /** Top the pool up to `size` (synchronous; call when idle, e.g. after each signature). */
  refill(): void {
    while (this.ready.length < this.size) this.ready.push(this.fresh());
  }

  get available(): number {
    return this.ready.length;
  }

  /** One randomizer, never handed out again; computed on the spot when the pool is empty. */
  take(): bigint {
    return this.ready.pop() ?? this.fresh();
  }
}
