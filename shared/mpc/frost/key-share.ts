// One participant's FROST key share: the public VSS commitment of the group polynomial, every
// participant's verifying share, this participant's signing share and the BIP32-style chain code.
// It is the thing that gets sealed. Constructing one (fromParts / decode) re-validates the whole
// sharing (RFC 9591 Appendix C.2 vss_verify and derive_group_info), so a corrupted or forged
// sealed blob can never yield a share we would sign with.
import type { FrostPublic, FrostSecret } from '@noble/curves/abstract/frost.js';
import * as s from '../../schema.js';
import { encodeCbor, decodeCbor } from '../../cbor.js';
import { CosignerError } from '../../errors.js';
import { equalBytes, wipe } from '../../bytes.js';
import { PartyIdSchema } from '../party.js';
import { checkPartyIds, frostSuite, FROST_SCHEMES, type FrostScheme, type FrostSuite, type GroupPoint } from './suite.js';

export const CHAIN_CODE_BYTES = 32;

export interface FrostKeyShareParts {
  scheme: FrostScheme;
  /** This participant's party id. */
  self: number;
  /** Minimum number of signers (t of t-of-n). */
  threshold: number;
  /** All participants' party ids (n of t-of-n), ascending. */
  parties: number[];
  /** VSS commitment φ_0..φ_{t-1}; φ_0 is the group public key (for bip340: the untweaked internal key). */
  commitments: Uint8Array[];
  /** Verifying share Y_i = s_i·G of every participant, in the order of `parties`. */
  verifyingShares: Uint8Array[];
  /** This participant's secret signing share s_i (RFC 9591 SerializeScalar). */
  signingShare: Uint8Array;
  /** Chain code for non-hardened derivation from the group key (agreed during the DKG). */
  chainCode: Uint8Array;
}

const KeyShareSchema = s.struct({
  v: s.literal(1),
  scheme: s.text({ oneOf: FROST_SCHEMES }),
  self: PartyIdSchema,
  threshold: s.uint({ max: 255 }),
  parties: s.array(PartyIdSchema, { min: 2, max: 255 }),
  commitments: s.array(s.bytes({ min: 32, max: 33 }), { min: 2, max: 255 }),
  verifyingShares: s.array(s.bytes({ min: 32, max: 33 }), { min: 2, max: 255 }),
  signingShare: s.bytes({ len: 32 }),
  chainCode: s.bytes({ len: CHAIN_CODE_BYTES }),
});

function invalid(why: string): never {
  throw new CosignerError('MPC_KEY_SHARE_INVALID', `FROST key share: ${why}`);
}

/** Σ_k φ_k·x^k — the public value of the shared polynomial at x (RFC 9591 Appendix C.2). */
export function evaluateCommitment(suite: FrostSuite, commitments: readonly GroupPoint[], x: bigint): GroupPoint {
  let acc = suite.zero;
  let power = 1n;
  for (const c of commitments) {
    acc = acc.add(c.multiplyUnsafe(power));
    power = (power * x) % suite.order;
  }
  return acc;
}

export class FrostKeyShare {
  readonly scheme: FrostScheme;
  readonly self: number;
  readonly threshold: number;
  readonly parties: readonly number[];
  readonly commitments: readonly Uint8Array[];
  readonly verifyingShares: readonly Uint8Array[];
  readonly chainCode: Uint8Array;
  readonly #signingShare: Uint8Array;
  #wiped = false;
  /** The points above, parsed and validated once by fromParts (public values only). */
  readonly #points: { commitments: readonly GroupPoint[]; verifyingShares: readonly GroupPoint[] };

  private constructor(p: FrostKeyShareParts, points: { commitments: GroupPoint[]; verifyingShares: GroupPoint[] }) {
    this.scheme = p.scheme;
    this.self = p.self;
    this.threshold = p.threshold;
    this.parties = Object.freeze([...p.parties]);
    this.commitments = Object.freeze(p.commitments.map((c) => new Uint8Array(c)));
    this.verifyingShares = Object.freeze(p.verifyingShares.map((c) => new Uint8Array(c)));
    this.chainCode = new Uint8Array(p.chainCode);
    this.#signingShare = new Uint8Array(p.signingShare);
    this.#points = Object.freeze({ commitments: Object.freeze(points.commitments), verifyingShares: Object.freeze(points.verifyingShares) });
  }

