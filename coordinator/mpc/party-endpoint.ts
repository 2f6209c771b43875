// The seam between the co-signer API's MPC relay (routes, authentication, idempotent replay of
// answers) and the coordinator's MPC party (coordinator/mpc/): the relay hands over signed
// messages a paired co-signer sent for one session, and gets back the signed messages the
// coordinator's party answers with. Both sides speak SignedMpcMessage
// (shared/mpc/authenticated-message.ts); the party authenticates what it receives itself.
import type { SignedMpcMessage } from '../../shared/mpc/authenticated-message.js';

export interface MpcSessionRef {
  workspaceId: string;
  /** The paired co-signer the relay authenticated (its access token). */
  cosignerId: string;
  /** 32-byte MPC session id, as named in the work item. */
  sessionId: Uint8Array;
}

export interface MpcPartyEndpoint {
  /**
   * The coordinator's first messages of a session in which it speaks first (ECDSA key generation:
   * P1's commitment), or [] when it does not. Asking twice returns the same messages.
   */
  opening(ref: MpcSessionRef): Promise<SignedMpcMessage[]>;
  /**
   * Delivers the co-signer's messages of one round, in order, and returns the party's answers
   * (possibly none: the session finished). A typed CosignerError (MPC_INVALID_MESSAGE,
   * MPC_SESSION_MISMATCH, MPC_STATE, MPC_KEY_LOCKED, NOT_FOUND) ends the request with 4xx; the
   * relay must not call receive() again for messages it already delivered (it replays its stored answer).
   */
  receive(ref: MpcSessionRef, messages: SignedMpcMessage[]): Promise<SignedMpcMessage[]>;
}
