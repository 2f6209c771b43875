// What `serve` and every CLI command open: the data folder's database (migrated) and the master key.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MasterKey } from './secrets/master-key.js';
import { migrate, openSqlite, type Db } from './storage/database.js';

export interface OpenOptions {
  dataDir: string;
  /** A file holding the master key as hex; default <dataDir>/master.key, made (0600) if absent. */
  masterKeyFile?: string;
  /** Take the master key from this environment variable instead. */
  masterKeyEnv?: string;
}

export const DEFAULT_MASTER_KEY_ENV = 'COORDINATOR_MASTER_KEY';

export function loadMasterKey(o: OpenOptions): MasterKey {
  if (o.masterKeyEnv) return MasterKey.fromEnv(o.masterKeyEnv);
  if (!o.masterKeyFile && process.env[DEFAULT_MASTER_KEY_ENV]) return MasterKey.fromEnv(DEFAULT_MASTER_KEY_ENV);
  const file = o.masterKeyFile ?? join(o.dataDir, 'master.key');
  if (!o.masterKeyFile && !existsSync(file)) {
    // First start with the default location: make a key only this user can read ('wx': never replace one).
    mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return MasterKey.fromFile(file);
}

export async function openDatabase(o: OpenOptions): Promise<Db> {
  const db = openSqlite(o.dataDir);
  await migrate(db);
  return db;
}
