// The Paillier cryptosystem with g = N + 1 (Paillier, EUROCRYPT'99; the variant used by
// Lindell 2017 §3 and CGGMP21 §2.3): Enc(m; r) = (1 + N)^m · r^N mod N², additively homomorphic.
// Keys are Paillier–Blum moduli (p ≡ q ≡ 3 mod 4) so that Πmod (CGGMP21 Fig. 16) can prove them.
// The secret-key holder uses CRT (mod p², q²) for decryption and encryption, ~3-4x faster.
import * as s from '../../schema.js';
import { CosignerError, isCosignerError } from '../../errors.js';
import { decodeCbor, encodeCbor } from '../../cbor.js';
import {
  bitLength, crtCombine, gcd, generateBlumPrime, isProbablePrime, mod, modInv, modPow, randomCoprime,
} from '../bigint/modarith.js';
import { bytesForBits, uintToWire } from '../bigint/wire.js';
import { modPowSecret } from '../bigint/secret-modpow.js';
import { PAILLIER_DEFAULT_BITS, PAILLIER_MAX_BITS } from './modulus-shape.js';

export { checkPaillierModulusShape, PAILLIER_DEFAULT_BITS, PAILLIER_MIN_BITS, PAILLIER_MAX_BITS } from './modulus-shape.js';

/** Smallest modulus this module will generate or load (tests only; policy is checkPaillierModulusShape). */
const MIN_KEY_BITS = 512;

function invalidCiphertext(): never {
  throw new CosignerError('MPC_INVALID_MESSAGE', 'Paillier ciphertext out of range or not a unit mod N');
}

export class PaillierPublicKey {
  readonly n: bigint;
  readonly nSquared: bigint;

  /** Only structural checks here (odd, size); peers' moduli also need checkPaillierModulusShape + Πmod + Πfac. */
  constructor(n: bigint) {
    if (typeof n !== 'bigint' || n < 3n || (n & 1n) === 0n || bitLength(n) > PAILLIER_MAX_BITS) {
      throw new CosignerError('MPC_INVALID_KEY', 'Paillier modulus must be an odd integer of at most 4096 bits');
    }
    this.n = n;
    this.nSquared = n * n;
  }

  /** Encrypt m mod N with fresh r ← Z*_N; returns r too (proofs about the ciphertext need it). */
  encrypt(m: bigint): { c: bigint; r: bigint } {
    const r = randomCoprime(this.n);
    return { c: this.encryptWith(m, r), r };
  }

  /**
   * Enc(m; r) = (1 + m·N) · r^N mod N², since (1 + N)^m ≡ 1 + m·N (mod N²). r must be in Z*_N.
   * r is secret (it opens the ciphertext), so r^N takes the constant-time route only.
   */
  encryptWith(m: bigint, r: bigint): bigint {
    this.checkRandomness(r);
    return (this.plaintextPart(m) * modPowSecret(r, this.n, this.nSquared, { what: 'encrypt under Paillier' })) % this.nSquared;
  }

  /** The same Enc(m; r) for a verifier recomputing it from public m and r (e.g. Πlog*'s z1, z2): any route. */
  encryptPublic(m: bigint, r: bigint): bigint {
    this.checkRandomness(r);
    return (this.plaintextPart(m) * modPow(r, this.n, this.nSquared)) % this.nSquared;
  }

  /** Enc(m1) ⊕ Enc(m2) = Enc(m1 + m2). Both must be in (0, N²); full validity is the receiver's job (isValidCiphertext). */
  add(c1: bigint, c2: bigint): bigint {
    this.checkRange(c1);
    this.checkRange(c2);
    return (c1 * c2) % this.nSquared;
  }

  /**
   * k ⊙ Enc(m) = Enc(k·m), as c^k mod N²; a negative k uses c⁻¹ (throws MPC_NOT_INVERTIBLE if c is not a unit).
   * For a PUBLIC k only: a secret multiplier goes through modPowSecret (as P2's signing does).
   */
  mul(c: bigint, k: bigint): bigint {
    this.checkRange(c);
    return modPow(c, k, this.nSquared);
  }

  /** c ∈ Z*_{N²}: 0 < c < N² and gcd(c, N) = 1. Check every ciphertext received from a peer. */
  isValidCiphertext(c: bigint): boolean {
    return typeof c === 'bigint' && c > 0n && c < this.nSquared && gcd(c, this.n) === 1n;
  }

