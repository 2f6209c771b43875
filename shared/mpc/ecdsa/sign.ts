// Two-party ECDSA signing on secp256k1 — Lindell 2017 (ePrint 2017/552) Protocol 3.3 adapted to
// additive shares (as coinbase/cb-mpc "ECDSA-2PC Sign", global-abort mode):
//
//   1. P1 → P2  com(R1, π_DL(k1), m, Q')                 (Protocol 3.3 step 1; m and Q' bound so a mismatch
//                                                         of hash or derivation aborts before step 4)
//   2. P2 → P1  R2 = k2·G, π_DL(k2)                       (Protocol 3.3 step 2)
//   3. P1 → P2  open(R1, π_DL(k1))                        (Protocol 3.3 step 3)
//   4. P2 → P1  c3 = Enc(ρ·q + k2⁻¹·(m + r·x2')) ⊕ (k2⁻¹·r) ⊗ c_key,  ρ ← [0, 2^1024)   (Protocol 3.3 step 3)
//   P1: s' = Dec(c3) mod q, s = k1⁻¹·s' mod q, verify, low-S, recovery id   (Protocol 3.3 step 4)
//   5. P1 → P2  (r, s, recoveryId)                        (not in the paper: P2 — the enclave — learns
//                                                         the result; P2 verifies it under Q' on its own hash)
//
// Releasing the signature to P2 adds nothing for a cheating P2: a valid (r, s) for this session's R,
// m and Q' is unique up to the sign of s, so it is exactly what an honest run outputs; P1 sends it
// only after it verified, so the one bit a bad c3 can extract (valid or not) is still all there is,
// and that is covered by P1's terminal lock.
//
// Derivation (BIP32 non-hardened, CRYPTO.md "Derivation"): the child key is Q' = Q + t·G. P2 adds
// the tweak to its share (x2' = x2 + t) because x2 enters its message in the clear; P1 leaves x1 and
// c_key alone and verifies against Q'. Both parties take t as input and P1 commits to Q', so a
// disagreement stops the session at step 3, before P1 decrypts anything.
//
// Terminal abort (Protocol 3.3, "why P1 stops", CVE-2023-33242): P2's last message is not proven correct, so
// P1's decision "valid or not" can leak a bit of x1 to a cheating P2. A signature that fails
// verification therefore locks P1's share (MPC_SIGNATURE_INVALID, then MPC_KEY_LOCKED for ever,
// including after re-sealing). No presignatures: both nonces are fresh for each run, never stored.
import * as s from '../../schema.js';
import { CosignerError } from '../../errors.js';
import type { MpcMessage, Party } from '../party.js';
import type { AuthenticatedMessage } from '../authenticated-message.js';
import type { ProofContext } from '../zk/context.js';
import { commit, verifyCommitment, COMMITMENT_BYTES, COMMITMENT_SALT_BYTES } from '../commitment.js';
import { DlogProofSchema, verifyDlog, type DlogProof } from '../zk/dlog.js';
import { PAILLIER_MAX_BITS, PAILLIER_MIN_BITS } from '../paillier/modulus-shape.js';
import { bitLength, randomBits } from '../bigint/modarith.js';
import { liftExponent, modPowSecret, requireConstantTimeModPow } from '../bigint/secret-modpow.js';
import { uintToWire } from '../bigint/wire.js';
import { CURVE_ORDER, type Point, POINT_BYTES, SCALAR_BYTES, modQ, mulBase, pointFromBytes, pointToBytes, scalarToBytes } from './curve.js';
import { EcdsaNonce, rFromX } from './nonce.js';
import { EcdsaSignature, finalizeSignature, hashToScalar, isCanonicalSignatureFor } from './signature.js';
import { bytesToBigint } from '../transcript.js';
import { EcdsaKeyShareP1, EcdsaKeyShareP2 } from './key-share.js';
import { TwoPartySession, proofFailed, type TwoPartyIds } from './two-party-session.js';
import { RHO_BITS } from './bounds.js';
import { PaillierRandomizerPool, freshRandomizer } from './randomizer-pool.js';
import { checkNotLocked, ecdsaKeyId, type KeyLockStore } from './key-lock-store.js';

