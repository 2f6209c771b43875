// MPC message decoding for every round of two-party ECDSA (key generation and signing) and FROST
// (DKG and signing, Ed25519 and BIP340): a party at the point of receiving round k gets a
// mutated round-k message and must answer with messages or a typed error, in bounded time.
//
// ECDSA: one honest run is recorded; before each delivery the receiving party is copied
// (support/snapshot.ts), so every case starts from that exact state and the unmutated message is
// one it accepts — mutations land next to a valid message and reach the proofs.
// FROST signing: fresh parties with a deterministic nonce source replay the honest run exactly.
// FROST DKG: fresh parties; round-2 shares are sealed to the recorded run's ephemeral keys, so
// round 2 exercises the rejection paths only.
import fc from 'fast-check';
import { createHash, randomBytes } from 'node:crypto';
import { decodeCbor, encodeCbor } from '../../../shared/cbor.js';
import type { MpcMessage, Party } from '../../../shared/mpc/party.js';
import { EcdsaKeygenP1, EcdsaKeygenP2 } from '../../../shared/mpc/ecdsa/keygen.js';
import { EcdsaSignP1, EcdsaSignP2 } from '../../../shared/mpc/ecdsa/sign.js';
import { generatePaillierKeyPair } from '../../../shared/mpc/paillier/paillier.js';
import { generateRingPedersen } from '../../../shared/mpc/zk/ring-pedersen.js';
import { FrostDkgParty, FrostSignParty, type FrostKeyShare, type FrostScheme } from '../../../shared/mpc/frost/index.js';
import { TEST_RING_PEDERSEN_BITS } from '../../support/ecdsa-keys.js';
import { mutated } from '../support/mutate.js';
import { snapshot } from '../support/snapshot.js';
import { mutateValue, valueMutation } from '../support/value-mutate.js';
import { equalBytes, typedOnly, violation, type FuzzTarget } from '../support/target.js';
import { MemoryKeyLockStore } from '../../../shared/mpc/ecdsa/key-lock-store.js';
import { authenticateFor, sealForTest } from '../../support/run-parties.js';

/** As the transport delivers: sealed by the sender's identity, opened for the receiver (shared/mpc/authenticated-message.ts). */
function deliver(p: Party<unknown>, m: MpcMessage): MpcMessage[] {
  return p.receive(authenticateFor(p, sealForTest(m)));
}

const wire = (m: MpcMessage): MpcMessage => decodeCbor(encodeCbor(m)) as MpcMessage;

interface Scenario {
  /** A party ready to receive `template` (fresh for every case). */
  fresh(): Party<unknown>;
  template: MpcMessage;
  templateBytes: Uint8Array;
  /** The unmutated template must be accepted (true where the run is replayed exactly). */
  acceptsTemplate: boolean;
}

/** Messages (as bytes on the wire): the template with byte mutations or with value mutations. */
function messageInput(get: () => Scenario): fc.Arbitrary<Uint8Array> {
  const template = fc.constant(null).map(() => get().templateBytes);
  return fc.oneof(
    { weight: 1, arbitrary: mutated(template) },
    { weight: 1, arbitrary: fc.array(valueMutation, { minLength: 1, maxLength: 3 }).map((ms) => encodeCbor(mutateValue(get().template, ms))) },
  );
}

function scenarioTarget(name: string, get: () => Scenario, setup: () => Promise<void>, opts: { suiteRuns?: number; weight?: number; timeBaseMs?: number } = {}): FuzzTarget {
  return {
    name,
    input: messageInput(get),
    setup,
    ...opts,
    check(input) {
      const sc = get();
      let message: unknown;
      try {
        message = decodeCbor(input);
      } catch {
        return; // not CBOR: the channel refuses it before any party sees it
      }
      const party = sc.fresh();
      const r = typedOnly(input, () => deliver(party, message as MpcMessage), undefined, opts.timeBaseMs);
      if (r.ok && !Array.isArray(r.value)) violation('receive() returned something other than a message list');
      if (sc.acceptsTemplate && equalBytes(input, sc.templateBytes) && !r.ok) violation(`the honest message was refused (${r.error.code}): the scenario no longer reaches this round`);
    },
  };
}