  /** (1 + N)^m mod N² computed as 1 + (m mod N)·N. */
  plaintextPart(m: bigint): bigint {
    return 1n + mod(m, this.n) * this.n;
  }

  private checkRange(c: bigint): void {
    if (typeof c !== 'bigint' || c <= 0n || c >= this.nSquared) invalidCiphertext();
  }

  private checkRandomness(r: bigint): void {
    if (typeof r !== 'bigint' || r <= 0n || r >= this.n || gcd(r, this.n) !== 1n) {
      throw new CosignerError('MPC_INVALID_MESSAGE', 'Paillier randomness must be in Z*_N');
    }
  }
}

const SecretKeyWire = s.struct({
  v: s.literal(1),
  p: s.biguint({ maxBytes: bytesForBits(PAILLIER_MAX_BITS / 2) }),
  q: s.biguint({ maxBytes: bytesForBits(PAILLIER_MAX_BITS / 2) }),
});

/** Per-prime CRT constants: x mod r² work for r ∈ {p, q}. */
interface PrimeContext {
  prime: bigint;
  square: bigint;
  /** h = L((1+N)^(r-1) mod r²)⁻¹ mod r, the decryption constant for g = N + 1. */
  h: bigint;
  /** N mod r(r-1): the exponent for r'^N mod r² (Z*_{r²} has order r(r-1)). */
  nModOrder: bigint;
}

function primeContext(prime: bigint, n: bigint): PrimeContext {
  const square = prime * prime;
  // The exponent r − 1 and the modulus r² are secret: constant-time route.
  const lg = (modPowSecret(n + 1n, prime - 1n, square, { what: 'load a Paillier secret key' }) - 1n) / prime;
  return { prime, square, h: modInv(lg, prime), nModOrder: n % (prime * (prime - 1n)) };
}

export class PaillierSecretKey {
  readonly publicKey: PaillierPublicKey;
  readonly p: bigint;
  readonly q: bigint;
  /** φ(N) = (p-1)(q-1); also a valid Paillier λ for g = N + 1. */
  readonly phi: bigint;
  private readonly cp: PrimeContext;
  private readonly cq: PrimeContext;
  private readonly qInvP: bigint;
  private readonly pSquaredInvQSquared: bigint;

  private constructor(p: bigint, q: bigint) {
    this.p = p;
    this.q = q;
    this.publicKey = new PaillierPublicKey(p * q);
    this.phi = (p - 1n) * (q - 1n);
    this.cp = primeContext(p, this.publicKey.n);
    this.cq = primeContext(q, this.publicKey.n);
    this.qInvP = modInv(q, p);
    this.pSquaredInvQSquared = modInv(this.cp.square, this.cq.square);
  }

  /**
   * Build a key from its primes, validating them: distinct primes ≡ 3 (mod 4) (Paillier–Blum),
   * gcd(N, φ(N)) = 1, N between 512 and 4096 bits. Throws MPC_INVALID_KEY.
   */
  static fromPrimes(p: bigint, q: bigint): PaillierSecretKey {
    const bad = (why: string): never => { throw new CosignerError('MPC_INVALID_KEY', `Paillier secret key rejected: ${why}`); };
    if (typeof p !== 'bigint' || typeof q !== 'bigint') bad('primes must be bigints');
    if (p === q) bad('p = q');
    if ((p & 3n) !== 3n || (q & 3n) !== 3n) bad('primes must be 3 mod 4');
    const bits = bitLength(p * q);
    if (bits < MIN_KEY_BITS || bits > PAILLIER_MAX_BITS) bad('modulus size out of range');
    if (!isProbablePrime(p) || !isProbablePrime(q)) bad('factor is not prime');
    if (gcd(p * q, (p - 1n) * (q - 1n)) !== 1n) bad('gcd(N, phi(N)) != 1');
    return new PaillierSecretKey(p, q);
  }

  /**
   * c ∈ Z*_{N²}, the same predicate as PaillierPublicKey.isValidCiphertext, decided with the
   * factors: c is a unit mod N = p·q iff neither prime divides it (two reductions, no big gcd).
   */
  isValidCiphertext(c: bigint): boolean {
    return typeof c === 'bigint' && c > 0n && c < this.publicKey.nSquared && c % this.p !== 0n && c % this.q !== 0n;
  }

  /** Decrypt to [0, N) by CRT (Paillier §4 with L(x) = (x-1)/r); rejects c outside Z*_{N²}. */
  decrypt(c: bigint): bigint {
    if (!this.isValidCiphertext(c)) invalidCiphertext();
    const mp = this.decryptModPrime(c, this.cp);
    const mq = this.decryptModPrime(c, this.cq);
    return crtCombine(mp, mq, this.p, this.q, this.qInvP);
  }

