// The end-to-end channel for one MPC session between the coordinator's MPC party and the enclave
// (DESIGN.md "Coordinator ↔ co-signer": MPC messages are authenticated and encrypted end to end).
// The parent and the coordinator's HTTP relay carry the frames; they may drop them, but every
// frame they alter, replay, reorder, move to another session or read is refused or unreadable.
//
// Handshake, riding on the two calls the parent makes anyway (the opening request and the first
// MpcStep), so it costs no extra flight:
//   co-signer → coordinator: hello_S = (E_S, Sig_S(H(hello-S ‖ ctx ‖ E_S)))
//   coordinator → co-signer: hello_C = (E_C, Sig_C(H(hello-C ‖ ctx ‖ E_S ‖ E_C)))
// with E_S, E_C fresh X25519 keys of this session only, Sig_S the enclave's identity key (bound by
// its attestation at pairing), Sig_C the coordinator's service key (pinned from the pairing token),
// and ctx = (session id, work item id, both identity keys). The coordinator signs the co-signer's
// ephemeral key too, so each side knows the other saw its half. Keys (RFC 7748 X25519; RFC 5869
// HKDF-SHA256, salt = session id, info = H(keys ‖ ctx ‖ E_S ‖ E_C)) are 32 bytes per direction;
// they exist only in memory for the session's life (forward secrecy: the identity keys sign, they
// never decrypt).
//
// Frames: AES-256-GCM (NIST SP 800-38D) with the 96-bit nonce = the frame's sequence number in its
// direction, and associated data = (domain, session id, direction, sequence number). The receiver
// takes only the next sequence number: a replayed, reordered or skipped frame is refused, and a
// key is never used with the same nonce twice. The plaintext is the SignedMpcMessage as before —
// the receiver still checks its sender signature (authenticated-message.ts) before the engine sees it.
import { createCipheriv, createDecipheriv, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';
import { CosignerError, isCosignerError } from '../errors.js';
import { concatBytes, equalBytes, fromHex, toHex, wipe } from '../bytes.js';
import { decodeCbor, encodeCbor } from '../cbor.js';
import * as s from '../schema.js';
import { Transcript } from '../mpc/transcript.js';
import { MAX_PAYLOAD_BYTES, SignedMpcMessageSchema, type MessageSigner, type PeerVerifier, type SignedMpcMessage } from '../mpc/authenticated-message.js';
import { checkEphemeralKey, generateEphemeralKey, EPHEMERAL_KEY_BYTES } from '../mpc/frost/share-encryption.js';
import { COORDINATOR_PARTY_ID, COSIGNER_PARTY_ID } from './sign-item.js';

const DOMAIN = 'nitro-cosigner/mpc-channel/v1';
const TAG_BYTES = 16;
/** Largest frame ciphertext: the largest signed message (payload + envelope) plus the tag. */
export const MAX_FRAME_CIPHERTEXT_BYTES = MAX_PAYLOAD_BYTES + 4096;

export interface ChannelContext {
  sessionId: Uint8Array;
  /** The work item that named the session: both sides know it independently. */
  workItemId: string;
  /** Raw Ed25519 public keys: the enclave's attested identity and the coordinator's service key. */
  cosignerIdentity: Uint8Array;
  coordinatorIdentity: Uint8Array;
}

export interface MpcHello {
  ephemeralPublicKey: Uint8Array;
  signature: Uint8Array;
}

export interface MpcFrame {
  sessionId: Uint8Array;
  seq: number;
  ciphertext: Uint8Array;
}

export const MpcHelloSchema = s.struct({
  ephemeralPublicKey: s.bytes({ len: EPHEMERAL_KEY_BYTES }),
  signature: s.bytes({ len: 64 }),
});

export const MpcFrameSchema = s.struct({
  sessionId: s.bytes({ len: 32 }),
  seq: s.uint({ max: 1024 }),
  ciphertext: s.bytes({ min: TAG_BYTES, max: MAX_FRAME_CIPHERTEXT_BYTES }),
});

function withContext(t: Transcript, ctx: ChannelContext): Transcript {
  return t.appendText('work-item', ctx.workItemId).appendBytes('cosigner-identity', ctx.cosignerIdentity).appendBytes('coordinator-identity', ctx.coordinatorIdentity);
}

function cosignerHelloDigest(ctx: ChannelContext, eS: Uint8Array): Uint8Array {
  return withContext(new Transcript(`${DOMAIN}/hello-cosigner`, ctx.sessionId), ctx).appendBytes('cosigner-ephemeral', eS).challengeBytes('hello');
}

function coordinatorHelloDigest(ctx: ChannelContext, eS: Uint8Array, eC: Uint8Array): Uint8Array {
  return withContext(new Transcript(`${DOMAIN}/hello-coordinator`, ctx.sessionId), ctx)
    .appendBytes('cosigner-ephemeral', eS).appendBytes('coordinator-ephemeral', eC).challengeBytes('hello');
}

function checkContext(ctx: ChannelContext): void {
  if (ctx.sessionId.length !== 32 || ctx.cosignerIdentity.length !== 32 || ctx.coordinatorIdentity.length !== 32 || ctx.workItemId.length === 0) {
    throw new CosignerError('MPC_STATE', 'an MPC channel needs a 32-byte session id, both 32-byte identity keys and the work item id');
  }
}

function parseHello(v: unknown, who: string): MpcHello {
  try {
    return s.parse(MpcHelloSchema, v, `${who} hello`);
  } catch (e) {
    if (isCosignerError(e, 'SCHEMA_VIOLATION')) throw new CosignerError('MPC_INVALID_MESSAGE', e.message);
    throw e;
  }
}

/** The co-signer's half, kept until the coordinator's hello arrives. */
export interface PendingHandshake {
  readonly ctx: ChannelContext;
  readonly hello: MpcHello;
  readonly privateKey: KeyObject;
}

/** The enclave opens the handshake: a fresh ephemeral key, signed with its identity (party 2). */
export function beginCosignerHandshake(ctx: ChannelContext, identity: MessageSigner): PendingHandshake {
  checkContext(ctx);
  if (identity.partyId !== COSIGNER_PARTY_ID) throw new CosignerError('MPC_STATE', 'the co-signer side of the channel signs as the co-signer party');
  const e = generateEphemeralKey();
  return { ctx, hello: { ephemeralPublicKey: e.publicKey, signature: identity.sign(cosignerHelloDigest(ctx, e.publicKey)) }, privateKey: e.privateKey };
}

/**
 * The coordinator answers a co-signer's hello: checks it is signed by that co-signer's attested
 * identity for this session and work item, and returns its own hello and the channel.
 */
export function acceptCosignerHello(ctx: ChannelContext, delivered: unknown, cosigner: PeerVerifier, identity: MessageSigner): { hello: MpcHello; peerHello: MpcHello; channel: MpcChannel } {
  checkContext(ctx);
  if (identity.partyId !== COORDINATOR_PARTY_ID) throw new CosignerError('MPC_STATE', 'the coordinator side of the channel signs as the coordinator party');
  const peer = parseHello(delivered, 'the co-signer\'s');
  if (!safeVerify(cosigner, COSIGNER_PARTY_ID, cosignerHelloDigest(ctx, peer.ephemeralPublicKey), peer.signature)) {
    throw new CosignerError('MPC_INVALID_MESSAGE', 'the co-signer\'s channel hello is not signed by its paired identity for this session and work item');
  }
  const e = generateEphemeralKey();
  const hello = { ephemeralPublicKey: e.publicKey, signature: identity.sign(coordinatorHelloDigest(ctx, peer.ephemeralPublicKey, e.publicKey)) };
  const keys = deriveKeys(ctx, e.privateKey, peer.ephemeralPublicKey, peer.ephemeralPublicKey, e.publicKey);
  return { hello, peerHello: peer, channel: new MpcChannel(ctx.sessionId, 'coordinator', keys.toCosigner, keys.toCoordinator) };
}

/** The enclave completes the handshake with the coordinator's hello, checked under the pinned service key. */
export function completeCosignerHandshake(pending: PendingHandshake, delivered: unknown, coordinator: PeerVerifier): MpcChannel {
  const peer = parseHello(delivered, 'the coordinator\'s');
  const { ctx, hello } = pending;
  if (!safeVerify(coordinator, COORDINATOR_PARTY_ID, coordinatorHelloDigest(ctx, hello.ephemeralPublicKey, peer.ephemeralPublicKey), peer.signature)) {
    throw new CosignerError('MPC_INVALID_MESSAGE', 'the coordinator\'s channel hello is not signed by the pinned service key for this session, work item and handshake');
  }
  const keys = deriveKeys(ctx, pending.privateKey, peer.ephemeralPublicKey, hello.ephemeralPublicKey, peer.ephemeralPublicKey);
  return new MpcChannel(ctx.sessionId, 'cosigner', keys.toCoordinator, keys.toCosigner);
}

function safeVerify(peers: PeerVerifier, party: number, digest: Uint8Array, signature: Uint8Array): boolean {
  try {
    return peers.verify(party, digest, signature) === true;
  } catch {
    return false;
  }
}

function deriveKeys(ctx: ChannelContext, own: KeyObject, peerPublic: Uint8Array, eS: Uint8Array, eC: Uint8Array): { toCoordinator: Buffer; toCosigner: Buffer } {
  let shared: Buffer;
  try {
    // OpenSSL refuses a low-order peer key (an all-zero shared secret), RFC 7748 §6.1.
    shared = diffieHellman({ privateKey: own, publicKey: checkEphemeralKey(peerPublic, 'channel ephemeral key') });
  } catch (e) {
    if (e instanceof CosignerError) throw e;
    throw new CosignerError('MPC_INVALID_MESSAGE', 'channel ephemeral key: X25519 key agreement failed (low-order key?)');
  }
  const info = withContext(new Transcript(`${DOMAIN}/keys`, ctx.sessionId), ctx).appendBytes('cosigner-ephemeral', eS).appendBytes('coordinator-ephemeral', eC).challengeBytes('info');
  const okm = Buffer.from(hkdfSync('sha256', shared, ctx.sessionId, info, 64));
  wipe(shared);
  const keys = { toCoordinator: Buffer.from(okm.subarray(0, 32)), toCosigner: Buffer.from(okm.subarray(32)) };
  wipe(okm);
  return keys;
}

type Side = 'cosigner' | 'coordinator';
const DIRECTION: Record<Side, number> = { cosigner: 0x01, coordinator: 0x02 }; // the sender's side

function nonce(seq: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUInt32BE(seq, 8);
  return n;
}

function associatedData(sessionId: Uint8Array, sender: Side, seq: number): Uint8Array {
  const tail = Buffer.alloc(5);
  tail.writeUInt8(DIRECTION[sender], 0);
  tail.writeUInt32BE(seq, 1);
  return concatBytes(new TextEncoder().encode(DOMAIN), sessionId, tail);
}

/** One session's two directions. Not safe to share between sessions; one per Live session. */
export class MpcChannel {
  #sendKey: Buffer;
  #receiveKey: Buffer;
  #sent = 0;
  #received = 0;

  constructor(readonly sessionId: Uint8Array, readonly side: Side, sendKey: Buffer, receiveKey: Buffer) {
    this.#sendKey = sendKey;
    this.#receiveKey = receiveKey;
  }

  private get peerSide(): Side {
    return this.side === 'cosigner' ? 'coordinator' : 'cosigner';
  }

  seal(m: SignedMpcMessage): MpcFrame {
    if (this.#sendKey.length === 0) throw new CosignerError('MPC_STATE', 'the MPC channel is closed');
    if (!equalBytes(m.sessionId, this.sessionId)) throw new CosignerError('MPC_STATE', 'a message of another session cannot go on this channel');
    const seq = this.#sent++;
    const c = createCipheriv('aes-256-gcm', this.#sendKey, nonce(seq));
    c.setAAD(associatedData(this.sessionId, this.side, seq));
    const ciphertext = concatBytes(c.update(encodeCbor(m)), c.final(), c.getAuthTag());
    return { sessionId: new Uint8Array(this.sessionId), seq, ciphertext };
  }

  /** The next frame from the peer, decrypted; anything else is MPC_INVALID_MESSAGE (MPC_SESSION_MISMATCH for another session). */
  open(delivered: unknown): SignedMpcMessage {
    if (this.#receiveKey.length === 0) throw new CosignerError('MPC_STATE', 'the MPC channel is closed');
    let f: MpcFrame;
    try {
      f = s.parse(MpcFrameSchema, delivered, 'MPC frame');
    } catch (e) {
      if (isCosignerError(e, 'SCHEMA_VIOLATION')) throw new CosignerError('MPC_INVALID_MESSAGE', e.message);
      throw e;
    }
    if (!equalBytes(f.sessionId, this.sessionId)) throw new CosignerError('MPC_SESSION_MISMATCH', 'the frame belongs to another session');
    if (f.seq !== this.#received) {
      throw new CosignerError('MPC_INVALID_MESSAGE', f.seq < this.#received ? `frame ${f.seq} was received before (replayed)` : `frame ${f.seq} arrived before frame ${this.#received} (reordered or dropped)`);
    }
    let plain: Buffer;
    try {
      const d = createDecipheriv('aes-256-gcm', this.#receiveKey, nonce(f.seq));
      d.setAAD(associatedData(this.sessionId, this.peerSide, f.seq));
      d.setAuthTag(f.ciphertext.subarray(f.ciphertext.length - TAG_BYTES));
      plain = Buffer.concat([d.update(f.ciphertext.subarray(0, f.ciphertext.length - TAG_BYTES)), d.final()]);
    } catch {
      throw new CosignerError('MPC_INVALID_MESSAGE', `frame ${f.seq} does not decrypt under this session's channel key (altered, or from another session or handshake)`);
    }
    this.#received++;
    try {
      return s.parse(SignedMpcMessageSchema, decodeCbor(plain), 'MPC frame content');
    } catch {
      throw new CosignerError('MPC_INVALID_MESSAGE', `frame ${f.seq} does not hold a signed MPC message`);
    }
  }

  /** Wipes both keys; the channel refuses everything afterwards. */
  close(): void {
    wipe(this.#sendKey);
    wipe(this.#receiveKey);
    this.#sendKey = Buffer.alloc(0);
    this.#receiveKey = Buffer.alloc(0);
  }
}

// --- JSON forms for the co-signer API and the enclave RPC (hex session id, base64 bytes) ---

export interface MpcHelloJson {
  ephemeralPublicKey: string;
  signature: string;
}

export interface MpcFrameJson {
  sessionId: string;
  seq: number;
  ciphertext: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const HelloJsonSchema = s.struct({ ephemeralPublicKey: s.text({ max: 64, pattern: BASE64 }), signature: s.text({ max: 128, pattern: BASE64 }) });
const FrameJsonSchema = s.struct({
  sessionId: s.text({ pattern: /^[0-9a-f]{64}$/ }),
  seq: s.uint({ max: 1024 }),
  ciphertext: s.text({ max: Math.ceil(MAX_FRAME_CIPHERTEXT_BYTES / 3) * 4, pattern: BASE64 }),
});

function b64(t: string, path: string): Uint8Array {
  const b = Buffer.from(t, 'base64');
  if (b.toString('base64') !== t) throw new CosignerError('SCHEMA_VIOLATION', `${path}: not canonical base64`);
  return new Uint8Array(b);
}

export function helloToJson(h: MpcHello): MpcHelloJson {
  return { ephemeralPublicKey: Buffer.from(h.ephemeralPublicKey).toString('base64'), signature: Buffer.from(h.signature).toString('base64') };
}

/** Throws SCHEMA_VIOLATION naming the field. */
export function helloFromJson(v: unknown, path = 'hello'): MpcHello {
  const j = s.parse(HelloJsonSchema, v, path);
  return s.parse(MpcHelloSchema, { ephemeralPublicKey: b64(j.ephemeralPublicKey, `${path}.ephemeralPublicKey`), signature: b64(j.signature, `${path}.signature`) }, path);
}

export function frameToJson(f: MpcFrame): MpcFrameJson {
  return { sessionId: toHex(f.sessionId), seq: f.seq, ciphertext: Buffer.from(f.ciphertext).toString('base64') };
}

/** Throws SCHEMA_VIOLATION naming the field. */
export function frameFromJson(v: unknown, path = 'frame'): MpcFrame {
  const j = s.parse(FrameJsonSchema, v, path);
  return s.parse(MpcFrameSchema, { sessionId: fromHex(j.sessionId), seq: j.seq, ciphertext: b64(j.ciphertext, `${path}.ciphertext`) }, path);
}

export function sameHello(a: MpcHello, b: MpcHello): boolean {
  return equalBytes(a.ephemeralPublicKey, b.ephemeralPublicKey) && equalBytes(a.signature, b.signature);
}
