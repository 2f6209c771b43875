// Run a set of Party state machines in one process until all are done. Every message crosses a
// real CBOR encode/decode, as it would on the vsock/HTTPS wire, so serialisation is in the cost.
import { decodeCbor, encodeCbor } from '../shared/cbor.js';
import type { MpcMessage, Party } from '../shared/mpc/party.js';

export function drive(parties: readonly Party<unknown>[]): void {
  const byId = new Map(parties.map((p) => [p.self, p]));
  const queue: MpcMessage[] = parties.flatMap((p) => p.start());
  while (queue.length > 0) {
    const m = decodeCbor(encodeCbor(queue.shift()!)) as MpcMessage;
    const to = byId.get(m.to);
    if (!to) throw new Error(`bench: message for unknown party ${m.to}`);
    queue.push(...to.receive(m));
  }
  for (const p of parties) if (!p.done) throw new Error(`bench: party ${p.self} of ${p.protocol} did not finish`);
}
