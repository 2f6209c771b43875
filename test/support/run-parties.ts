// Drive two MPC parties to completion in one process, every message through a real CBOR round
// trip (as on the wire), with an optional `tamper` that may rewrite any message in flight.
// Messages are authenticated as in deployment (shared/mpc/authenticated-message.ts): each party id
// has an Ed25519 identity here; `tamper` acts on the plain message before its sender signs it,
// i.e. it models a malicious PARTY (who can sign anything as itself). A relay rewriting signed
// messages is modelled by the tests that handle SignedMpcMessages themselves.
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import type { MpcMessage, Party } from '../../shared/mpc/party.js';
import {
  Ed25519Identity, ed25519Peers, openMpcMessage, sealMpcMessage,
  type AuthenticatedMessage, type PeerVerifier, type SignedMpcMessage,
} from '../../shared/mpc/authenticated-message.js';

export const wire = <T>(m: T): T => decodeCbor(encodeCbor(m)) as T;

const identities = new Map<number, Ed25519Identity>();
const verifiers = new Map<number, PeerVerifier>();

/** The test identity of a party id (made on first use). */
export function testIdentity(id: number): Ed25519Identity {
  let i = identities.get(id);
  if (!i) identities.set(id, (i = Ed25519Identity.generate(id)));
  return i;
}

/** Every test identity, as the peers' directory. */
export const testPeers: PeerVerifier = {
  verify(id, digest, signature) {
    let v = verifiers.get(id);
    if (!v) {
      const i = identities.get(id);
      if (!i) return false;
      verifiers.set(id, (v = ed25519Peers(new Map([[id, i.publicKey]]))));
    }
    return v.verify(id, digest, signature);
  },
};

/** What `receiver` gets off the wire for `m`, signed by its sender. A message that cannot be signed (not an envelope) goes as is, and the party must refuse it. */
export function sealForTest(m: MpcMessage): SignedMpcMessage | MpcMessage {
  try {
    return wire(sealMpcMessage(m, testIdentity(m.from)));
  } catch {
    return m;
  }
}

/** openMpcMessage for `receiver`, as its transport would call it; an unsignable message is passed through unauthenticated. */
export function authenticateFor(receiver: { self: number; sessionId: Uint8Array }, delivered: SignedMpcMessage | MpcMessage): AuthenticatedMessage {
  if (typeof delivered !== 'object' || delivered === null || !('signature' in delivered)) return delivered as AuthenticatedMessage; // the party refuses it
  return openMpcMessage(delivered, { self: receiver.self, sessionId: receiver.sessionId, peers: testPeers });
}

export function runTwoParties<A, B>(a: Party<A>, b: Party<B>, tamper: (m: MpcMessage) => MpcMessage = (m) => m): void {
  const queue: MpcMessage[] = [...b.start(), ...a.start()];
  while (queue.length) {
    const m = tamper(wire(queue.shift()!));
    const to = m.to === a.self ? a : b;
    queue.push(...to.receive(authenticateFor(to, sealForTest(m))));
  }
}
