// Transfers on chain: nonce reservations per (chain, address) as chains/nonce-allocator.ts
// specifies them, and one row per TRANSFER that follows it from reserved nonce to confirmation.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('evm_nonces')
    .addColumn('chain_id', 'bigint', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('next', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('evm_nonces_pk', ['chain_id', 'address'])
    .execute();
  await db.schema.createTable('evm_released_nonces')
    .addColumn('chain_id', 'bigint', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('nonce', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('evm_released_nonces_pk', ['chain_id', 'address', 'nonce'])
    .execute();
  await db.schema.createTable('chain_transfers')
    .addColumn('transaction_id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('chain_id', 'bigint', (c) => c.notNull())
    .addColumn('from_address', 'text', (c) => c.notNull())
    .addColumn('nonce', 'bigint', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('serialized_unsigned', 'text')
    .addColumn('signature', 'text')
    .addColumn('raw', 'text')
    .addColumn('tx_hash', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('chain_transfers_state').on('chain_transfers').columns(['state']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['chain_transfers', 'evm_released_nonces', 'evm_nonces']) await db.schema.dropTable(t).execute();
}
