// Confidentiality for the DKG's round-2 secret shares. The transport authenticates MPC messages
// but is not promised to encrypt them, and the parent relaying them is hostile. With t-of-n and
// n ≥ 3 an eavesdropper who sees f_i(j) for all j ≠ i learns every degree-1 polynomial and so the
// group secret; frost-rs requires round-2 packages to travel over a confidential channel.
//
// Each party puts a fresh X25519 key in its (authenticated, echo-checked) round-1 message. The
// share from i to j is sealed with AES-256-GCM under
//   HKDF-SHA256(ikm = X25519(e_i, E_j), salt = session id,
//               info = "nitro-cosigner/frost-dkg/share" ‖ scheme ‖ i ‖ j ‖ round-1 echo hash)
// — one key per direction, per session, bound to the whole round-1 transcript — with the
// envelope fields as associated data. The ephemeral private keys live only in the party object.
import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { CosignerError } from '../../errors.js';
import { concatBytes, wipe } from '../../bytes.js';

export const EPHEMERAL_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface EphemeralKey {
  privateKey: KeyObject;
  publicKey: Uint8Array;
}

export interface ShareContext {
  sessionId: Uint8Array;
  scheme: string;
  from: number;
  to: number;
  /** Hash of the complete round-1 transcript (the DKG's echo value). */
  transcript: Uint8Array;
}

export function generateEphemeralKey(): EphemeralKey {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const x = publicKey.export({ format: 'jwk' }).x!;
  return { privateKey, publicKey: new Uint8Array(Buffer.from(x, 'base64url')) };
}

export function checkEphemeralKey(raw: Uint8Array, what: string): KeyObject {
  if (!(raw instanceof Uint8Array) || raw.length !== EPHEMERAL_KEY_BYTES) throw new CosignerError('MPC_INVALID_MESSAGE', `${what}: expected a 32-byte X25519 key`);
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
  } catch {
    throw new CosignerError('MPC_INVALID_MESSAGE', `${what}: not a valid X25519 key`);
  }
}

function u8(n: number): Uint8Array {
  return Uint8Array.of(n);
}

function directionKey(own: KeyObject, peer: Uint8Array, ctx: ShareContext, what: string): Uint8Array {
  let shared: Buffer;
  try {
    // OpenSSL refuses a low-order peer key (all-zero shared secret), RFC 7748 §6.1.
    shared = diffieHellman({ privateKey: own, publicKey: checkEphemeralKey(peer, what) });
  } catch (e) {
    if (e instanceof CosignerError) throw e;
    throw new CosignerError('MPC_INVALID_MESSAGE', `${what}: X25519 key agreement failed (low-order key?)`);
  }
  const info = concatBytes(new TextEncoder().encode(`nitro-cosigner/frost-dkg/share/${ctx.scheme}`), u8(ctx.from), u8(ctx.to), ctx.transcript);
  const key = new Uint8Array(hkdfSync('sha256', shared, ctx.sessionId, info, 32));
  wipe(shared);
  return key;
}

function aad(ctx: ShareContext): Uint8Array {
  return concatBytes(ctx.sessionId, u8(ctx.from), u8(ctx.to));
}

/** Seal a share from ctx.from to ctx.to: nonce ‖ ciphertext ‖ tag. */
export function sealShare(own: KeyObject, peerPublic: Uint8Array, ctx: ShareContext, plaintext: Uint8Array): Uint8Array {
  const key = directionKey(own, peerPublic, ctx, `party ${ctx.to} ephemeral key`);
  const nonce = randomBytes(NONCE_BYTES);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad(ctx));
  const body = concatBytes(c.update(plaintext), c.final(), c.getAuthTag());
  wipe(key);
  return concatBytes(nonce, body);
}

/** Open a share sealed by ctx.from for ctx.to (us); throws MPC_INVALID_MESSAGE naming the sender. */
export function openShare(own: KeyObject, peerPublic: Uint8Array, ctx: ShareContext, sealed: Uint8Array, plaintextBytes: number): Uint8Array {
  if (!(sealed instanceof Uint8Array) || sealed.length !== NONCE_BYTES + plaintextBytes + TAG_BYTES) {
    throw new CosignerError('MPC_INVALID_MESSAGE', `party ${ctx.from}: sealed share has the wrong length`, { culprit: ctx.from });
  }
  const key = directionKey(own, peerPublic, ctx, `party ${ctx.from} ephemeral key`);
  try {
    const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES));
    d.setAAD(aad(ctx));
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return new Uint8Array(concatBytes(d.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), d.final()));
  } catch {
    throw new CosignerError('MPC_INVALID_MESSAGE', `party ${ctx.from}: sealed share does not decrypt (tampered or wrong key)`, { culprit: ctx.from });
  } finally {
    wipe(key);
  }
}
