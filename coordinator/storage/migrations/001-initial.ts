// The first schema. Portable DDL only (Kysely's schema builder), so PostgreSQL runs it unchanged.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('workspaces')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createTable('api_users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('api_key', 'text', (c) => c.notNull().unique())
    .addColumn('public_key_pem', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createTable('jwt_nonces')
    .addColumn('api_key', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('jwt_nonces_pk', ['api_key', 'nonce'])
    .execute();
  await db.schema.createIndex('jwt_nonces_expiry').on('jwt_nonces').column('expires_at').execute();
  await db.schema.createTable('idempotency_keys')
    .addColumn('api_user_id', 'text', (c) => c.notNull())
    .addColumn('idem_key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['api_user_id', 'idem_key'])
    .execute();
  await db.schema.createTable('vault_accounts')
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('id', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('customer_ref_id', 'text')
    .addColumn('hidden_on_ui', 'integer', (c) => c.notNull())
    .addColumn('auto_fuel', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('vault_accounts_pk', ['workspace_id', 'id'])
    .execute();
  await db.schema.createTable('vault_assets')
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('vault_account_id', 'integer', (c) => c.notNull())
    .addColumn('asset_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('vault_assets_pk', ['workspace_id', 'vault_account_id', 'asset_id'])
    .execute();
  await db.schema.createTable('secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('sealed', 'text', (c) => c.notNull()) // base64: one portable type for binary
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createTable('transactions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('external_tx_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('sub_status', 'text', (c) => c.notNull())
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('asset_id', 'text')
    .addColumn('source_type', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text')
    .addColumn('destination_type', 'text')
    .addColumn('destination_id', 'text')
    .addColumn('destination_address', 'text')
    .addColumn('amount', 'text')
    .addColumn('note', 'text')
    .addColumn('customer_ref_id', 'text')
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('authorization', 'text', (c) => c.notNull())
    .addColumn('policy_rule', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_updated', 'bigint', (c) => c.notNull())
    .addColumn('result', 'text')
    .execute();
  await db.schema.createIndex('transactions_external').unique().on('transactions').columns(['workspace_id', 'external_tx_id']).execute();
  await db.schema.createIndex('transactions_created').on('transactions').columns(['workspace_id', 'created_at']).execute();
  await db.schema.createTable('policies')
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('published_by', 'text', (c) => c.notNull())
    .addColumn('published_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('policies_pk', ['workspace_id', 'version'])
    .execute();
  await db.schema.createTable('approvals')
    .addColumn('tx_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('vote', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('approvals_pk', ['tx_id', 'user_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['approvals', 'policies', 'transactions', 'secrets', 'vault_assets', 'vault_accounts', 'idempotency_keys', 'jwt_nonces', 'api_users', 'workspaces']) {
    await db.schema.dropTable(t).execute();
  }
}
