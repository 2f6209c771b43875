// Drive two MPC parties to completion in one process, every message through a real CBOR round
// trip (as on the wire), with an optional `tamper` that may rewrite any message in flight.
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import type { MpcMessage, Party } from '../../shared/mpc/party.js';

export const wire = (m: MpcMessage): MpcMessage => decodeCbor(encodeCbor(m)) as MpcMessage;

export function runTwoParties<A, B>(a: Party<A>, b: Party<B>, tamper: (m: MpcMessage) => MpcMessage = (m) => m): void {
  const queue: MpcMessage[] = [...b.start(), ...a.start()];
  while (queue.length) {
    const m = wire(tamper(wire(queue.shift()!)));
    queue.push(...(m.to === a.self ? a : b).receive(m));
  }
}