// ---------------------------------------------------------------- ECDSA

/** Drive two parties, recording each delivery with a copy of the receiver taken just before it. */
function recordTwoParty(a: Party<unknown>, b: Party<unknown>): { to: number; round: number; state: Party<unknown>; message: MpcMessage }[] {
  const out: { to: number; round: number; state: Party<unknown>; message: MpcMessage }[] = [];
  const queue: MpcMessage[] = [...b.start(), ...a.start()];
  while (queue.length) {
    const m = wire(queue.shift()!);
    const receiver = m.to === a.self ? a : b;
    out.push({ to: m.to, round: m.round, state: snapshot(receiver), message: m });
    queue.push(...deliver(receiver, m));
  }
  return out;
}

const ecdsaScenarios = new Map<string, Scenario>();
let ecdsaReady: Promise<void> | undefined;

function setupEcdsa(): Promise<void> {
  ecdsaReady ??= (async () => {
    const ringPedersen = generateRingPedersen(TEST_RING_PEDERSEN_BITS);
    const paillier = generatePaillierKeyPair(2048).secretKey;
    const sessionId = new Uint8Array(randomBytes(32));
    const k1 = new EcdsaKeygenP1({ sessionId, paillier, minRingPedersenBits: TEST_RING_PEDERSEN_BITS });
    const k2 = new EcdsaKeygenP2({ sessionId, ringPedersen, minRingPedersenBits: TEST_RING_PEDERSEN_BITS });
    for (const d of recordTwoParty(k1, k2)) addEcdsa(`keygen.p${d.to}.round${d.round}`, d);
    const signSession = new Uint8Array(randomBytes(32));
    const messageHash = new Uint8Array(createHash('sha256').update('fuzz').digest());
    const s1 = new EcdsaSignP1(k1.result(), { sessionId: signSession, messageHash, lockStore: new MemoryKeyLockStore() });
    const s2 = new EcdsaSignP2(k2.result(), { sessionId: signSession, messageHash });
    for (const d of recordTwoParty(s1, s2)) addEcdsa(`sign.p${d.to}.round${d.round}`, d);
  })();
  return ecdsaReady;
}

function addEcdsa(key: string, d: { state: Party<unknown>; message: MpcMessage }): void {
  ecdsaScenarios.set(key, { fresh: () => snapshot(d.state), template: d.message, templateBytes: encodeCbor(d.message), acceptsTemplate: true });
}

const ecdsa = (key: string, opts: { suiteRuns?: number; weight?: number; timeBaseMs?: number } = {}) =>
  scenarioTarget(`mpc.ecdsa-${key}`, () => ecdsaScenarios.get(key) ?? violation(`no recorded ECDSA delivery ${key}`), setupEcdsa, opts);

// ---------------------------------------------------------------- FROST

/** Deterministic nonce source for the signing replay (the option exists for RFC 9591 vectors). */
function seededRng(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) out.set(createHash('sha256').update(`${seed}/${counter++}`).digest().subarray(0, n - off), off);
    return out;
  };
}

function runAll(parties: Party<unknown>[], tap: (m: MpcMessage) => void = () => undefined): void {
  const byId = new Map(parties.map((p) => [p.self, p]));
  let queue = parties.flatMap((p) => p.start());
  while (queue.length) {
    const next: MpcMessage[] = [];
    for (const m of queue.map(wire)) {
      tap(m);
      next.push(...deliver(byId.get(m.to)!, m));
    }
    queue = next;
  }
}

const frostScenarios = new Map<string, Scenario>();
let frostReady: Promise<void> | undefined;

