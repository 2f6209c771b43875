// FROST distributed key generation as a Party state machine, on noble's implementation of the
// Pedersen DKG with proofs of knowledge that frost-rs uses (Komlo–Goldberg FROST paper, Fig. 1;
// RFC 9591 leaves DKG out of scope and gives only the dealer VSS of Appendix C).
//
//   round 1 (broadcast)  VSS commitment φ_i0..φ_i(t-1), proof of knowledge of a_i0, H(chain-code part)
//   round 2 (to each j)  f_i(j) sealed to j with an ephemeral X25519 key from round 1
//                        (share-encryption.ts), the chain-code part, and a hash of the whole
//                        round-1 transcript as this party saw it
//   finish               check every f_j(i) against φ_j (VSS), the echo hashes (no equivocation:
//                        everyone saw the same round 1), the chain-code openings; sum the shares.
//
// The chain code is hash(session, every party's 32 random bytes): committed in round 1 and
// opened in round 2, so nobody can choose it after seeing the others'.
//
// bip340: noble's schnorr_FROST DKG returns the key already Taproot-tweaked (BIP341/BIP86 tweak
// with an empty merkle root). We undo that tweak so the stored key share is the sharing of the
// untweaked internal key P (normalised to even Y): that is the key BIP32 derivation starts from,
// and the Taproot tweak is applied per signature (taprootFrostKeyShare) on the derived key.
import { randomBytes, type KeyObject } from 'node:crypto';
import type { DKG_Round1, DKG_Round2, DKG_Secret } from '@noble/curves/abstract/frost.js';
import { CosignerError } from '../../errors.js';
import { equalBytes, wipe } from '../../bytes.js';
import * as s from '../../schema.js';
import { SESSION_ID_BYTES, parseMessagePart, type MpcMessage } from '../party.js';
import { Transcript } from '../transcript.js';
import { evaluateCommitment, FrostKeyShare } from './key-share.js';
import { DkgRound1Schema, DkgRound2Schema, type DkgRound1 } from './messages.js';
import { RoundParty } from './round-party.js';
import { checkPartyIds, frostSuite, type FrostScheme, type FrostSuite, type GroupPoint } from './suite.js';
import { taprootTweakScalar, tweakFrostKeyShare } from './tweak.js';
import { checkEphemeralKey, generateEphemeralKey, openShare, sealShare, type ShareContext } from './share-encryption.js';

export interface FrostDkgOptions {
  scheme: FrostScheme;
  /** 32 bytes, fresh for every key generation, agreed by all parties. */
  sessionId: Uint8Array;
  self: number;
  /** Every participant's party id (1..255), including self. Default: [1, 2]. */
  parties?: number[];
  /** Minimum signers. Default 2 (2-of-2 with the default parties). */
  threshold?: number;
}

export function frostDkgProtocol(scheme: FrostScheme): string {
  return `frost-dkg/${scheme}`;
}

interface PeerRound1 {
  payload: DkgRound1;
  points: GroupPoint[];
}

export class FrostDkgParty extends RoundParty<FrostKeyShare> {
  readonly scheme: FrostScheme;
  readonly threshold: number;
  readonly parties: readonly number[];
  readonly #suite: FrostSuite;
  #dkgSecret: DKG_Secret | undefined;
  #ownRound1: DkgRound1 | undefined;
  #chainPart: Uint8Array | undefined;
  #ephemeral: KeyObject | undefined;
  #round1 = new Map<number, PeerRound1>();
  #round2 = new Map<number, { share: bigint; chainPart: Uint8Array }>();

  constructor(o: FrostDkgOptions) {
    const suite = frostSuite(o.scheme);
    const parties = checkPartyIds(o.parties ?? [1, 2], 'parties');
    const threshold = o.threshold ?? 2;
    if (!(o.sessionId instanceof Uint8Array) || o.sessionId.length !== SESSION_ID_BYTES) throw new CosignerError('MPC_INVALID_MESSAGE', 'session id must be 32 bytes');
    if (parties.length < 2) throw new CosignerError('MPC_INVALID_MESSAGE', 'a DKG needs at least two parties');
    if (!Number.isInteger(threshold) || threshold < 2 || threshold > parties.length) throw new CosignerError('MPC_INVALID_MESSAGE', `threshold ${threshold} is not in 2..${parties.length}`);
    if (!parties.includes(o.self)) throw new CosignerError('MPC_INVALID_MESSAGE', `own party id ${o.self} is not among the parties`);
    super(frostDkgProtocol(o.scheme), new Uint8Array(o.sessionId), o.self, parties.filter((p) => p !== o.self), 2);
    this.scheme = o.scheme;
    this.threshold = threshold;
    this.parties = parties;
    this.#suite = suite;
  }

