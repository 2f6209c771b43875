// The parent↔enclave message catalog (DESIGN.md "vsock channel"): every request the parent may
// send the enclave, with the exact schema of its body and of the enclave's answer. Both sides
// check these on receipt. The parent is hostile: nothing it sends here is trusted beyond its
// shape; the enclave verifies the substance (KMS answers only to its attestation, sealed state
// is authenticated).
import * as s from './schema.js';
import { ConfigChangeResultSchema } from './cosigner-api/config-change.js';

export const ENCLAVE_RPC_PORT = 5000;
export const KMS_PROXY_PORT = 8000;

/** What the parent stores for the enclave: KMS-encrypted data key + AES-GCM sealed state. */
export const SealedFileSchema = s.struct({
  kmsCiphertext: s.bytes({ min: 1, max: 8192 }),
  // Fits, with credentials, in one frame of the channel's default 1 MiB maximum.
  sealed: s.bytes({ min: 1, max: 768 * 1024 }),
});

/** One MPC channel frame as the relay's JSON text (shared/cosigner-api/mpc-channel.ts); the enclave parses it. */
const MpcMessageText = s.text({ min: 2, max: 700 * 1024 });

/** An MPC channel hello (shared/cosigner-api/mpc-channel.ts) as JSON text. */
const MpcHelloText = s.text({ min: 2, max: 512 });
/** Each session the enclave opened: its channel hello, for the coordinator's opening (its first messages wait for the answer). */
const StartedSessions = s.array(s.struct({ sessionId: s.text({ pattern: /^[0-9a-f]{64}$/ }), hello: MpcHelloText }), { max: 16 });

/** One POST to the callback handler as the parent saw it (the body as received; the enclave verifies it); null: the transport threw. */
const CallbackAnswer = s.nullable(s.struct({
  ok: s.bool(),
  status: s.nullable(s.uint({ max: 999 })),
  contentType: s.nullable(s.text({ max: 256 })),
  body: s.nullable(s.bytes({ max: 1024 * 1024 - 4096 })),
  code: s.nullable(s.text({ max: 64 })),
  message: s.nullable(s.text({ max: 1024 })),
}));

/** Where a configuration change stands after one step (ConfigChangeStart, ConfigChangeAnswer). */
const ConfigChangeStep = s.struct({
  approval: s.nullable(s.struct({ requestId: s.text({ max: 64 }), url: s.text({ max: 2048 }), allowPlainHttp: s.bool(), kind: s.text({ oneOf: ['config_change_sign_request'] }), jwt: s.text({ max: 128 * 1024 }) })),
  result: s.nullable(ConfigChangeResultSchema),
  toStore: s.nullable(SealedFileSchema),
  retryAfterMs: s.nullable(s.uint()),
});

/** The callback handler a pairing sets for its API user. */
const CallbackSettings = s.struct({ url: s.text({ min: 8, max: 2048 }), handlerPublicKeySpki: s.bytes({ min: 200, max: 1200 }), allowPlainHttp: s.bool() });

const Credentials = s.struct({
  accessKeyId: s.text({ min: 16, max: 128, pattern: /^[A-Z0-9]+$/ }),
  secretAccessKey: s.text({ min: 1, max: 256 }),
  sessionToken: s.optional(s.text({ max: 4096 })),
  expiration: s.optional(s.uint()),
});

