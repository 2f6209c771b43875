// What the enclave keeps sealed (DESIGN.md "Sealed state", "State versions"): its own long-term
// keys, the Configuration Change Key once the first pairing made it, its pairings (with callback
// settings, API user keys and roles), its MPC key shares, and per workspace the enclave policy and the transfers counted against its windows. Presignatures and nonces never live here:
// a rolled-back blob must not be able to make the enclave reuse one.
//
// `stateVersion` grows by one with every change that is sealed (state-changes.ts); the enclave
// reports it, signed, with every poll, so a parent that restores an older file is seen.
import { generateKeyPairSync, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import * as s from '../shared/schema.js';
import { encodeCbor, decodeCbor } from '../shared/cbor.js';
import { CosignerError, isCosignerError } from '../shared/errors.js';
import { EnclavePolicySchema } from '../shared/cosigner-api/enclave-policy.js';

/** Format of the state record. 1 = the foundation's (no state version, no CCK, no pairings). */
export const ENCLAVE_STATE_VERSION = 2;

const HEX64 = /^[0-9a-f]{64}$/;
/** Window counters kept; past this the enclave refuses transfers under a window limit (fail closed). */
export const MAX_SEALED_SPENDS = 20_000;
const ID = /^[A-Za-z0-9._:-]+$/;

export const CallbackSettingsSchema = s.struct({
  url: s.text({ min: 8, max: 2048 }),
  /** DER SPKI of the handler's RSA (≥ 2048) key. */
  handlerPublicKeySpki: s.bytes({ min: 200, max: 1200 }),
  /** http:// accepted (local use only). */
  allowPlainHttp: s.bool(),
});
export type CallbackSettings = s.Infer<typeof CallbackSettingsSchema>;

export const PairingSchema = s.struct({
  /** The pairing token's id: one pairing per token. */
  tokenId: s.text({ min: 1, max: 64, pattern: /^[A-Za-z0-9-]+$/ }),
  coordinatorUrl: s.text({ min: 1, max: 2048 }),
  /** Pinned from the pairing token itself, never from the parent. */
  serviceKeySha256: s.text({ pattern: HEX64 }),
  /** The service key's DER SPKI (the parent fetched it; its SHA-256 is the pinned value). */
  serviceKeySpki: s.bytes({ min: 32, max: 200 }),
  /** 'pending': keys bound and sealed, the coordinator not yet answered; 'active': paired. */
  status: s.text({ oneOf: ['pending', 'active'] }),
  cosignerId: s.nullable(s.text({ min: 1, max: 128, pattern: ID })),
  workspaceId: s.nullable(s.text({ min: 1, max: 128, pattern: ID })),
  userId: s.nullable(s.text({ min: 1, max: 128, pattern: ID })),
  createdAt: s.uint(),
  /**
   * The customer's callback handler for this API user (DESIGN.md "Callback handler"), set at
   * pairing: where the parent POSTs, and the handler's RSA public key the enclave verifies its
   * answers with. Absent: requests are approved, and the log says so.
   */
  callback: s.optional(CallbackSettingsSchema),
  /**
   * The API user's RSA public key (DER SPKI), from the coordinator-signed pairing record: the key
   * that must sign a change of `callback`. Absent only in pairings sealed before records were signed.
   */
  userPublicKeySpki: s.optional(s.bytes({ min: 200, max: 1100 })),
  /** How many callback changes were made since pairing (absent: none); the next must be this + 1. */
  callbackVersion: s.optional(s.uint({ max: 1_000_000 })),
  /** The API user's API key (its request JWTs' `sub`) and role, from the signed pairing record. */
  apiKey: s.optional(s.text({ min: 1, max: 128, pattern: ID })),
  role: s.optional(s.text({ min: 1, max: 64, pattern: /^[A-Z_]+$/ })),
});

export const KEY_ALGORITHMS = ['MPC_ECDSA_SECP256K1', 'MPC_EDDSA_ED25519', 'MPC_BIP340_SECP256K1'] as const;

export const KeyShareEntrySchema = s.struct({
  workspaceId: s.text({ min: 1, max: 128, pattern: ID }),
  algorithm: s.text({ oneOf: KEY_ALGORITHMS }),
  /** Public key and chain code, hex, so that status and checks need not decode the share. */
  publicKey: s.text({ max: 200, pattern: /^[0-9a-f]+$/ }),
  share: s.bytes({ min: 1, max: 16 * 1024 }),
  createdAt: s.uint(),
  /** The key generation's session id (hex), so a re-delivered KEYGEN item is recognised as done. */
  sessionId: s.optional(s.text({ pattern: /^[0-9a-f]{64}$/ })),
  /**
   * The coordinator it was made with (its service key's SHA-256): the share serves that
   * coordinator's work only, never a pairing the parent made with another key.
   */
  serviceKeySha256: s.optional(s.text({ pattern: HEX64 })),
});

/** A workspace's enclave policy, set by a CCK-approved SET_ENCLAVE_POLICY change. */
export const SealedPolicySchema = s.struct({
  serviceKeySha256: s.text({ pattern: HEX64 }),
  workspaceId: s.text({ min: 1, max: 128, pattern: ID }),
  policy: EnclavePolicySchema,
  /** The configuration change that set it, and when. */
  changeId: s.text({ min: 1, max: 64, pattern: ID }),
  /** SHA-256 of the CCK-signed approval bytes: a re-delivered item is approved again only if identical. */
  approvalSha256: s.text({ pattern: HEX64 }),
  setAt: s.uint(),
});

/**
 * A transfer counted against a rolling window: sealed before the enclave contributes its signature,
 * so a restart (or a rolled-back parent, which the state version exposes) cannot reset a window.
 */
export const SpendSchema = s.struct({
  serviceKeySha256: s.text({ pattern: HEX64 }),
  workspaceId: s.text({ min: 1, max: 128, pattern: ID }),
  assetId: s.text({ min: 1, max: 64 }),
  amount: s.text({ min: 1, max: 78, pattern: /^[0-9]+$/ }),
  at: s.uint(),
  /**
   * SHA-256 of chain id and unsigned transaction: the same transaction signed again (a re-issued
   * session) is counted once, as it can be broadcast once (one nonce); any other transfer counts.
   */
  transferDigest: s.text({ pattern: HEX64 }),
});

export const EnclaveStateSchema = s.struct({
  version: s.literal(ENCLAVE_STATE_VERSION),
  createdAt: s.uint(),
  /** Monotonic: +1 with every sealed change. */
  stateVersion: s.uint(),
  // RSA-2048, PKCS#8 DER: signs callback-request JWTs (RS256), as the Fireblocks co-signer does.
  callbackSigningKey: s.bytes({ min: 1000, max: 1400 }),
  // Ed25519 seed: the enclave's identity for pairing and for authenticating its MPC messages.
  identitySeed: s.bytes({ len: 32 }),
  // Ed25519 seed of the Configuration Change Key; made by the first pairing.
  cckSeed: s.nullable(s.bytes({ len: 32 })),
  pairings: s.array(PairingSchema, { max: 256 }),
  /** The co-signer's MPC key shares (the engine's encodings), one per workspace and algorithm. */
  keyShares: s.array(KeyShareEntrySchema, { max: 768 }),
  policies: s.optional(s.array(SealedPolicySchema, { max: 256 })),
  spends: s.optional(s.array(SpendSchema, { max: MAX_SEALED_SPENDS })),
});

const StateV1Schema = s.struct({
  version: s.literal(1),
  createdAt: s.uint(),
  callbackSigningKey: s.bytes({ min: 1000, max: 1400 }),
  identitySeed: s.bytes({ len: 32 }),
});

export type EnclaveState = s.Infer<typeof EnclaveStateSchema>;
export type Pairing = s.Infer<typeof PairingSchema>;
export type KeyShareEntry = s.Infer<typeof KeyShareEntrySchema>;
export type SealedPolicy = s.Infer<typeof SealedPolicySchema>;
export type Spend = s.Infer<typeof SpendSchema>;

/** Fresh state for a first boot. Every key is made here, inside the enclave. */
export function createInitialState(now = Date.now()): EnclaveState {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  return {
    version: ENCLAVE_STATE_VERSION,
    createdAt: now,
    stateVersion: 1,
    callbackSigningKey: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' })),
    identitySeed: new Uint8Array(randomBytes(32)),
    cckSeed: null,
    pairings: [],
    keyShares: [],
  };
}

/** Rules across entries: one pairing per token, one share per (coordinator, workspace, algorithm). */
function checkConsistency(state: EnclaveState): void {
  const tokens = new Set(state.pairings.map((p) => p.tokenId));
  if (tokens.size !== state.pairings.length) throw new CosignerError('SCHEMA_VIOLATION', 'two pairings with one token');
  const keys = new Set(state.keyShares.map((k) => `${k.serviceKeySha256 ?? ''}/${k.workspaceId}/${k.algorithm}`));
  if (keys.size !== state.keyShares.length) throw new CosignerError('SCHEMA_VIOLATION', 'two key shares for one coordinator, workspace and algorithm');
}

/** Refuses (before anything is sealed) a state that decodeState would refuse. */
export function encodeState(state: EnclaveState): Uint8Array {
  const checked = s.parse(EnclaveStateSchema, state);
  checkConsistency(checked);
  return encodeCbor(checked);
}

/**
 * Parse unsealed bytes; anything unexpected is SEALED_STATE_INVALID (never echoing content). A
 * format-1 record reads as state version 1 with no CCK and no pairings (what it held).
 */
export function decodeState(bytes: Uint8Array): EnclaveState {
  try {
    const raw = decodeCbor(bytes) as { version?: unknown };
    const state: EnclaveState =
      raw !== null && typeof raw === 'object' && raw.version === 1
        ? { ...s.parse(StateV1Schema, raw), version: ENCLAVE_STATE_VERSION, stateVersion: 1, cckSeed: null, pairings: [], keyShares: [] }
        : s.parse(EnclaveStateSchema, raw);
    createPrivateKey({ key: Buffer.from(state.callbackSigningKey), format: 'der', type: 'pkcs8' });
    checkConsistency(state);
    return state;
  } catch (e) {
    const why = isCosignerError(e, 'SCHEMA_VIOLATION') ? e.message : 'unparseable contents';
    throw new CosignerError('SEALED_STATE_INVALID', `sealed state decrypted but its contents are invalid (${why})`);
  }
}

/** An Ed25519 private key from its 32-byte seed (RFC 8410 §7 PKCS#8 wrapper). */
export function ed25519FromSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed)]), format: 'der', type: 'pkcs8' });
}

export function identityKeyOf(state: EnclaveState): KeyObject {
  return ed25519FromSeed(state.identitySeed);
}

/** The public halves, safe to hand to the parent. */
export function publicKeysOf(state: EnclaveState): { callbackSigningKeySpki: Uint8Array; identityPublicKey: Uint8Array } {
  const rsa = createPrivateKey({ key: Buffer.from(state.callbackSigningKey), format: 'der', type: 'pkcs8' });
  const edSpki = createPublicKey(identityKeyOf(state)).export({ format: 'der', type: 'spki' });
  return {
    callbackSigningKeySpki: new Uint8Array(createPublicKey(rsa).export({ format: 'der', type: 'spki' })),
    identityPublicKey: new Uint8Array(edSpki.subarray(edSpki.length - 32)),
  };
}

/** DER SPKI of the CCK (Ed25519), or null before the first pairing. */
export function cckPublicKeySpki(state: EnclaveState): Uint8Array | null {
  return state.cckSeed ? new Uint8Array(createPublicKey(ed25519FromSeed(state.cckSeed)).export({ format: 'der', type: 'spki' })) : null;
}
