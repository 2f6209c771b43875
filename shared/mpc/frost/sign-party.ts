// FROST signing (RFC 9591 §5) as a Party state machine, without a separate coordinator: every
// signer broadcasts its commitments, then its signature share, and every signer aggregates.
//
//   round 1  commit(): fresh hiding/binding nonces (RFC 9591 §4.1 nonce_generate, 32 fresh random
//            bytes from node:crypto per nonce), broadcast their commitments with the group key and
//            a hash of the message, so a peer signing something else is named at once. Every peer
//            commitment is parsed and validated once, on receipt (suite.decodePoint).
//   round 2  sign(): this signer's share z_i (§5.2), broadcast.
//   finish   aggregate (§5.3) and verify the final signature with an independent verifier before
//            output: node:crypto (OpenSSL) for Ed25519, @noble's schnorr.verify for BIP340. Only
//            if it fails is every peer share checked against that peer's verifying share (§5.4),
//            naming the cheaters — the honest path does no per-share multiplications.
//
// The arithmetic is in signing.ts, the per-key precomputation in signing-key.ts. The nonces live
// only inside this object: generated in start(), consumed (and zeroed) by the one sign step,
// erased on abort, never encoded or sealed. A party signs once.
import { randomBytes } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { CosignerError } from '../../errors.js';
import { equalBytes, wipe } from '../../bytes.js';
import * as s from '../../schema.js';
import { SESSION_ID_BYTES, parseMessagePart, type MpcMessage } from '../party.js';
import type { FrostKeyShare } from './key-share.js';
import { SignRound1Schema, SignRound2Schema } from './messages.js';
import { RoundParty } from './round-party.js';
import { aggregate, commitmentShare, computeBindingFactors, groupCommitment, nonceGenerate, ownCommitmentShare, signShare, verifySignatureShare, type SignerCommitment } from './signing.js';
import { signingKeyOf, type SigningKey } from './signing-key.js';
import { checkPartyIds, type FrostScheme, type FrostSuite, type GroupPoint } from './suite.js';

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

/** What round 1 fixed: the group commitment R, the challenge and each signer's share of R. */
interface SigningState {
  R: GroupPoint;
  challenge: bigint;
  commitmentShares: Map<number, GroupPoint>;
  ownShare: bigint;
}