// v2: round 5 (the signature to P2); v1 peers are refused.
export const ECDSA_SIGN_PROTOCOL = 'ecdsa2p-secp256k1-sign/v2';

const Round1 = s.struct({ commitment: s.bytes({ len: COMMITMENT_BYTES }) });
const Round2 = s.struct({ R2: s.bytes({ len: POINT_BYTES }), proofR2: DlogProofSchema });
const Round3 = s.struct({ R1: s.bytes({ len: POINT_BYTES }), proofR1: DlogProofSchema, salt: s.bytes({ len: COMMITMENT_SALT_BYTES }) });
const Round4 = s.struct({ c3: s.biguint({ maxBytes: (2 * PAILLIER_MAX_BITS) / 8 }) });
const Round5 = s.struct({ r: s.bytes({ len: SCALAR_BYTES }), s: s.bytes({ len: SCALAR_BYTES }), recoveryId: s.uint({ max: 3 }) });

export interface EcdsaSignOptions extends TwoPartyIds {
  /** The 32-byte hash to sign, computed by this party itself (never taken from the peer). */
  messageHash: Uint8Array;
  /** Additive derivation tweak t ∈ [0, q): signs for Q + t·G. Both parties must pass the same t. */
  tweak?: bigint;
}

export interface EcdsaSignP1Options extends EcdsaSignOptions {
  /**
   * Where this key's terminal lock lives (key-lock-store.ts; durable in the coordinator). Required:
   * it is consulted at session start and before decryption, so that no other object of the same
   * key — decoded from the same or an older sealed encoding — can sign once the key is locked.
   */
  lockStore: KeyLockStore;
}

export interface EcdsaSignP2Options extends EcdsaSignOptions {
  /** Precomputed Paillier randomizers for this key's N (P2 only); a fresh one is computed without. */
  randomizers?: PaillierRandomizerPool;
}

function ctx(session: TwoPartySession, prover: number, label: string): ProofContext {
  return { sessionId: session.sessionId, prover, label: `${ECDSA_SIGN_PROTOCOL}/${label}` };
}

const CHILD_KEYS_CACHED = 256;
const childKeys = new Map<string, Point>();

/**
 * Q' = Q + t·G, rejecting t ∉ [0, q) and a child key at infinity. Public values only; the most
 * recently used (Q, t) pairs are cached (issue 12, derivation cost), so a BIP44 path signed again
 * costs no curve arithmetic here.
 */
export function derivePublicKey(Q: Point, tweak: bigint | undefined): Point {
  const t = tweak ?? 0n;
  if (typeof t !== 'bigint' || t < 0n || t >= CURVE_ORDER) throw new CosignerError('KEY_DERIVATION_INVALID', 'tweak must be in [0, q)');
  if (t === 0n) return Q;
  const id = `${Buffer.from(Q.toBytes(true)).toString('hex')}/${t.toString(16)}`;
  const hit = childKeys.get(id);
  if (hit) {
    childKeys.delete(id);
    childKeys.set(id, hit);
    return hit;
  }
  const child = Q.add(mulBase(t));
  if (child.is0()) throw new CosignerError('KEY_DERIVATION_INVALID', 'derived public key is the point at infinity');
  childKeys.set(id, child);
  if (childKeys.size > CHILD_KEYS_CACHED) childKeys.delete(childKeys.keys().next().value as string);
  return child;
}

function commitmentItems(R1: Uint8Array, proof: DlogProof, hash: Uint8Array, childKey: Uint8Array): Uint8Array[] {
  return [R1, proof.A, proof.z, hash, childKey];
}

function commitmentContext(session: TwoPartySession) {
  return { sessionId: session.sessionId, party: session.p1, label: `${ECDSA_SIGN_PROTOCOL}/R1` };
}

function checkHash(h: Uint8Array): Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== 32) throw new CosignerError('MPC_STATE', 'message hash must be 32 bytes');
  return new Uint8Array(h);
}

