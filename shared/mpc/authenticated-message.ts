// Sender authentication for MPC messages (issue 7 item 9). Between the parties sit the parent and
// the coordinator's relays, which can drop, reorder, replay and rewrite anything. A party therefore
// accepts protocol messages ONLY as an `AuthenticatedMessage`, and the only way to get one is
// `openMpcMessage`, which checks the sender's signature over the whole envelope — protocol, session
// id, sender, recipient, round and the exact payload bytes — before the payload is even decoded.
// A relay that replays an old valid message (say P2's c3) into a new session must either leave its
// session id alone (the party refuses it: MPC_SESSION_MISMATCH) or change it (the signature fails:
// MPC_INVALID_MESSAGE); neither reaches P1's decryption, so neither can lock P1's key.
//
// The brand is checked at run time too (a WeakSet of the objects openMpcMessage made), so a cast
// `as AuthenticatedMessage` does not get a forged message in: forgetting to authenticate is an
// error on the first message, not a silent hole.
//
// Who holds which key is the transport's business (the enclave's attested identity, the
// coordinator's registered key); the engine fixes the signed bytes, the wire format and the check.
// `MessageSigner` / `PeerVerifier` are the seams; `Ed25519Identity` / `ed25519Peers` implement them
// with node:crypto (OpenSSL) Ed25519 (RFC 8032).
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import * as s from '../schema.js';
import { CosignerError, isCosignerError } from '../errors.js';
import { decodeCbor, encodeCbor } from '../cbor.js';
import { equalBytes } from '../bytes.js';
import { Transcript } from './transcript.js';
import { PartyIdSchema, SESSION_ID_BYTES, type MpcMessage } from './party.js';

const DOMAIN = 'nitro-cosigner/mpc/authenticated-envelope/v1';
/** Largest encoded payload accepted (key generation's round 3, with 128-repetition proofs, is ~200 KiB). */
export const MAX_PAYLOAD_BYTES = 1 << 20;
export const ENVELOPE_SIGNATURE_BYTES = 64;

/** What crosses the wire: the envelope, the payload as the exact CBOR bytes that were signed, the signature. */
export interface SignedMpcMessage {
  protocol: string;
  sessionId: Uint8Array;
  from: number;
  to: number;
  round: number;
  payload: Uint8Array;
  signature: Uint8Array;
}

export const SignedMpcMessageSchema = s.struct({
  protocol: s.text({ max: 64 }),
  sessionId: s.bytes({ len: SESSION_ID_BYTES }),
  from: PartyIdSchema,
  to: PartyIdSchema,
  round: s.uint({ max: 64 }),
  payload: s.bytes({ max: MAX_PAYLOAD_BYTES }),
  signature: s.bytes({ len: ENVELOPE_SIGNATURE_BYTES }),
});

const EnvelopeHeaderSchema = s.struct({
  protocol: SignedMpcMessageSchema.fields.protocol,
  sessionId: SignedMpcMessageSchema.fields.sessionId,
  from: PartyIdSchema,
  to: PartyIdSchema,
  round: SignedMpcMessageSchema.fields.round,
});

declare const authenticated: unique symbol;
/** An MpcMessage whose sender, session, recipient, round and payload were verified by openMpcMessage. */
export type AuthenticatedMessage = Readonly<MpcMessage> & { readonly [authenticated]: true };

const made = new WeakSet<object>();

/** True only for objects openMpcMessage returned (not for copies, casts or look-alikes). */
export function isAuthenticated(m: unknown): m is AuthenticatedMessage {
  return typeof m === 'object' && m !== null && made.has(m);
}

/** Every party's entry point calls this first. */
export function requireAuthenticated(m: unknown, protocol: string): asserts m is AuthenticatedMessage {
  if (!isAuthenticated(m)) {
    throw new CosignerError('MPC_INVALID_MESSAGE', `${protocol.slice(0, 64)}: message was not authenticated (use openMpcMessage on what the transport delivered)`);
  }
}

/** The 64 bytes the sender signs: a domain-separated, length-prefixed transcript of the whole envelope. */
export function envelopeDigest(m: Omit<SignedMpcMessage, 'signature'>): Uint8Array {
  return new Transcript(DOMAIN, m.sessionId)
    .appendText('protocol', m.protocol)
    .appendBigint('from', BigInt(m.from))
    .appendBigint('to', BigInt(m.to))
    .appendBigint('round', BigInt(m.round))
    .appendBytes('payload', m.payload)
    .challengeBytes('signed-envelope');
}

export interface MessageSigner {
  readonly partyId: number;
  /** A signature over `digest` that the peers' PeerVerifier accepts for this party. */
  sign(digest: Uint8Array): Uint8Array;
}

export interface PeerVerifier {
  /** Whether `signature` over `digest` is from `partyId`; false for an unknown party. Must not throw. */
  verify(partyId: number, digest: Uint8Array, signature: Uint8Array): boolean;
}

