// What the enclave keeps sealed (DESIGN.md "Sealed state"). This issue seeds it with the
// enclave's own long-term keys; later issues add key shares, the CCK, paired users, callback
// settings and policy. Presignatures and nonces never live here: a rolled-back blob must not be
// able to make the enclave reuse one.
import { generateKeyPairSync, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import * as s from '../shared/schema.js';
import { encodeCbor, decodeCbor } from '../shared/cbor.js';
import { CosignerError, isCosignerError } from '../shared/errors.js';

export const ENCLAVE_STATE_VERSION = 1;

export const EnclaveStateSchema = s.struct({
  version: s.literal(ENCLAVE_STATE_VERSION),
  createdAt: s.uint(),
  // RSA-2048, PKCS#8 DER: signs callback-request JWTs (RS256), as the Fireblocks co-signer does.
  callbackSigningKey: s.bytes({ min: 1000, max: 1400 }),
  // Ed25519 seed: the enclave's identity for pairing and for authenticating its MPC messages.
  identitySeed: s.bytes({ len: 32 }),
});

export type EnclaveState = s.Infer<typeof EnclaveStateSchema>;

/** Fresh state for a first boot. Every key is made here, inside the enclave. */
export function createInitialState(now = Date.now()): EnclaveState {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  return {
    version: ENCLAVE_STATE_VERSION,
    createdAt: now,
    callbackSigningKey: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' })),
    identitySeed: new Uint8Array(randomBytes(32)),
  };
}

export function encodeState(state: EnclaveState): Uint8Array {
  return encodeCbor(state);
}

/** Parse unsealed bytes; anything unexpected is SEALED_STATE_INVALID (never echoing content). */
export function decodeState(bytes: Uint8Array): EnclaveState {
  try {
    const state = s.parse(EnclaveStateSchema, decodeCbor(bytes));
    createPrivateKey({ key: Buffer.from(state.callbackSigningKey), format: 'der', type: 'pkcs8' });
    return state;
  } catch (e) {
    const why = isCosignerError(e, 'SCHEMA_VIOLATION') ? e.message : 'unparseable contents';
    throw new CosignerError('SEALED_STATE_INVALID', `sealed state decrypted but its contents are invalid (${why})`);
  }
}

/** The public halves, safe to hand to the parent. */
export function publicKeysOf(state: EnclaveState): { callbackSigningKeySpki: Uint8Array; identityPublicKey: Uint8Array } {
  const rsa = createPrivateKey({ key: Buffer.from(state.callbackSigningKey), format: 'der', type: 'pkcs8' });
  const ed = createPrivateKey({
    // PKCS#8 wrapper for a raw Ed25519 seed (RFC 8410 §7).
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(state.identitySeed)]),
    format: 'der',
    type: 'pkcs8',
  });
  const edSpki = createPublicKey(ed).export({ format: 'der', type: 'spki' });
  return {
    callbackSigningKeySpki: new Uint8Array(createPublicKey(rsa).export({ format: 'der', type: 'spki' })),
    identityPublicKey: new Uint8Array(edSpki.subarray(edSpki.length - 32)),
  };
}