/** P1 of signing: decrypts P2's last message, verifies and outputs the signature. */
export class EcdsaSignP1 implements Party<EcdsaSignature> {
  readonly protocol = ECDSA_SIGN_PROTOCOL;
  private readonly session: TwoPartySession;
  private readonly hash: Uint8Array;
  private readonly m: bigint;
  private readonly childKey: Point;
  private nonce: EcdsaNonce | undefined;
  private proofR1: DlogProof | undefined;
  private salt: Uint8Array | undefined;
  private r: bigint | undefined;
  private output: EcdsaSignature | undefined;
  private readonly lockStore: KeyLockStore;
  private readonly keyId: string;

  constructor(private readonly share: EcdsaKeyShareP1, options: EcdsaSignP1Options) {
    const store = options.lockStore;
    if (!store || typeof store.isLocked !== 'function' || typeof store.lock !== 'function') {
      throw new CosignerError('MPC_STATE', 'ECDSA signing as P1 needs a key lock store (lockStore)');
    }
    this.lockStore = store;
    this.keyId = ecdsaKeyId(share);
    this.checkUnlocked();
    this.session = new TwoPartySession(ECDSA_SIGN_PROTOCOL, options, 'p1');
    this.hash = checkHash(options.messageHash);
    this.m = hashToScalar(this.hash);
    this.childKey = derivePublicKey(share.Q, options.tweak);
  }

  get sessionId(): Uint8Array { return this.session.sessionId; }
  get self(): number { return this.session.self; }
  get done(): boolean { return this.session.done; }
  /** The (derived) public key Q' = Q + t·G this session signs for, compressed. */
  get publicKey(): Uint8Array { return pointToBytes(this.childKey); }

  /**
   * The key may be used: neither this object's flag nor the lock store says locked. A share object
   * that is locked while the store is not (a lock whose recording failed) is recorded again.
   */
  private checkUnlocked(): void {
    if (this.share.locked) {
      this.recordLock('share object was already locked');
      throw new CosignerError('MPC_KEY_LOCKED', 'this ECDSA key share is locked after a failed signature; refresh the key');
    }
    checkNotLocked(this.lockStore, this.keyId);
  }

  /** Lock the key in this object and in the store; false if the store could not record it. */
  private recordLock(reason: string): boolean {
    this.share.lock();
    try {
      this.lockStore.lock(this.keyId, reason);
      return true;
    } catch {
      return false;
    }
  }

  start(): MpcMessage[] {
    this.session.begin(2);
    this.checkUnlocked();
    const S = this.session;
    this.nonce = new EcdsaNonce();
    this.proofR1 = this.nonce.prove(ctx(S, S.p1, 'R1'));
    const c = commit(commitmentContext(S), commitmentItems(this.nonce.publicPoint, this.proofR1, this.hash, pointToBytes(this.childKey)));
    this.salt = c.salt;
    return [S.envelope(1, { commitment: c.commitment })];
  }

  receive(message: AuthenticatedMessage): MpcMessage[] {
    try {
      if (this.r === undefined) return this.session.handle(message, Round2, (m) => this.onRound2(m));
      return this.session.handle(message, Round4, (m) => this.onRound4(m));
    } catch (e) {
      // A dead session never needs its nonce again.
      this.nonce?.wipe();
      this.nonce = undefined;
      throw e;
    }
  }

  private onRound2(m: s.Infer<typeof Round2>): MpcMessage[] {
    const S = this.session;
    const R2 = pointFromBytes(m.R2, 'R2');
    if (!verifyDlog(R2, m.proofR2, ctx(S, S.p2, 'R2'))) proofFailed('proof of knowledge of k2');
    this.r = rFromX(this.nonce!.sharedX(R2));
    S.expect(4);
    return [S.envelope(3, { R1: this.nonce!.publicPoint, proofR1: this.proofR1!, salt: this.salt! })];
  }

