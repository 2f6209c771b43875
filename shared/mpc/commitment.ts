// Hash commitments for commit-then-open rounds (Lindell 2017, ePrint 2017/552 Protocols 3.2 and 3.3,
// step 1, use F_com-zk: P1 commits to its point and proof before seeing P2's). Instantiated as a
// random-oracle commitment: SHA-512 over a length-prefixed transcript holding the session id, the
// committing party, a label, 256 bits of fresh salt and every committed item (CRYPTO.md attack 4:
// no ambiguous encodings). Hiding comes from the salt, binding from collision resistance.
import { randomBytes } from 'node:crypto';
import { Transcript } from './transcript.js';
import { equalBytes } from '../bytes.js';

export const COMMITMENT_BYTES = 64;
export const COMMITMENT_SALT_BYTES = 32;

export interface CommitmentContext {
  sessionId: Uint8Array;
  /** The committing party's id. */
  party: number;
  label: string;
}

function digest(ctx: CommitmentContext, salt: Uint8Array, items: readonly Uint8Array[]): Uint8Array {
  const t = new Transcript('nitro-cosigner/commitment/v1', ctx.sessionId)
    .appendBigint('party', BigInt(ctx.party))
    .appendText('label', ctx.label)
    .appendBytes('salt', salt)
    .appendBigint('count', BigInt(items.length));
  items.forEach((item, i) => t.appendBytes(`item${i}`, item));
  return t.challengeBytes('commitment').subarray(0, COMMITMENT_BYTES);
}

/** Commit to an ordered list of byte strings; keep `salt` secret until opening. */
export function commit(ctx: CommitmentContext, items: readonly Uint8Array[]): { commitment: Uint8Array; salt: Uint8Array } {
  const salt = new Uint8Array(randomBytes(COMMITMENT_SALT_BYTES));
  return { commitment: digest(ctx, salt, items), salt };
}

/** True iff (salt, items) opens `commitment` under the same context. */
export function verifyCommitment(ctx: CommitmentContext, commitment: Uint8Array, salt: Uint8Array, items: readonly Uint8Array[]): boolean {
  if (commitment.length !== COMMITMENT_BYTES || salt.length !== COMMITMENT_SALT_BYTES) return false;
  return equalBytes(digest(ctx, salt, items), commitment);
}
