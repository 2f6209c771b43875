// A master key share is PENDING from the end of the coordinator's key generation until the
// co-signer reports GENERATED (it reports that only once its own share is sealed and stored), and
// only then ACTIVE: no address is derived from, and nothing is signed with, a key whose other share
// a crash could still lose. Keys made before this migration are ACTIVE.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('mpc_keys').addColumn('status', 'text', (c) => c.notNull().defaultTo('ACTIVE')).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('mpc_keys').dropColumn('status').execute();
}