  private onRound4(msg: s.Infer<typeof Round4>): MpcMessage[] {
    const share = this.share;
    const nonce = this.nonce!;
    try {
      // Another session (any object, any process) may have locked the key meanwhile: never
      // decrypt for a locked key.
      this.checkUnlocked();
      // Validity of c3 (c3 ∈ Z*_{N²}) does not depend on any secret, so rejecting it here leaks
      // nothing: no lock. P1 decides it with its factors (no 4096-bit gcd), decrypt() reuses it.
      if (!share.paillier.isValidCiphertext(msg.c3)) throw new CosignerError('MPC_INVALID_MESSAGE', 'c3 is not a valid Paillier ciphertext');
      // From here on the outcome depends on x1: any failure, expected or not, is terminal for the key.
      let sig: EcdsaSignature | undefined;
      try {
        const sPrime = modQ(share.paillier.decryptSigned(msg.c3));
        sig = sPrime === 0n ? undefined : finalizeSignature(this.m, this.r!, modQ(nonce.inverse() * sPrime), this.childKey);
      } catch {
        sig = undefined;
      }
      if (!sig) {
        // The lock is recorded (durably, by the store's contract) before the error leaves P1.
        const recorded = this.recordLock('a two-party signature failed after decryption (terminal abort, CVE-2023-33242)');
        throw new CosignerError(
          'MPC_SIGNATURE_INVALID',
          recorded
            ? 'the two-party ECDSA signature does not verify; the key is now locked'
            : 'the two-party ECDSA signature does not verify; the key is locked in this process but the lock store could not record it — do not use this key again',
          { lockRecorded: recorded },
        );
      }
      this.output = sig;
      this.session.finish();
      // Only a verified, canonical signature ever leaves P1.
      return [this.session.envelope(5, { r: scalarToBytes(sig.r), s: scalarToBytes(sig.s), recoveryId: sig.recoveryId })];
    } finally {
      nonce.wipe();
      this.nonce = undefined;
    }
  }

  result(): EcdsaSignature {
    if (!this.output) throw new CosignerError('MPC_STATE', 'signing not finished');
    return this.output;
  }
}

/**
 * P2 of signing (the enclave in deployment): contributes k2 and x2' homomorphically; never decrypts.
 * Its output is the signature P1 sends back in round 5, accepted only if it verifies.
 */
export class EcdsaSignP2 implements Party<EcdsaSignature> {
  readonly protocol = ECDSA_SIGN_PROTOCOL;
  private readonly session: TwoPartySession;
  private readonly hash: Uint8Array;
  private readonly m: bigint;
  private readonly childKey: Point;
  private readonly tweak: bigint;
  private commitment: Uint8Array | undefined;
  private nonce: EcdsaNonce | undefined;
  /** r of this session, computed by P2 itself in round 3 (then only round 5 is accepted). */
  private r: bigint | undefined;
  private output: EcdsaSignature | undefined;

  private readonly randomizers: PaillierRandomizerPool | undefined;

  constructor(private readonly share: EcdsaKeyShareP2, options: EcdsaSignP2Options) {
    if (options.randomizers && options.randomizers.publicKey.n !== share.paillier.n) {
      throw new CosignerError('MPC_STATE', 'randomizer pool belongs to another Paillier key');
    }
    this.randomizers = options.randomizers;
    // The mask bound (bounds.ts) needs N ≥ 2^2047; shares from keygen/decode always satisfy it.
    if (bitLength(share.paillier.n) < PAILLIER_MIN_BITS) throw new CosignerError('MPC_INVALID_KEY', 'Paillier modulus too short for the signing mask');
    this.session = new TwoPartySession(ECDSA_SIGN_PROTOCOL, options, 'p2');
    this.hash = checkHash(options.messageHash);
    this.m = hashToScalar(this.hash);
    this.childKey = derivePublicKey(share.Q, options.tweak);
    this.tweak = options.tweak ?? 0n;
  }

  get sessionId(): Uint8Array { return this.session.sessionId; }
  get self(): number { return this.session.self; }
  get done(): boolean { return this.session.done; }
  /** The (derived) public key Q' = Q + t·G this session signs for, compressed. */
  get publicKey(): Uint8Array { return pointToBytes(this.childKey); }

  start(): MpcMessage[] {
    this.session.begin(1);
    return [];
  }