export class FrostSignParty extends RoundParty<FrostSignature> {
  readonly scheme: FrostScheme;
  readonly signers: readonly number[];
  readonly #suite: FrostSuite;
  readonly #key: FrostKeyShare;
  readonly #signing: SigningKey;
  readonly #message: Uint8Array;
  readonly #messageHash: Uint8Array;
  readonly #rng: (bytes: number) => Uint8Array;
  /** Serialized hiding and binding nonces: used once, then zeroed. */
  #nonces: { hiding: Uint8Array; binding: Uint8Array } | undefined;
  readonly #commitments = new Map<number, SignerCommitment>();
  #state: SigningState | undefined;

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
    this.#signing = signingKeyOf(key);
    this.#message = new Uint8Array(o.message);
    this.#messageHash = sha256(this.#message);
    this.#rng = o.rng ?? randomBytes;
  }

  // RFC 9591 §5.1 commit.
  protected begin(): MpcMessage[] {
    const suite = this.#suite;
    const secret = this.#key.signingShareBytes();
    let d: bigint, e: bigint;
    try {
      d = nonceGenerate(suite, secret, this.#rng);
      e = nonceGenerate(suite, secret, this.#rng);
    } finally {
      wipe(secret);
    }
    this.#nonces = { hiding: suite.encodeScalar(d), binding: suite.encodeScalar(e) };
    // Secret scalars: constant-time fixed-base multiplication.
    const hiding = suite.base.multiply(d);
    const binding = suite.base.multiply(e);
    const own: SignerCommitment = { party: this.self, hiding, binding, hidingBytes: hiding.toBytes(true), bindingBytes: binding.toBytes(true) };
    this.#commitments.set(this.self, own);
    const payload = { hiding: own.hidingBytes, binding: own.bindingBytes, groupKey: this.#key.groupPublicKey, messageHash: this.#messageHash };
    return this.toPeers(1, () => payload);
  }

  protected accept(round: number, from: number, raw: unknown): unknown {
    const suite = this.#suite;
    if (round === 1) {
      const p = parseMessagePart(SignRound1Schema, raw, 'payload', this.protocol);
      if (!equalBytes(p.groupKey, this.#key.groupPublicKey)) throw new CosignerError('MPC_INVALID_MESSAGE', `party ${from} signs under a different key`, { culprit: from });
      if (!equalBytes(p.messageHash, this.#messageHash)) throw new CosignerError('MPC_INVALID_MESSAGE', `party ${from} signs a different message`, { culprit: from });
      // Parsed and validated once here (on the curve, not the identity, prime-order subgroup,
      // canonical); the Point objects are what the rest of the session uses.
      const hiding = suite.decodePoint(p.hiding, `party ${from} hiding commitment`);
      const binding = suite.decodePoint(p.binding, `party ${from} binding commitment`);
      this.#commitments.set(from, { party: from, hiding, binding, hidingBytes: p.hiding, bindingBytes: p.binding });
      return p;
    }
    const p = parseMessagePart(SignRound2Schema, raw, 'payload', this.protocol);
    // Scalar checks now (RFC 9591 §5.3: every share must deserialize); the §5.4 share check only
    // if the aggregate fails (complete()), so the honest path does no multiplication per peer.
    return suite.decodeScalar(p.signatureShare, `party ${from} signature share`);
  }

  protected complete(round: number, payloads: ReadonlyMap<number, unknown>): { send: MpcMessage[] } | { output: FrostSignature } {
    const suite = this.#suite;
    if (round === 1) {
      const ownShare = this.#sign();
      const bytes = suite.encodeScalar(ownShare);
      return { send: this.toPeers(2, () => ({ signatureShare: bytes })) };
    }
    const st = this.#state!;
    const signature = aggregate(suite, st.R, [st.ownShare, ...[...payloads.values()].map((z) => z as bigint)]);
    if (!this.#signing.verify(signature, this.#message)) this.#identifyCheaters(payloads as ReadonlyMap<number, bigint>);
    return { output: { scheme: this.scheme, signature, publicKey: this.#key.externalPublicKey, message: new Uint8Array(this.#message) } };
  }

  /**
   * The aggregate failed: RFC 9591 §5.4 verify_signature_share on every peer's share names who
   * cheated (cheater detection after the fact, as §5.3 allows). Always throws.
   */
  #identifyCheaters(shares: ReadonlyMap<number, bigint>): never {
    const suite = this.#suite;
    const st = this.#state!;
    const culprits = [...shares].filter(([from, z]) => !verifySignatureShare(suite, {
      z,
      commitmentShare: st.commitmentShares.get(from)!,
      verifyingShare: this.#signing.verifyingShare(from),
      lambda: this.#signing.lambda(this.signers, from),
      challenge: st.challenge,
      R: st.R,
    })).map(([from]) => from);
    if (culprits.length === 0) throw new CosignerError('MPC_SIGNATURE_INVALID', 'aggregated FROST signature does not verify');
    const list = culprits.join(', ');
    throw new CosignerError('MPC_SIGNATURE_INVALID', `signature share from party ${list} is invalid`, { culprit: culprits[0]!, culprits: list });
  }

  /** RFC 9591 §4.4–4.6 and §5.2 with the commitments of every signer; consumes the nonces. */
  #sign(): bigint {
    const suite = this.#suite;
    const key = this.#signing;
    const nonces = this.#nonces;
    this.#nonces = undefined; // one use only
    if (!nonces) throw new CosignerError('MPC_STATE', 'signing nonces already used');
    const secret = this.#key.signingShareBytes();
    try {
      // this.signers is sorted ascending, i.e. by identifier, as §4.3 requires.
      const list = this.signers.map((p) => this.#commitments.get(p)!);
      const rho = computeBindingFactors(suite, key.groupKeyBytes, list, this.#message);
      const d = suite.decodeScalar(nonces.hiding, 'hiding nonce', { code: 'INTERNAL' });
      const e = suite.decodeScalar(nonces.binding, 'binding nonce', { code: 'INTERNAL' });
      const shares = new Map<number, GroupPoint>();
      list.forEach((c, i) => shares.set(c.party, c.party === this.self ? ownCommitmentShare(suite, d, e, rho[i]!) : commitmentShare(c, rho[i]!)));
      const R = groupCommitment([...shares.values()]);
      const challenge = suite.challenge(R, key.groupKey, this.#message);
      let sk = suite.decodeScalar(secret, 'signing share', { code: 'INTERNAL' });
      if (key.negateSecret) sk = suite.order - sk;
      const bindingFactor = rho[this.signers.indexOf(this.self)]!;
      const ownShare = signShare(suite, { hidingNonce: d, bindingNonce: e, bindingFactor, lambda: key.lambda(this.signers, this.self), signingShare: sk, challenge, R });
      this.#state = { R, challenge, commitmentShares: shares, ownShare };
      return ownShare;
    } finally {
      wipe(nonces.hiding);
      wipe(nonces.binding);
      wipe(secret);
    }
  }

  protected abort(): void {
    if (this.#nonces) {
      wipe(this.#nonces.hiding);
      wipe(this.#nonces.binding);
    }
    this.#nonces = undefined;
  }
}
