// The coordinator's NonceAllocator (the contract is in chains/nonce-allocator.ts), in its
// database: `reserveIn` runs in the caller's transaction, so the reservation and the row of the
// transfer that uses it commit together — a crash can neither lose a reserved nonce (leaving a gap
// every later transfer queues behind) nor hand it out twice. On PostgreSQL with several instances
// the read-modify-write needs SELECT … FOR UPDATE (the scale-out issue); SQLite serialises writers.
import type { Address } from '../chains/chain-adapter.js';
import { ChainError } from '../chains/chain-errors.js';
import type { NonceAllocator } from '../chains/nonce-allocator.js';
import type { Db } from '../storage/database.js';

function norm(chainId: number, a: Address): string {
  if (!Number.isSafeInteger(chainId) || chainId <= 0) throw new ChainError('CHAIN_INVALID_INPUT', `chain id must be a positive integer, got ${String(chainId)}`);
  if (typeof a !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(a)) throw new ChainError('CHAIN_INVALID_INPUT', 'address must be 20 bytes of 0x-prefixed hex');
  return a.toLowerCase();
}

export async function reserveIn(trx: Db, chainId: number, address: Address, nodePendingNonce: number): Promise<number> {
  if (!Number.isSafeInteger(nodePendingNonce) || nodePendingNonce < 0) throw new ChainError('CHAIN_INVALID_INPUT', 'node pending nonce must be a non-negative integer');
  const a = norm(chainId, address);
  await trx.deleteFrom('evm_released_nonces').where('chain_id', '=', chainId).where('address', '=', a).where('nonce', '<', nodePendingNonce).execute();
  const released = await trx.selectFrom('evm_released_nonces').select('nonce').where('chain_id', '=', chainId).where('address', '=', a).orderBy('nonce').limit(1).executeTakeFirst();
  if (released) {
    await trx.deleteFrom('evm_released_nonces').where('chain_id', '=', chainId).where('address', '=', a).where('nonce', '=', released.nonce).execute();
    return Number(released.nonce);
  }
  const row = await trx.selectFrom('evm_nonces').select('next').where('chain_id', '=', chainId).where('address', '=', a).executeTakeFirst();
  const n = Math.max(row ? Number(row.next) : 0, nodePendingNonce);
  if (row) await trx.updateTable('evm_nonces').set({ next: n + 1 }).where('chain_id', '=', chainId).where('address', '=', a).execute();
  else await trx.insertInto('evm_nonces').values({ chain_id: chainId, address: a, next: n + 1 }).execute();
  return n;
}

export async function releaseIn(trx: Db, chainId: number, address: Address, nonce: number): Promise<void> {
  if (!Number.isSafeInteger(nonce) || nonce < 0) throw new ChainError('CHAIN_INVALID_INPUT', 'nonce must be a non-negative integer');
  const a = norm(chainId, address);
  const row = await trx.selectFrom('evm_nonces').select('next').where('chain_id', '=', chainId).where('address', '=', a).executeTakeFirst();
  if (!row || nonce >= Number(row.next)) throw new ChainError('CHAIN_INVALID_INPUT', `nonce ${nonce} was never reserved for this address`);
  const had = await trx.selectFrom('evm_released_nonces').select('nonce').where('chain_id', '=', chainId).where('address', '=', a).where('nonce', '=', nonce).executeTakeFirst();
  if (had) throw new ChainError('CHAIN_INVALID_INPUT', `nonce ${nonce} is already released`);
  await trx.insertInto('evm_released_nonces').values({ chain_id: chainId, address: a, nonce }).execute();
}

/** The same as a NonceAllocator of its own (each call its own database transaction). */
export class DbNonceAllocator implements NonceAllocator {
  constructor(private readonly db: Db) {}

  reserve(chainId: number, address: Address, nodePendingNonce: number): Promise<number> {
    return this.db.transaction().execute((trx) => reserveIn(trx, chainId, address, nodePendingNonce));
  }

  release(chainId: number, address: Address, nonce: number): Promise<void> {
    return this.db.transaction().execute((trx) => releaseIn(trx, chainId, address, nonce));
  }
}
