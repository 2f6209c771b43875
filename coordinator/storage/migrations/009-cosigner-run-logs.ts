// The latest run.log each co-signer sent (PUT /cosigner/v1/run-log): its setup and configuration
// history, for the workspace's support staff (GET /v1/cosigners/:id/run_log). One row per
// co-signer, replaced by each copy; the text is the parent's and is kept as text, never run.
// No foreign key to cosigners: revoking a co-signer deletes its row, and its history stays
// readable for support afterwards.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('cosigner_run_logs')
    .addColumn('cosigner_id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('cosigner_run_logs').execute();
}
