// Turns whatever viem throws into a ChainError. viem's messages embed the request URL (which often
// holds a provider API key) and the request body, so only the node's own error text, stripped of
// URLs and shortened, goes into our message; the viem error is not kept as the cause.

import {
  BaseError,
  ExecutionRevertedError,
  HttpRequestError,
  InsufficientFundsError,
  LimitExceededRpcError,
  NonceTooLowError,
  RpcRequestError,
  TimeoutError,
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
} from 'viem';
import { ChainError } from '../chain-errors.js';

function sanitize(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>').replace(/\s+/g, ' ').trim().slice(0, 200);
}

/** The node's error message (JSON-RPC `error.message`), when there is one. */
export function nodeMessage(e: unknown): string | undefined {
  if (!(e instanceof BaseError)) return undefined;
  const rpc = e.walk((x) => x instanceof RpcRequestError) as RpcRequestError | null;
  if (rpc) return sanitize(rpc.details);
  return undefined;
}

function find<T>(e: BaseError, cls: abstract new (...args: never[]) => T): T | null {
  return e.walk((x) => x instanceof cls) as T | null;
}

/** `what` says what we were doing ("estimating gas"), for the message. */
export function toChainError(e: unknown, what: string): ChainError {
  if (e instanceof ChainError) return e;
  if (!(e instanceof BaseError)) {
    return new ChainError('CHAIN_RPC_ERROR', `${what}: unexpected error (${e instanceof Error ? e.name : typeof e})`);
  }
  const http = find(e, HttpRequestError);
  if (http) {
    const status = http.status;
    if (status === undefined || status === 408 || status === 429 || status >= 500) {
      return new ChainError('CHAIN_RPC_UNAVAILABLE', `${what}: the RPC node is unreachable or overloaded${status ? ` (HTTP ${status})` : ''}`, status ? { httpStatus: status } : undefined);
    }
    return new ChainError('CHAIN_RPC_ERROR', `${what}: the RPC endpoint answered HTTP ${status}`, { httpStatus: status });
  }
  if (find(e, TimeoutError)) return new ChainError('CHAIN_RPC_UNAVAILABLE', `${what}: the RPC node did not answer in time`);
  if (find(e, LimitExceededRpcError)) return new ChainError('CHAIN_RPC_UNAVAILABLE', `${what}: the RPC node is rate limiting`);
  if (find(e, ContractFunctionZeroDataError)) return new ChainError('CHAIN_INVALID_INPUT', `${what}: no contract answers at that address`);
  const node = nodeMessage(e) ?? sanitize(e.shortMessage);
  const details = { node };
  if (find(e, InsufficientFundsError) || /insufficient funds|sender doesn't have enough funds/i.test(node)) {
    return new ChainError('CHAIN_INSUFFICIENT_FUNDS', `${what}: the source cannot pay the amount and the fee`, details);
  }
  if (find(e, NonceTooLowError) || /nonce too low|nonce has already been used|nonce is too low/i.test(node)) {
    return new ChainError('CHAIN_NONCE_CONFLICT', `${what}: the nonce is already used by another transaction`, details);
  }
  if (find(e, ExecutionRevertedError) || find(e, ContractFunctionRevertedError) || /revert/i.test(node)) {
    return new ChainError('CHAIN_EXECUTION_REVERTED', `${what}: the call reverts`, details);
  }
  return new ChainError('CHAIN_RPC_ERROR', `${what}: the node answered with an error: ${node}`, details);
}
