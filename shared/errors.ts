// Typed errors. Every error that crosses a module boundary is a CosignerError with a stable
// `code`, so callers (and the wire) can tell "bad input" from "timeout" from "terminal abort"
// without parsing messages. Messages must never contain secret material.

export type ErrorCode =
  // framing / channel
  | 'FRAME_TOO_LARGE'
  | 'FRAME_TRUNCATED'
  | 'FRAME_NOT_CBOR'
  | 'CBOR_INVALID' // bytes that are not exactly one item of the project's plain CBOR profile (shared/cbor.ts)
  | 'SCHEMA_VIOLATION'
  | 'UNKNOWN_MESSAGE_TYPE'
  | 'RPC_TIMEOUT'
  | 'CHANNEL_CLOSED'
  | 'TRANSPORT_ERROR'
  // attestation / nsm
  | 'ATTESTATION_INVALID'
  | 'NSM_ERROR'
  | 'NSM_BUSY' // too many NSM requests from the parent are already waiting
  | 'REQUEST_ABORTED' // the connection that made the request closed before it ran
  // kms / sealing
  | 'KMS_ERROR'
  | 'CREDENTIALS_EXPIRED' // the IAM credentials handed to the enclave are past their expiration
  | 'KMS_ACCESS_DENIED'
  | 'KMS_KEY_POLICY_UNSAFE'
  | 'CMS_INVALID'
  | 'SEALED_STATE_INVALID'
  | 'SEALED_STORE_ERROR'
  // mpc
  | 'MPC_INVALID_MESSAGE'
  | 'MPC_PROOF_FAILED'
  | 'MPC_SESSION_MISMATCH'
  | 'MPC_KEY_LOCKED'
  | 'MPC_SIGNATURE_INVALID'
  | 'MPC_STATE'
  | 'CRYPTO_SELF_TEST_FAILED'
  | 'MPC_INVALID_KEY' // a Paillier / ring-Pedersen modulus or key fails its shape or validity checks
  | 'MPC_NOT_INVERTIBLE' // a modular inverse was asked for a value not coprime to the modulus
  | 'MPC_KEY_SHARE_INVALID'
  | 'KEY_DERIVATION_INVALID'
  // enclave lifecycle
  | 'ENCLAVE_NOT_READY'
  | 'BOOT_IN_PROGRESS'
  | 'STATE_MISMATCH'
  // coordinator: transaction authorization policy, assets, amounts, addresses
  | 'POLICY_INVALID' // a policy document (or a stored one) fails its schema or consistency checks
  | 'APPROVAL_REFUSED' // a vote from someone who may not vote on this transaction
  | 'AMOUNT_INVALID' // a decimal amount string that is not an exact, non-negative amount of the asset
  | 'ASSET_UNKNOWN'
  | 'ADDRESS_INVALID'
  // the co-signer API as its client (the parent) sees it: details.status / details.apiCode say more
  | 'COORDINATOR_UNREACHABLE' // no HTTP answer: connection refused or cut, or the call's timeout (details.reason)
  | 'COORDINATOR_REFUSED' // an HTTP error answer without a more specific code here (the coordinator's 16xx code in details.apiCode)
  | 'ABORTED' // the caller gave the operation up (its AbortSignal), e.g. a long-poll loop being stopped
  // generic
  | 'CONFIG_INVALID'
  | 'LEASE_LOST' // a work item's lease expired or belongs to another co-signer
  | 'TOKEN_INVALID' // a pairing, refresh or access token that is unknown, used, expired or revoked (details.reason)
  | 'STATE_ROLLBACK' // a co-signer reports an enclave state older than one it reported before
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INTERNAL';

export class CosignerError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, string | number | boolean>> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, string | number | boolean>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CosignerError';
    this.code = code;
    this.details = details;
  }
}

export function isCosignerError(e: unknown, code?: ErrorCode): e is CosignerError {
  return e instanceof CosignerError && (code === undefined || e.code === code);
}

/** A short, secret-free description of any thrown value, for logs and wire errors. */
export function describeError(e: unknown): string {
  if (e instanceof CosignerError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
