// JSON shapes of every request and response of the coordinator's co-signer API (/cosigner/v1/*),
// shared by the coordinator (route schemas, OpenAPI) and the co-signer parent (its client). Objects
// are closed (additionalProperties: false): an unknown field is a 400, not ignored.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { PAIRING_TOKEN_MAX_CHARS } from './pairing-token.js';

const closed = <T extends Record<string, TSchema>>(props: T) => Type.Object(props, { additionalProperties: false });
const BASE64 = '^[A-Za-z0-9+/]*={0,2}$';
const b64 = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: BASE64 });
export const HEX32 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const publicKeyText = Type.String({ minLength: 1, maxLength: 8192, description: 'PEM, or base64 of DER SubjectPublicKeyInfo' });

export const ErrorJson = Type.Object({ message: Type.String(), code: Type.Number() });

export const StateReportJson = closed({
  stateVersion: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  stateDigest: HEX32,
  at: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  signature: b64(128),
});

// --- pairing (REST, by an admin) ---
export const PairingTokenRequest = closed({
  userId: Type.String({ minLength: 1, maxLength: 64 }),
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 24 * 3600 })),
});
export const PairingTokenResponse = Type.Object({ pairingToken: Type.String(), tokenId: Type.String(), userId: Type.String(), expiresAt: Type.Number() });

export const AttestationPolicyRequest = closed({ pcr0: Type.String({ pattern: '^[0-9a-f]{96}$' }), pcr8: Type.Optional(Type.Union([Type.String({ pattern: '^[0-9a-f]{96}$' }), Type.Null()])) });
export const AttestationPolicyResponse = Type.Object({ pcr0: Type.Union([Type.String(), Type.Null()]), pcr8: Type.Union([Type.String(), Type.Null()]), updatedAt: Type.Union([Type.Number(), Type.Null()]) });

// --- co-signer API ---
export const ServiceKeyResponse = Type.Object({
  algorithm: Type.Literal('Ed25519'),
  publicKeySpki: Type.String({ description: 'base64 DER SubjectPublicKeyInfo' }),
  sha256: Type.String({ description: 'hex SHA-256 of the DER SPKI: what pairing tokens carry' }),
});

export const PairRequest = closed({
  pairingToken: Type.String({ minLength: 1, maxLength: PAIRING_TOKEN_MAX_CHARS }),
  attestationDocument: b64(16384),
  identityPublicKey: b64(64),
  cckPublicKey: publicKeyText,
  callbackPublicKey: publicKeyText,
});
/** pairingRecord: the ids and the API user's public key, signed by the service key (pairing-record.ts); the enclave seals it. */
export const PairResponse = Type.Object({
  cosignerId: Type.String(), workspaceId: Type.String(), userId: Type.String(), refreshToken: Type.String(),
  pairingRecord: Type.Object({
    claims: Type.Object({
      tokenId: Type.String(), cosignerId: Type.String(), workspaceId: Type.String(), userId: Type.String(),
      identityPublicKey: Type.String(), userPublicKey: Type.String(), pairedAt: Type.Integer(),
      apiKey: Type.Optional(Type.String()), role: Type.Optional(Type.String()),
    }),
    signature: Type.String(),
  }),
});

export const TokenRequest = closed({ refreshToken: Type.String({ minLength: 1, maxLength: 256 }) });
export const TokenResponse = Type.Object({ accessToken: Type.String(), expiresAt: Type.Number(), cosignerId: Type.String() });

export const PollQuery = closed({
  waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 30_000 })),
  stateVersion: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  stateDigest: HEX32,
  stateAt: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  stateSignature: b64(128),
});
export const WorkItemJson = Type.Object({
  id: Type.String(), workspaceId: Type.String(), kind: Type.String(), payload: Type.Unknown(), attempt: Type.Integer(), leaseExpiresAt: Type.Integer(),
});
export const PollResponse = Type.Object({
  item: Type.Union([WorkItemJson, Type.Null()]),
  signature: Type.Union([Type.String({ description: 'base64 Ed25519 by the service key over the canonical item' }), Type.Null()]),
});

export const WorkItemParams = closed({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) });
export const HeartbeatResponse = Type.Object({ leaseExpiresAt: Type.Number() });
export const ResultRequest = closed({ result: Type.Unknown(), state: StateReportJson });
export const ResultResponse = Type.Object({ status: Type.Union([Type.Literal('recorded'), Type.Literal('duplicate')]) });

export const MpcSessionParams = closed({ sessionId: HEX32 });
/** An MPC channel hello (shared/cosigner-api/mpc-channel.ts): an X25519 key and its Ed25519 signature. */
export const MpcHelloJsonSchema = closed({
  ephemeralPublicKey: Type.String({ minLength: 44, maxLength: 44, pattern: BASE64 }),
  signature: Type.String({ minLength: 88, maxLength: 88, pattern: BASE64 }),
});
/** One encrypted MPC frame; only the two parties can read it. */
export const MpcFrameJsonSchema = closed({
  sessionId: HEX32,
  seq: Type.Integer({ minimum: 0, maximum: 1024 }),
  ciphertext: Type.String({ minLength: 1, maxLength: 1_410_000, pattern: BASE64 }),
});
export const MpcOpeningRequest = closed({ hello: MpcHelloJsonSchema });
export const MpcOpeningResponse = Type.Object({ hello: MpcHelloJsonSchema, messages: Type.Array(MpcFrameJsonSchema) });
export const MpcMessagesRequest = closed({ messages: Type.Array(MpcFrameJsonSchema, { minItems: 1, maxItems: 16 }) });
export const MpcMessagesResponse = Type.Object({ messages: Type.Array(MpcFrameJsonSchema) });

export type PairRequest = Static<typeof PairRequest>;
export type PairResponse = Static<typeof PairResponse>;
export type TokenResponse = Static<typeof TokenResponse>;
export type PollQuery = Static<typeof PollQuery>;
export type PollResponse = Static<typeof PollResponse>;
export type ResultRequest = Static<typeof ResultRequest>;
export type StateReportJson = Static<typeof StateReportJson>;