  /** Decrypt and map to the centred range (-N/2, N/2]. */
  decryptSigned(c: bigint): bigint {
    const m = this.decrypt(c);
    return m > this.publicKey.n / 2n ? m - this.publicKey.n : m;
  }

  /** Same ciphertext distribution as the public key's encrypt, with r^N computed by CRT. */
  encrypt(m: bigint): { c: bigint; r: bigint } {
    const r = randomCoprime(this.publicKey.n);
    return { c: this.encryptWith(m, r), r };
  }

  encryptWith(m: bigint, r: bigint): bigint {
    const pk = this.publicKey;
    if (typeof r !== 'bigint' || r <= 0n || r >= pk.n || gcd(r, pk.n) !== 1n) {
      throw new CosignerError('MPC_INVALID_MESSAGE', 'Paillier randomness must be in Z*_N');
    }
    // Exponents N mod r(r−1) and moduli r² are secret (so is r): constant-time route.
    const rp = modPowSecret(r, this.cp.nModOrder, this.cp.square, { what: 'encrypt under Paillier' });
    const rq = modPowSecret(r, this.cq.nModOrder, this.cq.square, { what: 'encrypt under Paillier' });
    const rn = crtCombine(rq, rp, this.cq.square, this.cp.square, this.pSquaredInvQSquared);
    return (pk.plaintextPart(m) * rn) % pk.nSquared;
  }

  /** CBOR {v: 1, p, q} for sealing. The caller wipes the returned bytes after use. */
  encode(): Uint8Array {
    return encodeCbor({ v: 1, p: uintToWire(this.p), q: uintToWire(this.q) });
  }

  /** Inverse of encode; re-validates the primes. Throws SEALED_STATE_INVALID on any defect. */
  static decode(b: Uint8Array): PaillierSecretKey {
    try {
      if (!(b instanceof Uint8Array)) throw new TypeError('not bytes');
      const w = s.parse(SecretKeyWire, decodeCbor(b));
      return PaillierSecretKey.fromPrimes(w.p, w.q);
    } catch (e) {
      // A missing constant-time route is not damaged state: say so, or an operator might discard the key.
      if (isCosignerError(e, 'CRYPTO_SELF_TEST_FAILED')) throw e;
      const why = e instanceof CosignerError ? e.message : 'not a CBOR Paillier key';
      throw new CosignerError('SEALED_STATE_INVALID', `sealed Paillier key invalid: ${why}`);
    }
  }

  /** Never serialise the primes by accident (logs, JSON). */
  toJSON(): { type: string; bits: number } {
    return { type: 'PaillierSecretKey', bits: bitLength(this.publicKey.n) };
  }

  private decryptModPrime(c: bigint, ctx: PrimeContext): bigint {
    // Secret exponent r − 1 (fixed per key, so of fixed length) and secret modulus r²: constant-time route.
    const u = modPowSecret(c % ctx.square, ctx.prime - 1n, ctx.square, { what: 'decrypt a Paillier ciphertext' });
    return mod(((u - 1n) / ctx.prime) * ctx.h, ctx.prime);
  }
}

/**
 * A fresh Paillier–Blum key pair with an N of exactly `bits` bits (default 2048; ≥ 512 and even).
 * Primes come from OpenSSL with p ≡ 3 (mod 4); |p - q| > 2^(bits/2 - 100) rules out Fermat factoring.
 */
export function generatePaillierKeyPair(bits: number = PAILLIER_DEFAULT_BITS): { publicKey: PaillierPublicKey; secretKey: PaillierSecretKey } {
  if (!Number.isSafeInteger(bits) || bits % 2 !== 0 || bits < MIN_KEY_BITS || bits > PAILLIER_MAX_BITS) {
    throw new CosignerError('INTERNAL', `Paillier key size must be even and in [${MIN_KEY_BITS}, ${PAILLIER_MAX_BITS}]`);
  }
  const half = bits / 2;
  for (;;) {
    const p = generateBlumPrime(half);
    const q = generateBlumPrime(half);
    if (q === p || bitLength(p * q) !== bits) continue;
    if (bitLength(p > q ? p - q : q - p) <= half - 100) continue;
    const secretKey = PaillierSecretKey.fromPrimes(p, q);
    return { publicKey: secretKey.publicKey, secretKey };
  }
}
