// Configuration changes the co-signer's CCK approves (shared/cosigner-api/config-change.ts): one row
// per change, with the work item that carries it and its outcome; and the enclave policy documents
// a co-signer approved (and sealed), newest per workspace in force.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('config_changes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('initiator_id', 'text', (c) => c.notNull())
    .addColumn('work_item_id', 'text', (c) => c.notNull().unique())
    // WAITING_FOR_APPROVAL → APPROVED | REJECTED | CANCELLED (IGNORE) | FAILED
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('decided_at', 'bigint')
    .execute();
  await db.schema.createIndex('config_changes_workspace').on('config_changes').column('workspace_id').execute();
  await db.schema.createTable('cosigner_policies')
    .addColumn('change_id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('approved_by', 'text', (c) => c.notNull())
    .addColumn('approved_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('cosigner_policies_workspace').on('cosigner_policies').column('workspace_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('cosigner_policies').execute();
  await db.schema.dropTable('config_changes').execute();
}
