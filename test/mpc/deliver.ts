// Hand one message to one party as the wire would: through a real CBOR round trip.
import type { MpcMessage, Party } from '../../shared/mpc/party.js';
import { wire } from '../support/run-parties.js';

export function deliver<T>(party: Party<T>, message: MpcMessage): MpcMessage[] {
  return party.receive(wire(message));
}
