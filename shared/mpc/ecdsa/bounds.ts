// Sizes for the two-party ECDSA protocol, and why they are enough.
//
// Lindell 2017 (ePrint 2017/552) Protocol 3.3 step 3 has P2 send c3 = Enc(ρ·q + k2⁻¹·m' + k2⁻¹·r·x2) ⊕
// (k2⁻¹·r) ⊗ c_key with ρ ← Z_{q²}: enough when c_key provably holds x1 ∈ [0, q). We replace the
// interactive PDL/range proof with CGGMP21's Πlog* (Fig. 25), whose soundness only pins the
// plaintext x1* of c_key to |x1*| ≤ 2^{ℓ+ε+1} = 2^769 (congruent to x1 mod q). So:
//
//   plaintext P = ρ·q + a + b·x1*   with a = k2⁻¹(m + r·x2') mod q < q, and b ≡ k2⁻¹·r (mod q)
//   lifted to b = (k2⁻¹·r mod q) + 2^32·q < 2^289 so that its word count does not depend on k2
//   (secret-modpow.ts liftExponent; only b mod q matters for s')
//   |a + b·x1*| < q + 2^{289+769} < 2^{1059}  ⇒  a + b·x1* = w0 + j·q, w0 = s' ∈ [0, q), |j| < 2^{804}
//   P = (ρ + j)·q + w0, and with ρ uniform in [0, 2^{RHO_BITS}) the statistical distance between
//   ρ + j and ρ is ≤ |j| / 2^{RHO_BITS} = 2^{804−1024} = 2^{−220}:
//   what P1 sees is (up to 2^{−253}) a function of s' = P mod q alone — the value it must learn.
//
// The plaintext must also stay far below N/2 so that decryption (P1 reads it as a signed value,
// cb-mpc does the same) never wraps: |P| < 2^{1024}·q + 2^{1059} < 2^{1281}, while N ≥ 2^{2047}
// (2048-bit Paillier modulus, checked before any use) leaves a margin of 2^{765}.
export { PAILLIER_MIN_BITS, PAILLIER_MAX_BITS } from '../paillier/modulus-shape.js';

/** ρ ← [0, 2^RHO_BITS) in P2's last message. */
export const RHO_BITS = 1024;

/** The largest plaintext P2 ever encrypts is below 2^MAX_PLAINTEXT_BITS. */
export const MAX_PLAINTEXT_BITS = 1282;

/**
 * Minimum bits of P2's ring-Pedersen modulus N̂ that P1 accepts. 2048 in production (CGGMP21 §C);
 * tests may pass 1024-bit parameters explicitly to stay fast.
 */
export const RING_PEDERSEN_MIN_BITS = 2048;
