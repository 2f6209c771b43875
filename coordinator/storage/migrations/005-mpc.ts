// The coordinator's MPC side: its master key shares (sealed) and the MPC sessions it runs with
// paired co-signers (key generation and signing), each tied to the work item that asked for it.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('mpc_keys')
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('chain_code', 'text', (c) => c.notNull())
    .addColumn('sealed_share', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('cosigner_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('mpc_keys_pk', ['workspace_id', 'algorithm'])
    .execute();
  await db.schema.createTable('mpc_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('work_item_id', 'text', (c) => c.notNull())
    .addColumn('transaction_id', 'text')
    .addColumn('message_index', 'integer')
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('cosigner_id', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('result', 'text')
    .addColumn('failure', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mpc_sessions_by_item').on('mpc_sessions').columns(['work_item_id']).execute();
  await db.schema.createIndex('mpc_sessions_by_tx').on('mpc_sessions').columns(['transaction_id', 'message_index']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['mpc_sessions', 'mpc_keys']) await db.schema.dropTable(t).execute();
}
