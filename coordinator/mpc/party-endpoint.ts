// The seam between the co-signer API's MPC relay (routes, authentication, idempotent replay of
// answers) and the coordinator's MPC party (coordinator/mpc/): the relay hands over what a paired
// co-signer sent for one session — its channel hello, then encrypted frames — and gets back the
// party's. The relay cannot read the frames (shared/cosigner-api/mpc-channel.ts); the party opens
// the channel and authenticates every message itself.
import type { MpcFrame, MpcHello } from '../../shared/cosigner-api/mpc-channel.js';

export interface MpcSessionRef {
  workspaceId: string;
  /** The paired co-signer the relay authenticated (its access token). */
  cosignerId: string;
  /** 32-byte MPC session id, as named in the work item. */
  sessionId: Uint8Array;
}

export interface MpcOpening {
  /** The coordinator's channel hello, answering the co-signer's. */
  hello: MpcHello;
  /** Its first frames, in a session where it speaks first (ECDSA key generation: P1's commitment), else []. */
  messages: MpcFrame[];
}

export interface MpcPartyEndpoint {
  /**
   * Opens the session's channel with the co-signer's hello and starts the coordinator's party.
   * Asking again with the same hello returns the same answer; another hello is refused.
   */
  opening(ref: MpcSessionRef, hello: MpcHello): Promise<MpcOpening>;
  /**
   * Delivers the co-signer's frames of one round, in order, and returns the party's answers
   * (possibly none: the session finished). A typed CosignerError (MPC_INVALID_MESSAGE,
   * MPC_SESSION_MISMATCH, MPC_STATE, MPC_KEY_LOCKED, NOT_FOUND) ends the request with 4xx; the
   * relay must not call receive() again for frames it already delivered (it replays its stored answer).
   */
  receive(ref: MpcSessionRef, frames: MpcFrame[]): Promise<MpcFrame[]>;
}
