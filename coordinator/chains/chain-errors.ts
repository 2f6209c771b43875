// Typed errors of the chain layer. They have the CosignerError shape (a stable `code`, a clear
// message, secret-free `details`) plus `retryable`: whether the same call may simply be tried again
// later (the node was unreachable or overloaded) or needs a different request. Messages never carry
// the RPC URL (it often holds a provider API key) nor a library's raw error text.

export type ChainErrorCode =
  /** The node could not be reached, timed out, or answered 429/5xx. Retryable. */
  | 'CHAIN_RPC_UNAVAILABLE'
  /** The node answered with an error we do not recognise, or an answer that makes no sense. */
  | 'CHAIN_RPC_ERROR'
  /** The node at the configured URL serves another chain than the one configured. */
  | 'CHAIN_ID_MISMATCH'
  /** The chain lacks something the adapter needs (e.g. EIP-1559 base fees). */
  | 'CHAIN_UNSUPPORTED'
  /** A bad argument: address, amount, nonce, asset of another chain, malformed hex. */
  | 'CHAIN_INVALID_INPUT'
  /** The source cannot pay the amount plus the fee. */
  | 'CHAIN_INSUFFICIENT_FUNDS'
  /** Gas estimation says the call reverts (e.g. an ERC-20 transfer above the token balance). */
  | 'CHAIN_EXECUTION_REVERTED'
  /** A signature that is malformed, high-S, or does not recover to anything. */
  | 'CHAIN_SIGNATURE_INVALID'
  /** A well-formed signature made by another key than the transfer's source. */
  | 'CHAIN_SIGNER_MISMATCH'
  /** An unsigned or signed transaction that is malformed or inconsistent with itself. */
  | 'CHAIN_TX_INVALID'
  /** The nonce is already taken on chain by a different transaction. */
  | 'CHAIN_NONCE_CONFLICT'
  /** The node refused the transaction for another reason (underpriced, gas limit, ...). */
  | 'CHAIN_TX_REJECTED';

const RETRYABLE: ReadonlySet<ChainErrorCode> = new Set<ChainErrorCode>(['CHAIN_RPC_UNAVAILABLE']);

export class ChainError extends Error {
  readonly code: ChainErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, string | number | boolean>> | undefined;

  constructor(code: ChainErrorCode, message: string, details?: Record<string, string | number | boolean>) {
    super(message);
    this.name = 'ChainError';
    this.code = code;
    this.retryable = RETRYABLE.has(code);
    this.details = details;
  }
}

export function isChainError(e: unknown, code?: ChainErrorCode): e is ChainError {
  return e instanceof ChainError && (code === undefined || e.code === code);
}