function setupFrost(): Promise<void> {
  frostReady ??= (async () => {
    for (const scheme of ['ed25519', 'bip340'] as FrostScheme[]) {
      const sessionId = new Uint8Array(randomBytes(32));
      const dkg = [1, 2].map((self) => new FrostDkgParty({ scheme, sessionId, self, parties: [1, 2], threshold: 2 }));
      const dkgMessages: MpcMessage[] = [];
      runAll(dkg, (m) => dkgMessages.push(m));
      const shares = dkg.map((p) => p.result() as FrostKeyShare);
      // Party 1 receiving from party 2: round 1 right after start; round 2 after the honest round 1.
      const from2 = (round: number) => dkgMessages.find((m) => m.from === 2 && m.round === round)!;
      const freshDkg = (prior: MpcMessage[]) => () => {
        const p = new FrostDkgParty({ scheme, sessionId, self: 1, parties: [1, 2], threshold: 2 });
        p.start();
        for (const m of prior) deliver(p, m);
        return p as Party<unknown>;
      };
      frostScenarios.set(`${scheme}.dkg.round1`, { fresh: freshDkg([]), template: from2(1), templateBytes: encodeCbor(from2(1)), acceptsTemplate: true });
      frostScenarios.set(`${scheme}.dkg.round2`, { fresh: freshDkg([from2(1)]), template: from2(2), templateBytes: encodeCbor(from2(2)), acceptsTemplate: false });

      const signSession = new Uint8Array(randomBytes(32));
      const message = new TextEncoder().encode('fuzz');
      const signer = (i: number) => new FrostSignParty({ keyShare: shares[i]!, sessionId: signSession, signers: [1, 2], message, rng: seededRng(`${scheme}/${i}`) });
      const signMessages: MpcMessage[] = [];
      runAll([signer(0), signer(1)], (m) => signMessages.push(m));
      const s2 = (round: number) => signMessages.find((m) => m.from === 2 && m.round === round)!;
      const freshSign = (prior: MpcMessage[]) => () => {
        const p = signer(0);
        p.start();
        for (const m of prior) deliver(p, m);
        return p as Party<unknown>;
      };
      frostScenarios.set(`${scheme}.sign.round1`, { fresh: freshSign([]), template: s2(1), templateBytes: encodeCbor(s2(1)), acceptsTemplate: true });
      frostScenarios.set(`${scheme}.sign.round2`, { fresh: freshSign([s2(1)]), template: s2(2), templateBytes: encodeCbor(s2(2)), acceptsTemplate: true });
    }
  })();
  return frostReady;
}

const frost = (key: string, opts: { suiteRuns?: number; weight?: number } = {}) =>
  scenarioTarget(`mpc.frost-${key}`, () => frostScenarios.get(key) ?? violation(`no recorded FROST delivery ${key}`), setupFrost, opts);

// Keygen: P1 receives rounds 2 and 4, P2 rounds 1 and 3. Signing: P1 receives 2 and 4, P2 1, 3 and 5.
export const ecdsaTargets: FuzzTarget[] = [
  ecdsa('keygen.p2.round1', { suiteRuns: 40, weight: 140, timeBaseMs: 30_000 }),
  ecdsa('keygen.p1.round2', { suiteRuns: 40, weight: 800, timeBaseMs: 30_000 }),
  ecdsa('keygen.p2.round3', { suiteRuns: 40, weight: 1400, timeBaseMs: 30_000 }),
  ecdsa('keygen.p1.round4', { suiteRuns: 100, weight: 8 }),
  ecdsa('sign.p2.round1', { suiteRuns: 150, weight: 10 }),
  ecdsa('sign.p1.round2', { suiteRuns: 150, weight: 20 }),
  ecdsa('sign.p2.round3', { suiteRuns: 100, weight: 60 }),
  ecdsa('sign.p1.round4', { suiteRuns: 100, weight: 35 }),
  ecdsa('sign.p2.round5', { suiteRuns: 150, weight: 14 }),
];

export const frostTargets: FuzzTarget[] = (['ed25519', 'bip340'] as const).flatMap((scheme) => [
  frost(`${scheme}.dkg.round1`, { suiteRuns: 150, weight: 80 }),
  frost(`${scheme}.dkg.round2`, { suiteRuns: 100, weight: 300 }),
  frost(`${scheme}.sign.round1`, { suiteRuns: 150, weight: 45 }),
  frost(`${scheme}.sign.round2`, { suiteRuns: 150, weight: 110 }),
]);

export const mpcTargets = [...ecdsaTargets, ...frostTargets];
