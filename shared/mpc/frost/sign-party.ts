// FROST signing (RFC 9591 §5) as a Party state machine, without a separate coordinator: every
// signer broadcasts its commitments, then its signature share, and every signer aggregates.
//
//   round 1  commit(): fresh hiding/binding nonces (RFC 9591 §4.1 nonce_generate, 32 fresh random
//            bytes per nonce), broadcast their commitments with the group key and a hash of the
//            message, so a peer signing something else is named at once.
//   round 2  sign(): this signer's share z_i, broadcast.
//   finish   every peer share is verified against that peer's verifying share (§5.4) before
//            aggregation — a bad share names its sender — then aggregate (§5.3) and verify the
//            final signature with the curve library's ordinary verifier before output.
//
// The nonces live only inside this object: generated in start(), consumed (and zeroed) by the
// one sign() call, erased on abort, never encoded or sealed. A party signs once.
import { sha256 } from '@noble/hashes/sha2.js';
import type { NonceCommitments, Nonces } from '@noble/curves/abstract/frost.js';
import { CosignerError } from '../../errors.js';
import { equalBytes, wipe } from '../../bytes.js';
import * as s from '../../schema.js';
import { SESSION_ID_BYTES, type MpcMessage } from '../party.js';
import type { FrostKeyShare } from './key-share.js';
import { SignRound1Schema, SignRound2Schema } from './messages.js';
import { RoundParty } from './round-party.js';
import { checkPartyIds, type FrostScheme, type FrostSuite } from './suite.js';

export interface FrostSignOptions {
  /** The key to sign with (already derived / Taproot-tweaked as wanted; see tweak.ts). */
  keyShare: FrostKeyShare;
  /** 32 bytes, fresh for every signature, agreed by all signers. */
  sessionId: Uint8Array;
  /** Party ids of the signers, including self; at least the key's threshold. */
  signers: number[];
  /** Exactly the bytes to sign (Ed25519: the message; BIP340: usually the 32-byte sighash). */
  message: Uint8Array;
  /**
   * Randomness source for the nonces. Production code must leave it out (node:crypto is used);
   * it exists so the RFC 9591 test vectors can be reproduced.
   */
  rng?: (bytes: number) => Uint8Array;
}

export interface FrostSignature {
  scheme: FrostScheme;
  /** 64 bytes: Ed25519 R‖S (RFC 8032), or BIP340 x(R)‖s. */
  signature: Uint8Array;
  /** The key it verifies under: Ed25519 A, or the BIP340 x-only key (32 bytes). */
  publicKey: Uint8Array;
  message: Uint8Array;
}

export function frostSignProtocol(scheme: FrostScheme): string {
  return `frost-sign/${scheme}`;
}

export class FrostSignParty extends RoundParty<FrostSignature> {
  readonly scheme: FrostScheme;
  readonly signers: readonly number[];
  readonly #suite: FrostSuite;
  readonly #key: FrostKeyShare;
  readonly #message: Uint8Array;
  readonly #messageHash: Uint8Array;
  readonly #rng: ((bytes: number) => Uint8Array) | undefined;
  #nonces: Nonces | undefined;
  #commitments = new Map<number, NonceCommitments>();
  #ownShare: Uint8Array | undefined;

  constructor(o: FrostSignOptions) {
    const key = o.keyShare;
    const signers = checkPartyIds(o.signers, 'signers');
    if (!(o.sessionId instanceof Uint8Array) || o.sessionId.length !== SESSION_ID_BYTES) throw new CosignerError('MPC_INVALID_MESSAGE', 'session id must be 32 bytes');
    if (!(o.message instanceof Uint8Array)) throw new CosignerError('MPC_INVALID_MESSAGE', 'message must be bytes');
    if (!signers.includes(key.self)) throw new CosignerError('MPC_INVALID_MESSAGE', `own party id ${key.self} is not among the signers`);
    for (const p of signers) if (!key.parties.includes(p)) throw new CosignerError('MPC_INVALID_MESSAGE', `signer ${p} holds no share of this key`);
    if (signers.length < key.threshold) throw new CosignerError('MPC_INVALID_MESSAGE', `${signers.length} signers, the key needs ${key.threshold}`);
    super(frostSignProtocol(key.scheme), new Uint8Array(o.sessionId), key.self, signers.filter((p) => p !== key.self), 2);
    this.scheme = key.scheme;
    this.signers = signers;
    this.#suite = key.suite;
    this.#key = key;
    this.#message = new Uint8Array(o.message);
    this.#messageHash = sha256(this.#message);
    this.#rng = o.rng;
  }

