// The coordinator's MPC identity (party 1): an Ed25519 key made on first start and kept sealed
// under the master key in the `secrets` table. It signs every MPC message the coordinator's party
// sends (shared/mpc/authenticated-message.ts); a co-signer verifies them with the key it pinned.
import { generateKeyPairSync } from 'node:crypto';
import { Ed25519Identity } from '../../shared/mpc/authenticated-message.js';
import { isUniqueViolation } from '../plugins/authenticate.js';
import type { Db } from '../storage/database.js';
import type { MasterKey } from './master-key.js';

const NAME = 'mpc-identity-key';

export async function mpcIdentity(db: Db, masterKey: MasterKey, partyId: number): Promise<Ed25519Identity> {
  let row = await db.selectFrom('secrets').selectAll().where('name', '=', NAME).executeTakeFirst();
  if (!row) {
    const der = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' });
    try {
      await db.insertInto('secrets').values({ name: NAME, sealed: masterKey.seal(NAME, new Uint8Array(der)), created_at: Date.now() }).execute();
    } catch (e) {
      if (!isUniqueViolation(e)) throw e; // another instance made one first: use that
    } finally {
      der.fill(0);
    }
    row = await db.selectFrom('secrets').selectAll().where('name', '=', NAME).executeTakeFirstOrThrow();
  }
  const der = masterKey.open(NAME, row.sealed);
  try {
    return Ed25519Identity.fromPkcs8(partyId, der);
  } finally {
    der.fill(0);
  }
}