  receive(message: AuthenticatedMessage): MpcMessage[] {
    try {
      if (!this.commitment) return this.session.handle(message, Round1, (m) => this.onRound1(m));
      if (this.r === undefined) return this.session.handle(message, Round3, (m) => this.onRound3(m));
      return this.session.handle(message, Round5, (m) => this.onRound5(m), 'MPC_SIGNATURE_INVALID');
    } catch (e) {
      this.nonce?.wipe();
      this.nonce = undefined;
      throw e;
    }
  }

  private onRound1(m: s.Infer<typeof Round1>): MpcMessage[] {
    const S = this.session;
    this.commitment = m.commitment;
    this.nonce = new EcdsaNonce();
    const proofR2 = this.nonce.prove(ctx(S, S.p2, 'R2'));
    S.expect(3);
    return [S.envelope(2, { R2: this.nonce.publicPoint, proofR2 })];
  }

  private onRound3(m: s.Infer<typeof Round3>): MpcMessage[] {
    const S = this.session;
    const nonce = this.nonce!;
    try {
      const opened = verifyCommitment(commitmentContext(S), this.commitment!, m.salt,
        commitmentItems(m.R1, m.proofR1, this.hash, pointToBytes(this.childKey)));
      if (!opened) throw new CosignerError('MPC_PROOF_FAILED', 'P1 did not open its commitment to R1 for this message hash and derived key');
      const R1 = pointFromBytes(m.R1, 'R1');
      if (!verifyDlog(R1, m.proofR1, ctx(S, S.p1, 'R1'))) proofFailed('proof of knowledge of k1');
      const r = rFromX(nonce.sharedX(R1));
      // c_key^(k2⁻¹·r) has a secret exponent: only the OpenSSL route is constant time in it, so
      // refuse to sign (before any work) rather than fall back to BigInt exponentiation.
      requireConstantTimeModPow('sign');
      const k2inv = nonce.inverse();
      const pk = this.share.paillier;
      const x2 = modQ(this.share.x2 + this.tweak);
      // Plaintext ρ·q + k2⁻¹·(m + r·x2'), below 2^1281 ≪ N/2 (bounds.ts), plus (k2⁻¹·r)·x1 via c_key.
      const plain = randomBits(RHO_BITS) * CURVE_ORDER + modQ(k2inv * modQ(this.m + r * x2));
      // Enc(plain; r) = (1 + plain·N)·r^N with a randomizer used for this ciphertext only.
      const rN = this.randomizers ? this.randomizers.take() : freshRandomizer(pk);
      // The multiplier b = k2⁻¹·r mod q is lifted to b + 2^32·q (liftExponent): the same value mod q,
      // which is all P1's s' = Dec(c3) mod q depends on, with a word count independent of k2
      // (bounds.ts accounts for the longer multiplier).
      const b = liftExponent(modQ(k2inv * r), CURVE_ORDER);
      const c3 = pk.add((pk.plaintextPart(plain) * rN) % pk.nSquared, modPowSecret(this.share.cKey, b, pk.nSquared, { what: 'sign' }));
      this.r = r;
      S.expect(5);
      return [S.envelope(4, { c3: uintToWire(c3) })];
    } finally {
      nonce.wipe();
      this.nonce = undefined;
    }
  }

  /**
   * Round 5: the signature must verify under the key P2 derived, on the hash P2 computed, with the
   * r P2 computed, in canonical form. Anything else (including a payload without a signature) is
   * MPC_SIGNATURE_INVALID — P1 misbehaved or was impersonated — never a timeout.
   */
  private onRound5(m: s.Infer<typeof Round5>): MpcMessage[] {
    const sig = new EcdsaSignature(bytesToBigint(m.r), bytesToBigint(m.s), m.recoveryId);
    let ok = false;
    try {
      ok = isCanonicalSignatureFor(sig, this.m, this.r!, this.childKey);
    } catch {
      ok = false; // whatever went wrong, the verdict is the same: no valid signature from P1
    }
    if (!ok) {
      throw new CosignerError('MPC_SIGNATURE_INVALID', 'the signature P1 returned does not verify for this session, message hash and key');
    }
    this.output = sig;
    this.session.finish();
    return [];
  }

  result(): EcdsaSignature {
    if (!this.output) throw new CosignerError('MPC_STATE', 'signing not finished');
    return this.output;
  }
}
