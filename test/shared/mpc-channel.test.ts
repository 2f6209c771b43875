// The end-to-end channel between the coordinator's MPC party and the enclave
// (shared/cosigner-api/mpc-channel.ts), played as a hostile relay would: every frame or hello it
// alters, replays, reorders, reflects, moves to another session or forges is refused, and what it
// carries is not the plaintext.
import { expect } from 'chai';
import fc from 'fast-check';
import { isCosignerError } from '../../shared/errors.js';
import { randomBytes } from 'node:crypto';
import { Ed25519Identity, ed25519Peers, openMpcMessage, sealMpcMessage, type SignedMpcMessage } from '../../shared/mpc/authenticated-message.js';
import { encodeCbor } from '../../shared/cbor.js';
import {
  acceptCosignerHello, beginCosignerHandshake, completeCosignerHandshake, frameFromJson, frameToJson, helloFromJson, type ChannelContext, type MpcChannel, type MpcFrame,
} from '../../shared/cosigner-api/mpc-channel.js';
import { COORDINATOR_PARTY_ID, COSIGNER_PARTY_ID } from '../../shared/cosigner-api/sign-item.js';
import { expectCosignerError } from '../support/expect-error.js';

const coordinator = Ed25519Identity.generate(COORDINATOR_PARTY_ID);
const cosigner = Ed25519Identity.generate(COSIGNER_PARTY_ID);
const coordinatorPeers = ed25519Peers(new Map([[COORDINATOR_PARTY_ID, coordinator.publicKey]]));
const cosignerPeers = ed25519Peers(new Map([[COSIGNER_PARTY_ID, cosigner.publicKey]]));

function context(over: Partial<ChannelContext> = {}): ChannelContext {
  return { sessionId: new Uint8Array(randomBytes(32)), workItemId: 'item-1', cosignerIdentity: cosigner.publicKey, coordinatorIdentity: coordinator.publicKey, ...over };
}

function pair(ctx = context()): { ctx: ChannelContext; s: MpcChannel; c: MpcChannel } {
  const hs = beginCosignerHandshake(ctx, cosigner);
  const accepted = acceptCosignerHello(ctx, hs.hello, cosignerPeers, coordinator);
  return { ctx, c: accepted.channel, s: completeCosignerHandshake(hs, accepted.hello, coordinatorPeers) };
}

function message(ctx: ChannelContext, from: Ed25519Identity, round: number, payload: unknown = { secret: 'a Paillier ciphertext', round }): SignedMpcMessage {
  const to = from.partyId === COSIGNER_PARTY_ID ? COORDINATOR_PARTY_ID : COSIGNER_PARTY_ID;
  return sealMpcMessage({ protocol: 'ecdsa-sign', sessionId: ctx.sessionId, from: from.partyId, to, round, payload }, from);
}

