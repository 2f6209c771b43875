// Hand one message to one party as the wire and its transport would: signed by its sender's test
// identity, CBOR round-tripped, then authenticated with openMpcMessage (see test/support/run-parties.ts).
// Errors of openMpcMessage carry the same codes the party would give (MPC_SESSION_MISMATCH,
// MPC_INVALID_MESSAGE).
import type { MpcMessage, Party } from '../../shared/mpc/party.js';
import { authenticateFor, sealForTest } from '../support/run-parties.js';

export function deliverTo<T>(party: Party<T>, message: MpcMessage): MpcMessage[] {
  return party.receive(authenticateFor(party, sealForTest(message)));
}