  protected begin(): MpcMessage[] {
    const r1 = this.#suite.frost.DKG.round1(this.#suite.identifier(this.self), { min: this.threshold, max: this.parties.length });
    this.#dkgSecret = r1.secret;
    this.#chainPart = new Uint8Array(randomBytes(32));
    const eph = generateEphemeralKey();
    this.#ephemeral = eph.privateKey;
    this.#ownRound1 = {
      commitment: r1.public.commitment.map((c) => new Uint8Array(c)),
      proofOfKnowledge: new Uint8Array(r1.public.proofOfKnowledge),
      chainCodeCommitment: this.#chainCommitment(this.self, this.#chainPart),
      ephemeralKey: eph.publicKey,
    };
    const payload = this.#ownRound1;
    return this.toPeers(1, () => payload);
  }

  protected accept(round: number, from: number, payload: unknown): unknown {
    return round === 1 ? this.#acceptRound1(from, payload) : this.#acceptRound2(from, payload);
  }

  protected complete(round: number): { send: MpcMessage[] } | { output: FrostKeyShare } {
    return round === 1 ? { send: this.#sendRound2() } : { output: this.#finish() };
  }

  protected abort(): void {
    if (this.#dkgSecret) this.#suite.frost.DKG.clean(this.#dkgSecret);
    this.#dkgSecret = undefined;
    this.#ephemeral = undefined;
    if (this.#chainPart) wipe(this.#chainPart);
    this.#round2.clear();
  }

  #acceptRound1(from: number, raw: unknown): PeerRound1 {
    const payload = parseMessagePart(DkgRound1Schema, raw, 'payload', this.protocol);
    if (payload.commitment.length !== this.threshold) throw new CosignerError('MPC_INVALID_MESSAGE', `party ${from} sent ${payload.commitment.length} commitments, expected ${this.threshold}`);
    const points = payload.commitment.map((c, i) => this.#suite.decodePoint(c, `party ${from} commitment[${i}]`));
    checkEphemeralKey(payload.ephemeralKey, `party ${from} ephemeral key`);
    this.#verifyProofOfKnowledge(from, points[0]!, payload.proofOfKnowledge);
    const entry = { payload, points };
    this.#round1.set(from, entry);
    return entry;
  }

  /**
   * Komlo–Goldberg round 1 step 5 (as frost-rs / noble compute it): σ = (R, μ) proves knowledge of
   * a_i0 with c = H_dkg(SerializeScalar(i) ‖ SerializeElement(φ_i0) ‖ SerializeElement(R)),
   * accept iff R = μ·G − c·φ_i0. noble checks it again; we check first to name the culprit.
   */
  #verifyProofOfKnowledge(from: number, phi0: GroupPoint, proof: Uint8Array): void {
    const suite = this.#suite;
    const { R, z } = suite.decodeProof(proof, `party ${from} proof of knowledge`);
    const c = suite.hashDkg(new Uint8Array([...suite.encodeScalar(BigInt(from)), ...phi0.toBytes(true), ...R.toBytes(true)]));
    const expected = suite.base.multiplyUnsafe(z).subtract(phi0.multiplyUnsafe(c));
    if (!expected.equals(R)) throw new CosignerError('MPC_PROOF_FAILED', `party ${from}: DKG proof of knowledge does not verify`, { culprit: from });
  }

  #sendRound2(): MpcMessage[] {
    const suite = this.#suite;
    const others: DKG_Round1[] = [...this.#round1.entries()].map(([p, e]) => ({
      identifier: suite.identifier(p),
      commitment: e.payload.commitment,
      proofOfKnowledge: e.payload.proofOfKnowledge,
    })) as DKG_Round1[];
    const shares = suite.frost.DKG.round2(this.#dkgSecret!, others);
    const echo = this.#round1Echo();
    const chainPart = this.#chainPart!;
    return this.toPeers(2, (peer) => {
      const pkg = shares[suite.identifier(peer)];
      if (!pkg) throw new CosignerError('INTERNAL', `no DKG share computed for party ${peer}`);
      const plain = this.outgoingShare(peer, new Uint8Array(pkg.signingShare));
      const sealedShare = sealShare(this.#ephemeral!, this.#round1.get(peer)!.payload.ephemeralKey, this.#shareContext(this.self, peer, echo), plain);
      wipe(plain);
      wipe(pkg.signingShare);
      return { sealedShare, chainCodeContribution: new Uint8Array(chainPart), round1Echo: echo };
    });
  }

  /** The plaintext share f_self(peer) about to be sealed. Tests override it to play a cheating dealer. */
  protected outgoingShare(_peer: number, share: Uint8Array): Uint8Array {
    return share;
  }

  #shareContext(from: number, to: number, transcript: Uint8Array): ShareContext {
    return { sessionId: this.sessionId, scheme: this.scheme, from, to, transcript };
  }

  #acceptRound2(from: number, raw: unknown): unknown {
    const suite = this.#suite;
    const payload = parseMessagePart(DkgRound2Schema, raw, 'payload', this.protocol);
    // Broadcast consistency: a party that sent different round-1 messages to different peers is caught here.
    if (!equalBytes(payload.round1Echo, this.#round1Echo())) throw new CosignerError('MPC_INVALID_MESSAGE', `party ${from} saw a different round-1 transcript (equivocation or tampering)`, { culprit: from });
    const peer = this.#round1.get(from)!;
    if (!equalBytes(this.#chainCommitment(from, payload.chainCodeContribution), peer.payload.chainCodeCommitment)) {
      throw new CosignerError('MPC_PROOF_FAILED', `party ${from}: chain-code contribution does not open its commitment`, { culprit: from });
    }
    const plain = openShare(this.#ephemeral!, peer.payload.ephemeralKey, this.#shareContext(from, this.self, payload.round1Echo), payload.sealedShare, suite.scalarLength);
    const share = suite.decodeScalar(plain, `party ${from} signing share`, { nonZero: true });
    wipe(plain);
    // Pedersen VSS (RFC 9591 Appendix C.2 vss_verify): f_j(i)·G = Σ_k φ_jk·i^k.
    if (!suite.base.multiply(share).equals(evaluateCommitment(suite, peer.points, BigInt(this.self)))) {
      throw new CosignerError('MPC_PROOF_FAILED', `party ${from}: secret share does not match its VSS commitment`, { culprit: from });
    }
    this.#round2.set(from, { share, chainPart: payload.chainCodeContribution });
    return payload;
  }

  #finish(): FrostKeyShare {
    const suite = this.#suite;
    const round1: DKG_Round1[] = [];
    const round2: DKG_Round2[] = [];
    for (const [p, e] of this.#round1) {
      round1.push({ identifier: suite.identifier(p), commitment: e.payload.commitment, proofOfKnowledge: e.payload.proofOfKnowledge } as DKG_Round1);
      round2.push({ identifier: suite.identifier(p), signingShare: suite.encodeScalar(this.#round2.get(p)!.share) } as DKG_Round2);
    }
    const key = suite.frost.DKG.round3(this.#dkgSecret!, round1, round2);
    this.#dkgSecret = undefined;
    const ids = this.parties.map((p) => suite.identifier(p));
    let share = FrostKeyShare.fromParts({
      scheme: this.scheme,
      self: this.self,
      threshold: this.threshold,
      parties: [...this.parties],
      commitments: key.public.commitments.map((c) => new Uint8Array(c)),
      verifyingShares: ids.map((id) => new Uint8Array(key.public.verifyingShares[id]!)),
      signingShare: new Uint8Array(key.secret.signingShare),
      chainCode: this.#chainCode(),
    });
    wipe(key.secret.signingShare);
    // The group key is Σ_j φ_j0 over every participant's round-1 commitment.
    let P = suite.decodePoint(this.#ownRound1!.commitment[0]!, 'own commitment', 'INTERNAL');
    for (const e of this.#round1.values()) P = P.add(e.points[0]!);
    if (this.scheme === 'bip340') {
      // Undo noble's automatic TapTweak (see the header): Q = even(P) + t·G  →  even(P).
      const t = taprootTweakScalar(P.toBytes(true));
      share = tweakFrostKeyShare(share, suite.order - t);
      const x = P.toBytes(true).subarray(1);
      if (!equalBytes(share.groupPublicKey, new Uint8Array([2, ...x]))) throw new CosignerError('INTERNAL', 'bip340 DKG: untweaked key does not match the round-1 commitments');
    } else if (!equalBytes(share.groupPublicKey, P.toBytes(true))) {
      throw new CosignerError('INTERNAL', 'DKG: group key does not match the round-1 commitments');
    }
    if (this.#chainPart) wipe(this.#chainPart);
    this.#ephemeral = undefined;
    return share;
  }

  #round1Echo(): Uint8Array {
    const t = new Transcript('nitro-cosigner/frost-dkg/round1-echo', this.sessionId).appendText('scheme', this.scheme).appendBigint('threshold', BigInt(this.threshold));
    for (const p of this.parties) {
      const r1 = p === this.self ? this.#ownRound1! : this.#round1.get(p)!.payload;
      t.appendBigint('party', BigInt(p));
      r1.commitment.forEach((c) => t.appendBytes('commitment', c));
      t.appendBytes('proof', r1.proofOfKnowledge).appendBytes('chain-code-commitment', r1.chainCodeCommitment).appendBytes('ephemeral-key', r1.ephemeralKey);
    }
    return t.challengeBytes('echo');
  }

  #chainCommitment(party: number, part: Uint8Array): Uint8Array {
    return new Transcript('nitro-cosigner/frost-dkg/chain-code-commitment', this.sessionId).appendBigint('party', BigInt(party)).appendBytes('part', part).challengeBytes('commit').slice(0, 32);
  }

  #chainCode(): Uint8Array {
    const t = new Transcript('nitro-cosigner/frost-dkg/chain-code', this.sessionId);
    for (const p of this.parties) t.appendBigint('party', BigInt(p)).appendBytes('part', p === this.self ? this.#chainPart! : this.#round2.get(p)!.chainPart);
    return t.challengeBytes('chain-code').slice(0, 32);
  }
}
