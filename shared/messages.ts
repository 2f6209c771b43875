// The parent↔enclave message catalog (DESIGN.md "vsock channel"): every request the parent may
// send the enclave, with the exact schema of its body and of the enclave's answer. Both sides
// check these on receipt. The parent is hostile: nothing it sends here is trusted beyond its
// shape; the enclave verifies the substance (KMS answers only to its attestation, sealed state
// is authenticated).
import * as s from './schema.js';

export const ENCLAVE_RPC_PORT = 5000;
export const KMS_PROXY_PORT = 8000;

/** What the parent stores for the enclave: KMS-encrypted data key + AES-GCM sealed state. */
export const SealedFileSchema = s.struct({
  kmsCiphertext: s.bytes({ min: 1, max: 8192 }),
  // Fits, with credentials, in one frame of the channel's default 1 MiB maximum.
  sealed: s.bytes({ min: 1, max: 768 * 1024 }),
});

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
} as const;

export type EnclaveMessageType = keyof typeof EnclaveMessages;
export type SealedFile = s.Infer<typeof SealedFileSchema>;
