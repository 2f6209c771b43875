// Run a set of Party state machines in one process until all are done. Every message crosses a
// real CBOR encode/decode, as it would on the vsock/HTTPS wire, so serialisation is in the cost.
// Returns the time each party spent computing (its start()/receive() calls): in deployment the
// parties run on different machines, so one party's share is what the enclave pays.
import { performance } from 'node:perf_hooks';
import { decodeCbor, encodeCbor } from '../shared/cbor.js';
import type { MpcMessage, Party } from '../shared/mpc/party.js';

export function drive(parties: readonly Party<unknown>[]): Map<number, number> {
  const byId = new Map(parties.map((p) => [p.self, p]));
  const spent = new Map(parties.map((p) => [p.self, 0]));
  const timed = (p: Party<unknown>, f: () => MpcMessage[]): MpcMessage[] => {
    const t0 = performance.now();
    const out = f();
    spent.set(p.self, spent.get(p.self)! + performance.now() - t0);
    return out;
  };
  const queue: MpcMessage[] = parties.flatMap((p) => timed(p, () => p.start()));
  while (queue.length > 0) {
    const m = decodeCbor(encodeCbor(queue.shift()!)) as MpcMessage;
    const to = byId.get(m.to);
    if (!to) throw new Error(`bench: message for unknown party ${m.to}`);
    queue.push(...timed(to, () => to.receive(m)));
  }
  for (const p of parties) if (!p.done) throw new Error(`bench: party ${p.self} of ${p.protocol} did not finish`);
  return spent;
}
