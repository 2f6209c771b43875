// A transaction remembers the Idempotency-Key it was created with, in the same database
// transaction: after a crash between that commit and storing the answer, a retry with the key
// finds the transaction instead of making a second one (plugins/idempotency.ts).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('transactions').addColumn('idem_key', 'text').execute();
  await db.schema.createIndex('transactions_idem_key').on('transactions').columns(['created_by', 'idem_key']).unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('transactions_idem_key').execute();
  await db.schema.alterTable('transactions').dropColumn('idem_key').execute();
}