/** Sign an outgoing message as `signer` (which must be its sender). */
export function sealMpcMessage(m: MpcMessage, signer: MessageSigner): SignedMpcMessage {
  if (m.from !== signer.partyId) throw new CosignerError('MPC_STATE', `message from party ${m.from} cannot be signed as party ${signer.partyId}`);
  // The envelope is checked before anything is copied: `new Uint8Array(n)` of a numeric session id
  // would allocate n bytes (a fuzzed 548502625 took seconds), and a bad field must not be signed.
  const { payload, ...header } = m;
  let checked: Omit<SignedMpcMessage, 'payload' | 'signature'>;
  try {
    checked = s.parse(EnvelopeHeaderSchema, header);
  } catch (e) {
    if (isCosignerError(e, 'SCHEMA_VIOLATION')) throw new CosignerError('MPC_STATE', `cannot sign a malformed envelope: ${e.message}`);
    throw e;
  }
  const body = { ...checked, sessionId: new Uint8Array(checked.sessionId), payload: encodeCbor(payload) };
  return { ...body, signature: signer.sign(envelopeDigest(body)) };
}

/**
 * Verify a message as delivered by the transport (decoded from the wire but otherwise untrusted)
 * and return it as an AuthenticatedMessage: well-formed, addressed to `self`, of `sessionId`, and
 * signed by the party it names as sender. Throws MPC_INVALID_MESSAGE (MPC_SESSION_MISMATCH for
 * another session) without decoding the payload of anything that fails.
 */
export function openMpcMessage(
  delivered: unknown,
  expected: { self: number; sessionId: Uint8Array; peers: PeerVerifier },
): AuthenticatedMessage {
  let m: SignedMpcMessage;
  try {
    m = s.parse(SignedMpcMessageSchema, delivered);
  } catch (e) {
    if (isCosignerError(e, 'SCHEMA_VIOLATION')) throw new CosignerError('MPC_INVALID_MESSAGE', `authenticated envelope: ${e.message}`);
    throw e;
  }
  if (m.to !== expected.self) throw new CosignerError('MPC_INVALID_MESSAGE', `message addressed to party ${m.to}, not ${expected.self}`);
  if (!equalBytes(m.sessionId, expected.sessionId)) throw new CosignerError('MPC_SESSION_MISMATCH', 'message belongs to another session');
  let ok = false;
  try {
    ok = expected.peers.verify(m.from, envelopeDigest(m), m.signature) === true;
  } catch {
    ok = false;
  }
  if (!ok) throw new CosignerError('MPC_INVALID_MESSAGE', `message is not signed by party ${m.from} for this session, round and payload`);
  let payload: unknown;
  try {
    payload = decodeCbor(m.payload);
  } catch {
    throw new CosignerError('MPC_INVALID_MESSAGE', 'authenticated envelope: payload is not CBOR');
  }
  const out = { protocol: m.protocol, sessionId: m.sessionId, from: m.from, to: m.to, round: m.round, payload };
  made.add(out);
  return Object.freeze(out) as unknown as AuthenticatedMessage;
}

// --- Ed25519 (node:crypto / OpenSSL) implementation of the two seams ---

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) throw new CosignerError('CONFIG_INVALID', 'an Ed25519 public key is 32 bytes');
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** A party's message-signing identity: an Ed25519 key pair held in OpenSSL. */
export class Ed25519Identity implements MessageSigner {
  readonly #key: KeyObject;
  readonly publicKey: Uint8Array;

  constructor(readonly partyId: number, privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private') throw new CosignerError('CONFIG_INVALID', 'an Ed25519 private key is needed');
    s.parse(PartyIdSchema, partyId);
    this.#key = privateKey;
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    this.publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  }

  static generate(partyId: number): Ed25519Identity {
    return new Ed25519Identity(partyId, generateKeyPairSync('ed25519').privateKey);
  }

  /** From a PKCS#8 DER private key (e.g. unsealed from the enclave's state). */
  static fromPkcs8(partyId: number, der: Uint8Array): Ed25519Identity {
    return new Ed25519Identity(partyId, createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }));
  }

  sign(digest: Uint8Array): Uint8Array {
    return new Uint8Array(edSign(null, digest, this.#key));
  }

  toJSON(): { type: string; partyId: number } {
    return { type: 'Ed25519Identity', partyId: this.partyId };
  }
}

/** Peers' Ed25519 public keys (party id → 32 raw bytes) as a PeerVerifier. */
export function ed25519Peers(keys: ReadonlyMap<number, Uint8Array>): PeerVerifier {
  const objects = new Map<number, KeyObject>();
  for (const [id, raw] of keys) objects.set(s.parse(PartyIdSchema, id), ed25519PublicKey(raw));
  return {
    verify(partyId, digest, signature) {
      const key = objects.get(partyId);
      if (!key || signature.length !== ENVELOPE_SIGNATURE_BYTES) return false;
      try {
        return edVerify(null, digest, key, signature);
      } catch {
        return false;
      }
    },
  };
}
