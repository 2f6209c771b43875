// Run a set of Party state machines in one process until all are done. Every message is signed
// by its sender's Ed25519 identity, crosses a real CBOR encode/decode, as it would on the
// vsock/HTTPS wire, and is authenticated by the receiver (openMpcMessage) before receive().
// Returns the time each party spent computing (its start()/receive() calls): in deployment the
// parties run on different machines, so one party's share is what the enclave pays. Signing and
// verifying the envelopes is the transport's work; its time is reported under the key AUTH_KEY.
import { performance } from 'node:perf_hooks';
import { decodeCbor, encodeCbor } from '../shared/cbor.js';
import type { MpcMessage, Party } from '../shared/mpc/party.js';
import { Ed25519Identity, ed25519Peers, openMpcMessage, sealMpcMessage, type PeerVerifier } from '../shared/mpc/authenticated-message.js';

/** Key of the envelope-authentication time (seal + open, all messages) in drive()'s result. */
export const AUTH_KEY = 0;

const identities = new Map<number, Ed25519Identity>();
let peers: PeerVerifier | undefined;

function identity(id: number): Ed25519Identity {
  let i = identities.get(id);
  if (!i) {
    identities.set(id, (i = Ed25519Identity.generate(id)));
    peers = ed25519Peers(new Map([...identities].map(([k, v]) => [k, v.publicKey])));
  }
  return i;
}

export function drive(parties: readonly Party<unknown>[]): Map<number, number> {
  for (const p of parties) identity(p.self);
  const byId = new Map(parties.map((p) => [p.self, p]));
  const spent = new Map(parties.map((p) => [p.self, 0]));
  let auth = 0;
  const timed = (p: Party<unknown>, f: () => MpcMessage[]): MpcMessage[] => {
    const t0 = performance.now();
    const out = f();
    spent.set(p.self, spent.get(p.self)! + performance.now() - t0);
    return out;
  };
  const queue: MpcMessage[] = parties.flatMap((p) => timed(p, () => p.start()));
  while (queue.length > 0) {
    const m = queue.shift()!;
    const t0 = performance.now();
    const sealed = sealMpcMessage(m, identity(m.from));
    const delivered = decodeCbor(encodeCbor(sealed));
    const to = byId.get(m.to);
    if (!to) throw new Error(`bench: message for unknown party ${m.to}`);
    const opened = openMpcMessage(delivered, { self: to.self, sessionId: to.sessionId, peers: peers! });
    auth += performance.now() - t0;
    queue.push(...timed(to, () => to.receive(opened)));
  }
  for (const p of parties) if (!p.done) throw new Error(`bench: party ${p.self} of ${p.protocol} did not finish`);
  spent.set(AUTH_KEY, auth);
  return spent;
}