export const EnclaveMessages = {
  Ping: {
    request: s.struct({}),
    response: s.struct({ uptimeMs: s.uint() }),
  },
  Status: {
    request: s.struct({}),
    response: s.struct({
      phase: s.text({ oneOf: ['waiting-for-boot', 'booting', 'ready', 'failed'] }),
      failure: s.nullable(s.struct({ code: s.text({ max: 64 }), message: s.text({ max: 1024 }) })),
    }),
  },
  /**
   * Unseal (or, with no sealed file, initialise) the enclave state through KMS. Which KMS region,
   * endpoint and key are NOT the parent's to say: they are the enclave's own (measured) start-up
   * configuration, so a hostile parent can neither point it at a KMS impostor nor at a key it controls.
   */
  Boot: {
    request: s.struct({
      credentials: Credentials,
      sealed: s.nullable(SealedFileSchema),
    }),
    response: s.struct({
      // 'already-booted': a repeated Boot (the parent reconnected) that found the enclave ready.
      outcome: s.text({ oneOf: ['initialised', 'unsealed', 'already-booted'] }),
      // Present only on first boot: the parent must store it, atomically, before anything else.
      toStore: s.nullable(SealedFileSchema),
      callbackSigningKeySpki: s.bytes({ min: 200, max: 600 }),
      identityPublicKey: s.bytes({ len: 32 }),
    }),
  },
  /** An attestation document for the caller to check (nonce for freshness). */
  GetAttestation: {
    request: s.struct({ nonce: s.nullable(s.bytes({ min: 1, max: 512 })) }),
    response: s.struct({ document: s.bytes({ min: 1, max: 0x3000 }) }),
  },
  /**
   * The parent shows the sealed file it stored for the change the enclave handed it (`toStore`);
   * the change counts from this answer on (DESIGN.md "State versions"). Repeating it is harmless.
   */
  ConfirmState: {
    request: s.struct({ stored: SealedFileSchema }),
    response: s.struct({ stateVersion: s.uint(), confirmed: s.bool() }),
  },
  /**
   * First pairing step: the enclave pins the service key named by the pairing token (the parent
   * brings the key; only its fingerprint from the token counts), makes the CCK if it has none,
   * and seals a pending pairing. The parent stores `toStore` and confirms it before the next step.
   */
  BeginPairing: {
    request: s.struct({ pairingToken: s.text({ min: 1, max: 4096 }), serviceKeySpki: s.bytes({ min: 32, max: 200 }), callback: s.nullable(CallbackSettings) }),
    response: s.struct({ tokenId: s.text({ max: 64 }), toStore: SealedFileSchema, stateVersion: s.uint() }),
  },
  /** The attestation document for a sealed pending pairing: user_data binds the three public keys, nonce the token. */
  PairingAttestation: {
    request: s.struct({ pairingToken: s.text({ min: 1, max: 4096 }) }),
    response: s.struct({
      document: s.bytes({ min: 1, max: 0x3000 }),
      identityPublicKey: s.bytes({ len: 32 }),
      cckPublicKeySpki: s.bytes({ min: 32, max: 200 }),
      callbackPublicKeySpki: s.bytes({ min: 200, max: 600 }),
    }),
  },
  /**
   * The coordinator accepted the pairing: its signed pairing record (JSON text, as it came) names
   * who we are there and the API user's public key; sealed once it verifies (store + ConfirmState).
   */
  CompletePairing: {
    request: s.struct({
      tokenId: s.text({ min: 1, max: 64 }),
      record: s.text({ min: 1, max: 4096 }),
    }),
    response: s.struct({ toStore: SealedFileSchema, stateVersion: s.uint() }),
  },
  /**
   * A new callback handler for a paired API user, signed by that user's own key (a compact JWS,
   * shared/cosigner-api/callback-update.ts); sealed once it verifies (store + ConfirmState).
   * `changed` false: exactly this change was made before.
   */
  UpdateCallback: {
    request: s.struct({ cosignerId: s.text({ min: 1, max: 128 }), update: s.text({ min: 1, max: 16 * 1024 }) }),
    response: s.struct({ toStore: SealedFileSchema, stateVersion: s.uint(), changed: s.bool(), callbackVersion: s.uint() }),
  },
  /** What is paired here (public facts only), for `cosigner status` and the long-poll loops. */
  Pairings: {
    request: s.struct({}),
    response: s.struct({
      stateVersion: s.uint(),
      /** The co-signer's RSA key (DER SPKI) that signs callback requests: callback handlers verify with it. */
      callbackSigningKeySpki: s.bytes({ min: 200, max: 600 }),
      /** The Configuration Change Key (Ed25519, DER SPKI); null before the first pairing made it. */
      cckPublicKeySpki: s.nullable(s.bytes({ min: 32, max: 200 })),
      pairings: s.array(
        s.struct({
          tokenId: s.text({ max: 64 }),
          coordinatorUrl: s.text({ max: 2048 }),
          serviceKeySha256: s.text({ max: 64 }),
          status: s.text({ oneOf: ['pending', 'active'] }),
          cosignerId: s.nullable(s.text({ max: 128 })),
          workspaceId: s.nullable(s.text({ max: 128 })),
          userId: s.nullable(s.text({ max: 128 })),
          /** Where this user's callback handler is; null: none (requests are approved, and logged so). */
          callbackUrl: s.nullable(s.text({ max: 2048 })),
          /** SHA-256 (hex) of the handler's public key (DER SPKI) the enclave verifies answers with, for the operator to compare. */
          callbackKeySha256: s.nullable(s.text({ pattern: /^[0-9a-f]{64}$/ })),
          /** Callback changes made since pairing; the next signed change must carry this + 1. */
          callbackVersion: s.uint(),
          /** SHA-256 (hex) of the API user's public key (DER SPKI) that must sign callback changes; null: not known (an old pairing). */
          userKeySha256: s.nullable(s.text({ pattern: /^[0-9a-f]{64}$/ })),
          /** The API user's role at pairing (an Admin may initiate configuration changes); null: not known (an old pairing). */
          role: s.nullable(s.text({ max: 64 })),
        }),
        { max: 256 },
      ),
    }),
  },
  /** (stateVersion, stateDigest) signed by the identity key, for one poll or result of one pairing. */
  StateReport: {
    request: s.struct({ cosignerId: s.text({ min: 1, max: 128 }), purpose: s.text({ min: 1, max: 200, pattern: /^(poll|result:[A-Za-z0-9-]{1,128})$/ }) }),
    response: s.struct({ stateVersion: s.uint(), stateDigest: s.text({ pattern: /^[0-9a-f]{64}$/ }), at: s.uint(), signature: s.text({ max: 128 }) }),
  },
  /**
   * A KEYGEN or SIGN work item as the long poll delivered it (the item's JSON and the service
   * key's signature): checked, approved, then one MPC session per session it names.
   */
  MpcStart: {
    request: s.struct({ cosignerId: s.text({ min: 1, max: 128 }), itemJson: s.text({ min: 2, max: 256 * 1024 }), signature: s.text({ max: 128 }) }),
    response: s.struct({
      sessions: StartedSessions,
      /** Set when the user has a callback handler: POST `jwt` to `{url}/v2/{kind}`, report the answer with MpcApprovalAnswer. */
      approval: s.nullable(s.struct({ requestId: s.text({ max: 64 }), url: s.text({ max: 2048 }), allowPlainHttp: s.bool(), kind: s.text({ oneOf: ['tx_sign_request'] }), jwt: s.text({ max: 64 * 1024 }) })),
      /** A transfer counted against an enclave policy window: store and confirm this before the sessions run. */
      toStore: s.nullable(SealedFileSchema),
    }),
  },
  /**
   * What one POST to the callback handler gave (the body as received; the enclave verifies it).
   * APPROVE opens the sessions; RETRY asks for the same request again after retryAfterMs; REJECT
   * and failures are typed errors.
   */
  MpcApprovalAnswer: {
    request: s.struct({
      requestId: s.text({ min: 1, max: 64 }),
      answer: CallbackAnswer,
    }),
    response: s.struct({ sessions: StartedSessions, retryAfterMs: s.nullable(s.uint()), toStore: s.nullable(SealedFileSchema) }),
  },
  /**
   * A CONFIG_CHANGE_APPROVAL work item as the long poll delivered it (shared/cosigner-api/
   * config-change.ts): checked; then either the callback must be asked (`approval`: POST `jwt` to
   * `{url}/v2/config_change_sign_request`, report with ConfigChangeAnswer) or the enclave decided
   * (`result`, to report to the coordinator only after `toStore`, if any, is stored and confirmed).
   */
  ConfigChangeStart: {
    request: s.struct({ cosignerId: s.text({ min: 1, max: 128 }), itemJson: s.text({ min: 2, max: 256 * 1024 }), signature: s.text({ max: 128 }) }),
    response: ConfigChangeStep,
  },
  ConfigChangeAnswer: {
    request: s.struct({ requestId: s.text({ min: 1, max: 64 }), answer: CallbackAnswer }),
    response: ConfigChangeStep,
  },
  /** The enclave policy sealed for each workspace (`cosigner policy show`). */
  Policies: {
    request: s.struct({}),
    response: s.struct({
      stateVersion: s.uint(),
      policies: s.array(s.struct({ serviceKeySha256: s.text({ max: 64 }), workspaceId: s.text({ max: 128 }), changeId: s.text({ max: 64 }), setAt: s.uint(), policyJson: s.text({ max: 256 * 1024 }) }), { max: 256 }),
      /** Transfers counted in open windows, per workspace and asset (sum of base units). */
      windows: s.array(s.struct({ workspaceId: s.text({ max: 128 }), assetId: s.text({ max: 64 }), transfers: s.uint(), oldestAt: s.uint() }), { max: 1024 }),
    }),
  },
  /**
   * The coordinator party's frames for one session → the enclave's; the first step carries the
   * coordinator's channel hello (null afterwards). A finished key generation hands its sealed share to store.
   */
  MpcStep: {
    request: s.struct({ sessionId: s.text({ pattern: /^[0-9a-f]{64}$/ }), peerHello: s.nullable(MpcHelloText), inbound: s.array(MpcMessageText, { max: 16 }) }),
    response: s.struct({ outbound: s.array(MpcMessageText, { max: 16 }), done: s.bool(), toStore: s.nullable(SealedFileSchema) }),
  },
} as const;

export type EnclaveMessageType = keyof typeof EnclaveMessages;
export type SealedFile = s.Infer<typeof SealedFileSchema>;
