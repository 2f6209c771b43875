// Pairing and the co-signer API: pairing tokens, paired co-signers, their access tokens, each
// workspace's attestation expectations, and the relay's
// stored answers. Portable DDL only (Kysely's schema builder); secrets are stored as SHA-256 hex.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('cosigner_pairing_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('api_user_id', 'text', (c) => c.notNull().references('api_users.id'))
    .addColumn('secret_sha256', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createTable('cosigners')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('api_user_id', 'text', (c) => c.notNull().references('api_users.id'))
    .addColumn('pairing_token_id', 'text', (c) => c.notNull().unique())
    .addColumn('identity_public_key', 'text', (c) => c.notNull())
    .addColumn('cck_public_key', 'text', (c) => c.notNull())
    .addColumn('callback_public_key', 'text', (c) => c.notNull())
    .addColumn('pcrs', 'text', (c) => c.notNull())
    .addColumn('module_id', 'text', (c) => c.notNull())
    .addColumn('refresh_token_sha256', 'text', (c) => c.notNull().unique())
    .addColumn('state_version', 'bigint')
    .addColumn('state_digest', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('cosigners_workspace').on('cosigners').column('workspace_id').execute();
  await db.schema.createTable('cosigner_access_tokens')
    .addColumn('token_sha256', 'text', (c) => c.primaryKey())
    .addColumn('cosigner_id', 'text', (c) => c.notNull().references('cosigners.id'))
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('cosigner_access_tokens_cosigner').on('cosigner_access_tokens').column('cosigner_id').execute();
  await db.schema.createTable('cosigner_attestation_policies')
    .addColumn('workspace_id', 'text', (c) => c.primaryKey().references('workspaces.id'))
    .addColumn('pcr0', 'text', (c) => c.notNull())
    .addColumn('pcr8', 'text')
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createTable('mpc_relay_answers')
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('round_key', 'text', (c) => c.notNull())
    .addColumn('request_sha256', 'text', (c) => c.notNull())
    .addColumn('cosigner_id', 'text', (c) => c.notNull())
    // -1 while receive() runs; then the HTTP status of the stored answer.
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('answer', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('mpc_relay_answers_pk', ['session_id', 'round_key'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['mpc_relay_answers', 'cosigner_attestation_policies', 'cosigner_access_tokens', 'cosigners', 'cosigner_pairing_tokens']) {
    await db.schema.dropTable(t).execute();
  }
}
