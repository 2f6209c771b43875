// Bookkeeping shared by the four two-party ECDSA state machines (shared/mpc/party.ts "Shape"):
// envelope checks before any payload is parsed, strict payload schemas, one run per object, and a
// dead session after the first error. Error messages name fields, never values.
import * as s from '../../schema.js';
import { CosignerError, isCosignerError, type ErrorCode } from '../../errors.js';
import { SESSION_ID_BYTES, checkEnvelope, parseMessagePart, type MpcMessage } from '../party.js';
import { requireAuthenticated, type AuthenticatedMessage } from '../authenticated-message.js';

export const DEFAULT_P1_ID = 1;
export const DEFAULT_P2_ID = 2;

export interface TwoPartyIds {
  sessionId: Uint8Array;
  /** Party ids (default P1 = 1, P2 = 2). */
  p1Id?: number;
  p2Id?: number;
}

export class TwoPartySession {
  readonly p1: number;
  readonly p2: number;
  readonly sessionId: Uint8Array;
  readonly self: number;
  private started = false;
  private failed = false;
  private finished = false;
  private expectedRound = 0;

  constructor(readonly protocol: string, ids: TwoPartyIds, role: 'p1' | 'p2') {
    if (!(ids.sessionId instanceof Uint8Array) || ids.sessionId.length !== SESSION_ID_BYTES) {
      throw new CosignerError('MPC_STATE', `session id must be ${SESSION_ID_BYTES} bytes`);
    }
    this.p1 = ids.p1Id ?? DEFAULT_P1_ID;
    this.p2 = ids.p2Id ?? DEFAULT_P2_ID;
    for (const id of [this.p1, this.p2]) {
      if (!Number.isInteger(id) || id < 1 || id > 255) throw new CosignerError('MPC_STATE', 'party ids must be integers in [1, 255]');
    }
    if (this.p1 === this.p2) throw new CosignerError('MPC_STATE', 'P1 and P2 must have different ids');
    this.self = role === 'p1' ? this.p1 : this.p2;
    this.sessionId = new Uint8Array(ids.sessionId);
  }

  get peer(): number {
    return this.self === this.p1 ? this.p2 : this.p1;
  }

  get done(): boolean {
    return this.finished;
  }

  /** start() may run once; `firstRound` is the round this party receives first. */
  begin(firstRound: number): void {
    if (this.started) throw new CosignerError('MPC_STATE', `${this.protocol}: a party runs only once`);
    this.started = true;
    this.expectedRound = firstRound;
  }

  envelope(round: number, payload: unknown): MpcMessage {
    return { protocol: this.protocol, sessionId: this.sessionId, from: this.self, to: this.peer, round, payload };
  }

  /**
   * Check the envelope, parse the payload and run `step`. Any failure kills the session; errors
   * that are not CosignerErrors become MPC_INVALID_MESSAGE without their (possibly secret) text.
   * A payload that fails its schema is `payloadErrorCode` (default MPC_INVALID_MESSAGE).
   */
  handle<P, R>(msg: AuthenticatedMessage, schema: s.Schema<P>, step: (payload: P) => R, payloadErrorCode: ErrorCode = 'MPC_INVALID_MESSAGE'): R {
    if (!this.started) throw new CosignerError('MPC_STATE', `${this.protocol}: start() first`);
    if (this.failed) throw new CosignerError('MPC_STATE', `${this.protocol}: session already failed`);
    if (this.finished) throw new CosignerError('MPC_STATE', `${this.protocol}: session already finished`);
    try {
      requireAuthenticated(msg, this.protocol);
      checkEnvelope(msg, { protocol: this.protocol, sessionId: this.sessionId, self: this.self, peers: [this.peer], round: this.expectedRound });
      let payload: P;
      try {
        payload = parseMessagePart(schema, msg.payload, 'payload', this.protocol);
      } catch (e) {
        if (isCosignerError(e, 'MPC_INVALID_MESSAGE') && payloadErrorCode !== 'MPC_INVALID_MESSAGE') throw new CosignerError(payloadErrorCode, e.message);
        throw e;
      }
      return step(payload);
    } catch (e) {
      this.failed = true;
      if (e instanceof CosignerError) throw e;
      throw new CosignerError('MPC_INVALID_MESSAGE', `${this.protocol}: round ${this.expectedRound} message rejected`);
    }
  }

  /** After a successful step: wait for `round` next, or finish. */
  expect(round: number): void {
    this.expectedRound = round;
  }

  finish(): void {
    this.finished = true;
  }

  fail(): void {
    this.failed = true;
  }
}

export function proofFailed(what: string): never {
  throw new CosignerError('MPC_PROOF_FAILED', `${what} does not verify`);
}
