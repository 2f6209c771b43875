// Wire payloads of the FROST DKG and signing protocols. Every payload is parsed with these
// schemas before any field is used; points and scalars are then decoded by the suite.
import * as s from '../../schema.js';

const point = s.bytes({ min: 32, max: 33 });
const scalar = s.bytes({ len: 32 });

/** DKG round 1 (broadcast): VSS commitment, proof of knowledge of a_0, chain-code commitment, X25519 key. */
export const DkgRound1Schema = s.struct({
  commitment: s.array(point, { min: 2, max: 255 }),
  proofOfKnowledge: s.bytes({ len: 64 }),
  chainCodeCommitment: s.bytes({ len: 32 }),
  ephemeralKey: s.bytes({ len: 32 }),
});
export type DkgRound1 = s.Infer<typeof DkgRound1Schema>;

/** DKG round 2 (one per recipient): f_i(j) sealed to j (share-encryption.ts), the chain-code opening, an echo of round 1. */
export const DkgRound2Schema = s.struct({
  sealedShare: s.bytes({ len: 12 + 32 + 16 }),
  chainCodeContribution: s.bytes({ len: 32 }),
  round1Echo: s.bytes({ len: 64 }),
});
export type DkgRound2 = s.Infer<typeof DkgRound2Schema>;

/** Signing round 1 (broadcast): RFC 9591 §5.1 commit() output plus what is being signed. */
export const SignRound1Schema = s.struct({
  hiding: point,
  binding: point,
  groupKey: point,
  messageHash: s.bytes({ len: 32 }),
});
export type SignRound1 = s.Infer<typeof SignRound1Schema>;

/** Signing round 2 (broadcast): RFC 9591 §5.2 sign() output. */
export const SignRound2Schema = s.struct({
  signatureShare: scalar,
});
export type SignRound2 = s.Infer<typeof SignRound2Schema>;