  protected begin(): MpcMessage[] {
    const { secret } = this.#key.toNoble();
    const gen = this.#rng ? this.#suite.frost.commit(secret, this.#rng as never) : this.#suite.frost.commit(secret);
    wipe(secret.signingShare);
    this.#nonces = gen.nonces;
    this.#commitments.set(this.self, gen.commitments);
    const payload = { hiding: new Uint8Array(gen.commitments.hiding), binding: new Uint8Array(gen.commitments.binding), groupKey: this.#key.groupPublicKey, messageHash: this.#messageHash };
    return this.toPeers(1, () => payload);
  }

  protected accept(round: number, from: number, raw: unknown): unknown {
    const suite = this.#suite;
    if (round === 1) {
      const p = s.parse(SignRound1Schema, raw, 'payload');
      suite.decodePoint(p.hiding, `party ${from} hiding commitment`);
      suite.decodePoint(p.binding, `party ${from} binding commitment`);
      if (!equalBytes(p.groupKey, this.#key.groupPublicKey)) throw new CosignerError('MPC_INVALID_MESSAGE', `party ${from} signs under a different key`, { culprit: from });
      if (!equalBytes(p.messageHash, this.#messageHash)) throw new CosignerError('MPC_INVALID_MESSAGE', `party ${from} signs a different message`, { culprit: from });
      this.#commitments.set(from, { identifier: suite.identifier(from), hiding: p.hiding, binding: p.binding } as NonceCommitments);
      return p;
    }
    const p = s.parse(SignRound2Schema, raw, 'payload');
    suite.decodeScalar(p.signatureShare, `party ${from} signature share`);
    // RFC 9591 §5.4: z_i·G = R_i + c·λ_i·Y_i, with Y_i this signer's verifying share from the key.
    if (!suite.frost.verifyShare(this.#key.noblePublic(), this.#commitmentList(), this.#message, suite.identifier(from), p.signatureShare)) {
      throw new CosignerError('MPC_SIGNATURE_INVALID', `signature share from party ${from} is invalid`, { culprit: from });
    }
    return p.signatureShare;
  }

  protected complete(round: number, payloads: ReadonlyMap<number, unknown>): { send: MpcMessage[] } | { output: FrostSignature } {
    const suite = this.#suite;
    if (round === 1) {
      const { public: pub, secret } = this.#key.toNoble();
      const nonces = this.#nonces!;
      this.#nonces = undefined; // one use only: noble zeroes the nonce bytes inside signShare()
      try {
        this.#ownShare = suite.frost.signShare(secret, pub, nonces, this.#commitmentList(), this.#message);
      } finally {
        wipe(nonces.hiding);
        wipe(nonces.binding);
        wipe(secret.signingShare);
      }
      const share = this.#ownShare;
      return { send: this.toPeers(2, () => ({ signatureShare: share })) };
    }
    const shares: Record<string, Uint8Array> = { [suite.identifier(this.self)]: this.#ownShare! };
    for (const [p, z] of payloads) shares[suite.identifier(p)] = z as Uint8Array;
    let signature: Uint8Array;
    try {
      signature = suite.frost.aggregate(this.#key.noblePublic(), this.#commitmentList(), this.#message, shares);
    } catch (e) {
      const cheaters = (e as { cheaters?: string[] }).cheaters ?? [];
      throw new CosignerError('MPC_SIGNATURE_INVALID', `FROST aggregation failed${cheaters.length ? ' (invalid shares from ' + cheaters.length + ' signers)' : ''}`);
    }
    if (!suite.verify(signature, this.#message, this.#key.groupPublicKey)) {
      throw new CosignerError('MPC_SIGNATURE_INVALID', 'aggregated FROST signature does not verify');
    }
    return { output: { scheme: this.scheme, signature: new Uint8Array(signature), publicKey: this.#key.externalPublicKey, message: new Uint8Array(this.#message) } };
  }

  protected abort(): void {
    if (this.#nonces) {
      wipe(this.#nonces.hiding);
      wipe(this.#nonces.binding);
    }
    this.#nonces = undefined;
  }

  #commitmentList(): NonceCommitments[] {
    return this.signers.map((p) => this.#commitments.get(p)!);
  }
}
