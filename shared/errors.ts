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
  | 'KEYGEN_ALREADY_DONE' // a KEYGEN item for a key generation whose share this enclave already sealed (its GENERATED report was lost)
  | 'MPC_KEY_HELD' // a KEYGEN item for a workspace and algorithm whose share, from another key generation, this enclave holds
  | 'KEY_DERIVATION_INVALID'
  // enclave lifecycle
  | 'ENCLAVE_NOT_READY'
  | 'BOOT_IN_PROGRESS'
  | 'STATE_MISMATCH'
  | 'STATE_CHANGE_PENDING' // a sealed-state change waits for the parent to store it
  | 'NOT_PAIRED' // no pairing with that co-signer id, token or coordinator here
  | 'PAIRING_INVALID' // a pairing step out of order, or a service key that is not the pinned one
  // coordinator: transaction authorization policy, assets, amounts, addresses
  | 'POLICY_INVALID' // a policy document (or a stored one) fails its schema or consistency checks
  | 'APPROVAL_REFUSED' // a vote from someone who may not vote on this transaction
  | 'AMOUNT_INVALID' // a decimal amount string that is not an exact, non-negative amount of the asset
  | 'ASSET_UNKNOWN'
  | 'ADDRESS_INVALID'
  // enclave signing checks (enclave/signing/*): why the enclave refuses to take part in a signature
  | 'SERVICE_KEY_NOT_PINNED' // the service key offered is not the one whose SHA-256 was pinned at pairing
  | 'WORK_ITEM_SIGNATURE_INVALID' // the work item is not signed by the pinned service key (or was altered)
  | 'WORK_ITEM_KIND_UNKNOWN' // a signed work item of a kind the enclave does not take part in
  | 'WORKSPACE_NOT_PAIRED' // a work item for a workspace this enclave is not paired with
  | 'REQUEST_REPLAYED' // a work item, MPC session or transaction message already consumed in this boot
  | 'REPLAY_STORE_FULL' // the per-boot store of consumed requests is full: refuse rather than forget
  | 'RLP_INVALID' // bytes that are not exactly one canonical RLP item (shared/rlp.ts)
  | 'EVM_TX_TYPE_UNSUPPORTED' // an EVM transaction that is not an EIP-1559 (type 2) transaction
  | 'EVM_TX_INVALID' // canonical RLP, but not an unsigned EIP-1559 transfer's nine well-formed fields
  | 'EVM_TX_NOT_APPROVED' // the transaction differs from the approved transfer (details.field says where)
  | 'SIGNING_HASH_MISMATCH' // the hash the enclave computed is not the message content it was asked to sign
  | 'RAW_CONTENT_INVALID' // a RAW message of the wrong size for its algorithm
  | 'RAW_CONTENT_NOT_APPROVED' // a RAW message that is not byte-equal to the approved payload
  // callback handler (DESIGN.md "Callback handler"); details.reason says which check failed
  | 'CALLBACK_URL_INVALID' // a base URL that is not https (or http with allowPlainHttp), or carries credentials, query or fragment
  | 'CALLBACK_UNREACHABLE' // connection, DNS or TLS failure before any answer
  | 'CALLBACK_TIMEOUT' // no complete answer within the deadline (30 s)
  | 'CALLBACK_HTTP_STATUS' // the handler answered with a status other than 200 (details.status)
  | 'CALLBACK_RESPONSE_TOO_LARGE' // the answer's body is over the cap (1 MiB)
  | 'CALLBACK_RESPONSE_INVALID' // not an RS256 JWT under the configured key, or claims that do not fit this request
  | 'CALLBACK_REJECTED' // the callback handler answered REJECT (final; details carry its reason)
  | 'CALLBACK_RETRIES_EXHAUSTED' // the handler kept answering RETRY past the limit
  | 'CALLBACK_UPDATE_INVALID' // a callback change not signed by the API user's own key, for another pairing, or out of sequence (details.reason)
  | 'CONFIG_CHANGE_REFUSED' // a configuration change the enclave will not approve: initiator not an Admin paired here, its signed request does not verify or is not the change (details.reason)
  | 'POLICY_VIOLATION' // the enclave's own policy refuses this signature (amount, window, destination, operation; details.reason)
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
