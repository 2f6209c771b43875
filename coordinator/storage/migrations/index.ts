// Every migration, in order. Kysely's Migrator records what ran in its own table, in one
// transaction per migration.
import type { Migration, MigrationProvider } from 'kysely/migration';
import * as initial from './001-initial.js';

const MIGRATIONS: Record<string, Migration> = {
  '001-initial': initial,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
