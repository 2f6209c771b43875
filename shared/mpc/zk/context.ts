// What every Fiat–Shamir proof is bound to (CRYPTO.md attack 4, TSSHOCK): the session id, the
// prover's party id and an optional label naming the proof's purpose within the protocol. A proof
// made for one session, prover or purpose yields a different challenge anywhere else.
import { CosignerError } from '../../errors.js';
import { Transcript } from '../transcript.js';

export interface ProofContext {
  sessionId: Uint8Array;
  prover: number;
  label?: string;
}

/** Throws MPC_INVALID_MESSAGE unless ctx is well formed (non-empty session id, uint32 prover). */
export function checkProofContext(ctx: ProofContext): void {
  if (!ctx || !(ctx.sessionId instanceof Uint8Array) || ctx.sessionId.length === 0 || ctx.sessionId.length > 256) {
    throw new CosignerError('MPC_INVALID_MESSAGE', 'proof context needs a session id of 1..256 bytes');
  }
  if (!Number.isSafeInteger(ctx.prover) || ctx.prover < 0 || ctx.prover > 0xffffffff) {
    throw new CosignerError('MPC_INVALID_MESSAGE', 'proof context prover id must be an unsigned 32-bit integer');
  }
  if (ctx.label !== undefined && (typeof ctx.label !== 'string' || ctx.label.length > 256)) {
    throw new CosignerError('MPC_INVALID_MESSAGE', 'proof context label must be text of at most 256 characters');
  }
}

/** A transcript for `domain` that already holds the session id, prover id and label. */
export function proofTranscript(domain: string, ctx: ProofContext): Transcript {
  checkProofContext(ctx);
  return new Transcript(domain, ctx.sessionId)
    .appendBigint('prover', BigInt(ctx.prover))
    .appendText('label', ctx.label ?? '');
}
