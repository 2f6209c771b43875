// Nonce reservation per (chain, address). The node's pending nonce alone is not enough: two
// transfers from one address built at the same time would both read nonce n, and after a crash a
// nonce handed to a transaction that was signed but not yet broadcast would be handed out again. So
// the coordinator keeps, per (chain, address), the lowest nonce never reserved, and reserves in one
// atomic step. The database implementation (the coordinator's) must keep this contract:
//
//   reserve(chainId, address, p):
//     drop released nonces below p (the chain has used them since);
//     if a released nonce remains, take the lowest one;
//     else take n = max(next, p) and set next = n + 1;
//   all in one database transaction, so concurrent callers never get the same nonce.
//
//   release(chainId, address, n): only for a nonce whose transaction was never signed (a transfer
//   that failed or was cancelled before PENDING_SIGNATURE), so that the next transfer fills the gap
//   instead of queuing behind a nonce that will never be mined. A signed transaction's nonce is
//   never released: the signed bytes may already be on the network.

import type { Address } from './chain-adapter.js';
import { ChainError } from './chain-errors.js';

export interface NonceAllocator {
  /** A nonce for a new transaction from `address`: never one reserved before (unless released), never below `nodePendingNonce`. */
  reserve(chainId: number, address: Address, nodePendingNonce: number): Promise<number>;
  /** Returns a reserved nonce whose transaction was never signed. */
  release(chainId: number, address: Address, nonce: number): Promise<void>;
}

/** The adapter side of a reservation: the node's pending nonce, then the allocator. */
export async function reserveNonce(
  adapter: { readonly chainId: number; pendingNonce(address: Address): Promise<number> },
  allocator: NonceAllocator,
  address: Address,
): Promise<number> {
  const nodePending = await adapter.pendingNonce(address);
  return allocator.reserve(adapter.chainId, address, nodePending);
}

function checkNonce(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new ChainError('CHAIN_INVALID_INPUT', `${what} must be a non-negative integer, got ${String(n)}`);
}

function checkChainId(chainId: number): void {
  if (!Number.isSafeInteger(chainId) || chainId <= 0) throw new ChainError('CHAIN_INVALID_INPUT', `chain id must be a positive integer, got ${String(chainId)}`);
}

interface Slot {
  next: number;
  released: Set<number>;
}

/** In memory, for tests and a single process; state is lost on restart (the coordinator uses its database). */
export class InMemoryNonceAllocator implements NonceAllocator {
  private readonly slots = new Map<string, Slot>();

  private slot(chainId: number, address: Address): Slot {
    checkChainId(chainId);
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new ChainError('CHAIN_INVALID_INPUT', 'address must be 20 bytes of 0x-prefixed hex');
    const key = `${chainId}:${address.toLowerCase()}`;
    let s = this.slots.get(key);
    if (!s) {
      s = { next: 0, released: new Set() };
      this.slots.set(key, s);
    }
    return s;
  }

  // No await before the update: the read-modify-write runs in one turn of the event loop, so it is atomic.
  async reserve(chainId: number, address: Address, nodePendingNonce: number): Promise<number> {
    checkNonce(nodePendingNonce, 'node pending nonce');
    const s = this.slot(chainId, address);
    for (const r of s.released) if (r < nodePendingNonce) s.released.delete(r);
    if (s.released.size > 0) {
      const lowest = Math.min(...s.released);
      s.released.delete(lowest);
      return lowest;
    }
    const n = Math.max(s.next, nodePendingNonce);
    s.next = n + 1;
    return n;
  }

  async release(chainId: number, address: Address, nonce: number): Promise<void> {
    checkNonce(nonce, 'nonce');
    const s = this.slot(chainId, address);
    if (nonce >= s.next) throw new ChainError('CHAIN_INVALID_INPUT', `nonce ${nonce} was never reserved for this address`);
    if (s.released.has(nonce)) throw new ChainError('CHAIN_INVALID_INPUT', `nonce ${nonce} is already released`);
    s.released.add(nonce);
  }
}