  /** Build and fully validate a key share; throws MPC_KEY_SHARE_INVALID. */
  static fromParts(p: FrostKeyShareParts): FrostKeyShare {
    if (!FROST_SCHEMES.includes(p.scheme)) invalid('unknown scheme');
    const suite = frostSuite(p.scheme);
    let parties: number[];
    try {
      parties = checkPartyIds(p.parties, 'parties');
    } catch (e) {
      invalid((e as Error).message);
    }
    if (parties.some((x, i) => x !== p.parties[i])) invalid('party ids must be ascending');
    const n = parties.length;
    if (!Number.isInteger(p.threshold) || p.threshold < 2 || p.threshold > n) invalid(`threshold ${p.threshold} is not in 2..${n}`);
    if (!parties.includes(p.self)) invalid(`own party id ${p.self} is not a participant`);
    if (p.commitments.length !== p.threshold) invalid(`expected ${p.threshold} commitments, got ${p.commitments.length}`);
    if (p.verifyingShares.length !== n) invalid(`expected ${n} verifying shares, got ${p.verifyingShares.length}`);
    if (!(p.chainCode instanceof Uint8Array) || p.chainCode.length !== CHAIN_CODE_BYTES) invalid('chain code must be 32 bytes');
    const phi = p.commitments.map((c, i) => suite.decodePoint(c, `commitments[${i}]`, 'MPC_KEY_SHARE_INVALID'));
    // Each verifying share must be the commitment polynomial evaluated at that participant.
    const ys = p.verifyingShares.map((y, i) => {
      const Y = suite.decodePoint(y, `verifyingShares[${i}]`, 'MPC_KEY_SHARE_INVALID');
      if (!Y.equals(evaluateCommitment(suite, phi, BigInt(parties[i]!)))) invalid(`verifying share of party ${parties[i]} does not match the commitment`);
      return Y;
    });
    const sk = suite.decodeScalar(p.signingShare, 'signingShare', { nonZero: true, code: 'MPC_KEY_SHARE_INVALID' });
    const own = p.verifyingShares[parties.indexOf(p.self)]!;
    if (!equalBytes(suite.base.multiply(sk).toBytes(true), own)) invalid('signing share does not match its verifying share');
    return new FrostKeyShare({ ...p, parties }, { commitments: phi, verifyingShares: ys });
  }

  get suite(): FrostSuite {
    return frostSuite(this.scheme);
  }

  /** φ_0: the group public key as stored (Ed25519 A, or the 33-byte BIP340 internal key with its parity). */
  get groupPublicKey(): Uint8Array {
    return new Uint8Array(this.commitments[0]!);
  }

  /** The key outside verifiers use: Ed25519 A, or the 32-byte x-only key for bip340. */
  get externalPublicKey(): Uint8Array {
    return this.suite.externalKey(this.commitments[0]!);
  }

  /** φ_k and every Y_i as validated points (parsed once, when this object was built). */
  get points(): { readonly commitments: readonly GroupPoint[]; readonly verifyingShares: readonly GroupPoint[] } {
    return this.#points;
  }

  verifyingShareOf(party: number): Uint8Array {
    const i = this.parties.indexOf(party);
    if (i < 0) throw new CosignerError('MPC_INVALID_MESSAGE', `party ${party} is not a participant of this key`);
    return new Uint8Array(this.verifyingShares[i]!);
  }

  /** The secret share; callers must not log or persist it outside sealed state. */
  signingShareBytes(): Uint8Array {
    return new Uint8Array(this.#signingShare);
  }

  /** noble's public key package (no secret). */
  noblePublic(): FrostPublic {
    const suite = this.suite;
    const verifyingShares: Record<string, Uint8Array> = {};
    this.parties.forEach((p, i) => (verifyingShares[suite.identifier(p)] = new Uint8Array(this.verifyingShares[i]!)));
    return {
      signers: { min: this.threshold, max: this.parties.length },
      commitments: this.commitments.map((c) => new Uint8Array(c)),
      verifyingShares,
    } as FrostPublic;
  }

  /** noble's key packages for this share; the caller wipes `secret.signingShare` after use. */
  toNoble(): { public: FrostPublic; secret: FrostSecret } {
    return {
      public: this.noblePublic(),
      secret: { identifier: this.suite.identifier(this.self), signingShare: new Uint8Array(this.#signingShare) } as FrostSecret,
    };
  }

  toParts(): FrostKeyShareParts {
    return {
      scheme: this.scheme,
      self: this.self,
      threshold: this.threshold,
      parties: [...this.parties],
      commitments: this.commitments.map((c) => new Uint8Array(c)),
      verifyingShares: this.verifyingShares.map((c) => new Uint8Array(c)),
      signingShare: new Uint8Array(this.#signingShare),
      chainCode: new Uint8Array(this.chainCode),
    };
  }

  /** CBOR for sealing. Contains the secret share: only ever hand it to the sealing layer. */
  encode(): Uint8Array {
    const p = this.toParts();
    const bytes = encodeCbor({ v: 1, ...p });
    wipe(p.signingShare);
    return bytes;
  }

  /**
   * Parse and re-validate a sealed key share. Every defect is SEALED_STATE_INVALID, as for the
   * ECDSA shares (one code for one failure); fromParts, for shares built in memory, keeps
   * MPC_KEY_SHARE_INVALID.
   */
  static decode(bytes: Uint8Array): FrostKeyShare {
    try {
      if (!(bytes instanceof Uint8Array)) throw new TypeError('not bytes');
      const v = s.parse(KeyShareSchema, decodeCbor(bytes));
      return FrostKeyShare.fromParts({ ...v, scheme: v.scheme as FrostScheme });
    } catch (e) {
      const why = e instanceof CosignerError ? e.message : 'not a CBOR key share';
      throw new CosignerError('SEALED_STATE_INVALID', `sealed FROST key share invalid: ${why}`);
    }
  }

  /** Best-effort erase of the secret share once the object is no longer needed. */
  wipe(): void {
    wipe(this.#signingShare);
    this.#wiped = true;
  }

  /** True after wipe(): the object can no longer sign (caches drop it). */
  get wiped(): boolean {
    return this.#wiped;
  }
}
