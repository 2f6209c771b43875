// Every migration, in order. Kysely's Migrator records what ran in its own table, in one
// transaction per migration.
import type { Migration, MigrationProvider } from 'kysely/migration';
import * as initial from './001-initial.js';
import * as walletsAndWork from './002-wallets-and-work.js';
import * as webhooks from './003-webhooks.js';
import * as cosigners from './004-cosigners.js';
import * as mpc from './005-mpc.js';
import * as transfers from './006-transfers.js';
import * as transactionIdempotency from './007-transaction-idempotency.js';
import * as pendingMasterKeys from './008-pending-master-keys.js';
import * as cosignerRunLogs from './009-cosigner-run-logs.js';
import * as configChanges from './010-config-changes.js';

const MIGRATIONS: Record<string, Migration> = {
  '001-initial': initial,
  '002-wallets-and-work': walletsAndWork,
  '003-webhooks': webhooks,
  '004-cosigners': cosigners,
  '005-mpc': mpc,
  '006-transfers': transfers,
  '007-transaction-idempotency': transactionIdempotency,
  '008-pending-master-keys': pendingMasterKeys,
  '009-cosigner-run-logs': cosignerRunLogs,
  '010-config-changes': configChanges,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