describe('MPC channel (end-to-end encryption between the coordinator\'s party and the enclave)', () => {
  it('carries signed messages both ways; the receiver gets them byte for byte and they still authenticate', () => {
    const { ctx, s, c } = pair();
    for (let round = 1; round <= 3; round++) {
      const m = message(ctx, cosigner, round);
      expect(c.open(s.seal(m))).to.deep.equal(m);
      const back = message(ctx, coordinator, round);
      const opened = s.open(c.seal(back));
      expect(openMpcMessage(opened, { self: COSIGNER_PARTY_ID, sessionId: ctx.sessionId, peers: coordinatorPeers }).payload).to.deep.equal({ secret: 'a Paillier ciphertext', round });
    }
  });

  it('the relay does not see the plaintext: neither the payload nor the signed envelope appear in the frame', () => {
    const { ctx, s } = pair();
    const m = message(ctx, cosigner, 1, { marker: 'MARKER-0123456789' });
    const f = s.seal(m);
    expect(Buffer.from(f.ciphertext).includes(Buffer.from('MARKER-0123456789'))).to.equal(false);
    expect(Buffer.from(f.ciphertext).includes(Buffer.from(m.signature))).to.equal(false);
    expect(Buffer.from(f.ciphertext).includes(Buffer.from(encodeCbor(m)))).to.equal(false);
  });

  it('an altered frame does not decrypt (every byte of the ciphertext, the tag and the sequence number count)', () => {
    const { ctx, s, c } = pair();
    const f = s.seal(message(ctx, cosigner, 1));
    for (const i of [0, Math.floor(f.ciphertext.length / 2), f.ciphertext.length - 1]) {
      const bad = new Uint8Array(f.ciphertext);
      bad[i]! ^= 0x01;
      expectCosignerError(() => c.open({ ...f, ciphertext: bad }), 'MPC_INVALID_MESSAGE', /does not decrypt/);
    }
    expectCosignerError(() => c.open({ ...f, ciphertext: f.ciphertext.subarray(0, f.ciphertext.length - 1) }), 'MPC_INVALID_MESSAGE');
    // Refused frames did not advance the receiver: the genuine one is still taken.
    expect(c.open(f).round).to.equal(1);
  });

  it('a replayed, reordered or skipped frame is refused', () => {
    const { ctx, s, c } = pair();
    const f0 = s.seal(message(ctx, cosigner, 1));
    const f1 = s.seal(message(ctx, cosigner, 2));
    const f2 = s.seal(message(ctx, cosigner, 3));
    expectCosignerError(() => c.open(f1), 'MPC_INVALID_MESSAGE', /before frame 0/);
    c.open(f0);
    expectCosignerError(() => c.open(f0), 'MPC_INVALID_MESSAGE', /replayed/);
    expectCosignerError(() => c.open(f2), 'MPC_INVALID_MESSAGE', /reordered or dropped/);
    // A frame renumbered to the expected sequence number does not decrypt (the number is in the nonce and the associated data).
    expectCosignerError(() => c.open({ ...f2, seq: 1 }), 'MPC_INVALID_MESSAGE', /does not decrypt/);
    expect(c.open(f1).round).to.equal(2);
  });

  it('a frame reflected back to its sender, or moved to another session, is refused', () => {
    const { ctx, s, c } = pair();
    const f = s.seal(message(ctx, cosigner, 1));
    expectCosignerError(() => s.open(f), 'MPC_INVALID_MESSAGE', /does not decrypt/);
    const other = pair();
    expectCosignerError(() => other.c.open(f), 'MPC_SESSION_MISMATCH');
    expectCosignerError(() => other.c.open({ ...f, sessionId: other.ctx.sessionId }), 'MPC_INVALID_MESSAGE', /does not decrypt/);
    expect(c.open(f).round).to.equal(1);
  });

  it('the coordinator refuses a hello not signed by the paired co-signer for this session and work item', () => {
    const ctx = context();
    const hs = beginCosignerHandshake(ctx, cosigner);
    const stranger = Ed25519Identity.generate(COSIGNER_PARTY_ID);
    expectCosignerError(() => acceptCosignerHello(ctx, beginCosignerHandshake({ ...ctx, cosignerIdentity: stranger.publicKey }, stranger).hello, cosignerPeers, coordinator), 'MPC_INVALID_MESSAGE', /not signed/);
    expectCosignerError(() => acceptCosignerHello({ ...ctx, workItemId: 'item-2' }, hs.hello, cosignerPeers, coordinator), 'MPC_INVALID_MESSAGE', /not signed/);
    expectCosignerError(() => acceptCosignerHello({ ...ctx, sessionId: new Uint8Array(randomBytes(32)) }, hs.hello, cosignerPeers, coordinator), 'MPC_INVALID_MESSAGE', /not signed/);
    // The parent swaps in its own ephemeral key under the co-signer's signature.
    expectCosignerError(() => acceptCosignerHello(ctx, { ...hs.hello, ephemeralPublicKey: new Uint8Array(randomBytes(32)) }, cosignerPeers, coordinator), 'MPC_INVALID_MESSAGE', /not signed/);
    expectCosignerError(() => acceptCosignerHello(ctx, { ephemeralPublicKey: hs.hello.ephemeralPublicKey }, cosignerPeers, coordinator), 'MPC_INVALID_MESSAGE');
  });

  it('the enclave refuses a coordinator hello not signed by the pinned service key, or made for another handshake', () => {
    const ctx = context();
    const hs = beginCosignerHandshake(ctx, cosigner);
    const accepted = acceptCosignerHello(ctx, hs.hello, cosignerPeers, coordinator);
    // A hostile parent answers itself, with a key of its own.
    const impostor = Ed25519Identity.generate(COORDINATOR_PARTY_ID);
    const forged = acceptCosignerHello(ctx, hs.hello, cosignerPeers, impostor);
    expectCosignerError(() => completeCosignerHandshake(hs, forged.hello, coordinatorPeers), 'MPC_INVALID_MESSAGE', /not signed by the pinned service key/);
    // The coordinator's genuine answer to another hello of the same session (the parent opened twice).
    const hs2 = beginCosignerHandshake(ctx, cosigner);
    const other = acceptCosignerHello(ctx, hs2.hello, cosignerPeers, coordinator);
    expectCosignerError(() => completeCosignerHandshake(hs, other.hello, coordinatorPeers), 'MPC_INVALID_MESSAGE', /for this session, work item and handshake/);
    expectCosignerError(() => completeCosignerHandshake(hs, { ...accepted.hello, ephemeralPublicKey: new Uint8Array(randomBytes(32)) }, coordinatorPeers), 'MPC_INVALID_MESSAGE');
    const s = completeCosignerHandshake(hs, accepted.hello, coordinatorPeers);
    expect(accepted.channel.open(s.seal(message(ctx, cosigner, 1))).round).to.equal(1);
  });

  it('a low-order ephemeral key is refused (RFC 7748 §6.1: the all-zero shared secret)', () => {
    const ctx = context();
    const hs = beginCosignerHandshake(ctx, cosigner);
    const accepted = acceptCosignerHello(ctx, hs.hello, cosignerPeers, coordinator);
    // As if the signer signed a low-order point (only a compromised service key could): the verifier
    // below accepts any signature, so the key agreement itself must refuse it.
    for (const lowOrder of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
      expectCosignerError(() => completeCosignerHandshake(hs, { ...accepted.hello, ephemeralPublicKey: lowOrder }, { verify: () => true }), 'MPC_INVALID_MESSAGE', /low-order|X25519/);
    }
  });

  it('a closed channel refuses everything; one session\'s channel refuses another session\'s message', () => {
    const { ctx, s, c } = pair();
    const f: MpcFrame = s.seal(message(ctx, cosigner, 1));
    expectCosignerError(() => s.seal(message(context(), cosigner, 1)), 'MPC_STATE', /another session/);
    c.close();
    expectCosignerError(() => c.open(f), 'MPC_STATE', /closed/);
    expectCosignerError(() => c.seal(message(ctx, coordinator, 1)), 'MPC_STATE', /closed/);
  });

  it('property: any mutation of a frame (bytes, sequence number, session) or junk JSON is a typed refusal, never another message', () => {
    const { ctx, s, c } = pair();
    const f = s.seal(message(ctx, cosigner, 1));
    const j = frameToJson(f);
    const typed = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        if (!isCosignerError(e)) throw e;
        return;
      }
      throw new Error('accepted');
    };
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: f.ciphertext.length + 8 }), fc.nat({ max: 2000 }), (bytes, seq) => {
      fc.pre(!(seq === 0 && Buffer.from(bytes).equals(Buffer.from(f.ciphertext))));
      typed(() => c.open({ sessionId: f.sessionId, seq, ciphertext: bytes }));
    }), { numRuns: 300, seed: 0x9_2026 });
    fc.assert(fc.property(fc.nat({ max: f.ciphertext.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
      const bad = new Uint8Array(f.ciphertext);
      bad[i]! ^= x;
      typed(() => c.open({ ...f, ciphertext: bad }));
    }), { numRuns: 300, seed: 0x9_2027 });
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      typed(() => frameFromJson(v));
      typed(() => helloFromJson(v));
      typed(() => c.open(v));
    }), { numRuns: 300, seed: 0x9_2028 });
    fc.assert(fc.property(fc.dictionary(fc.constantFrom('sessionId', 'seq', 'ciphertext', 'extra'), fc.oneof(fc.string(), fc.integer(), fc.constant(j.ciphertext), fc.constant(j.sessionId))), (v) => {
      try {
        const parsed = frameFromJson({ ...j, ...v });
        if (!(parsed.seq === 0 && Buffer.from(parsed.ciphertext).equals(Buffer.from(f.ciphertext)) && Buffer.from(parsed.sessionId).equals(Buffer.from(f.sessionId)))) typed(() => c.open(parsed));
      } catch (e) {
        if (!isCosignerError(e)) throw e;
      }
    }), { numRuns: 300, seed: 0x9_2029 });
    // Nothing above advanced the channel: the genuine frame still opens.
    expect(c.open(f).round).to.equal(1);
  });
});
