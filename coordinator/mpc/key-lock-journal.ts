// The coordinator's durable terminal lock for its ECDSA P1 keys (CVE-2023-33242; the contract is in
// shared/mpc/ecdsa/key-lock-store.ts). A journal of its own — a small SQLite file beside the
// database, written only here — because the engine asks synchronously, between two steps of one
// message, and the main database is reached through Kysely's asynchronous pool: a synchronous
// write on that same connection could land inside another request's open transaction and be
// rolled back with it. synchronous=FULL makes a committed lock survive a power cut; a lock is never
// deleted. Several coordinator instances (the scale-out issue) will each need this journal copied
// to the shared database before they answer; one instance is what exists today.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { CosignerError } from '../../shared/errors.js';
import type { KeyLockStore } from '../../shared/mpc/ecdsa/key-lock-store.js';

export class KeyLockJournal implements KeyLockStore {
  private readonly db: SQLite.Database;
  private readonly select: SQLite.Statement<[string], { reason: string }>;
  private readonly insert: SQLite.Statement<[string, string, number]>;

  private constructor(db: SQLite.Database) {
    this.db = db;
    db.exec('CREATE TABLE IF NOT EXISTS key_locks (key_id TEXT PRIMARY KEY, reason TEXT NOT NULL, locked_at INTEGER NOT NULL)');
    this.select = db.prepare('SELECT reason FROM key_locks WHERE key_id = ?');
    this.insert = db.prepare('INSERT INTO key_locks (key_id, reason, locked_at) VALUES (?, ?, ?) ON CONFLICT (key_id) DO NOTHING');
  }

  /** Opens (creating if absent) the journal at `file`; ':memory:' only for tests of a single process. */
  static open(file: string): KeyLockJournal {
    try {
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const db = new SQLite(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      return new KeyLockJournal(db);
    } catch (e) {
      throw new CosignerError('CONFIG_INVALID', `cannot open the MPC key lock journal ${file}`, undefined, { cause: e });
    }
  }

  isLocked(keyId: string): boolean {
    // better-sqlite3 throws on any failure to read: the engine then refuses to sign (fail closed).
    return this.select.get(keyId) !== undefined;
  }

  lock(keyId: string, reason: string): void {
    this.insert.run(keyId, reason.slice(0, 500), Date.now());
    if (!this.isLocked(keyId)) throw new CosignerError('INTERNAL', 'the key lock was not recorded');
  }

  /** The first recorded reason, for operators (`coordinator` status and tests). */
  reason(keyId: string): string | undefined {
    return this.select.get(keyId)?.reason;
  }

  close(): void {
    this.db.close();
  }
}
