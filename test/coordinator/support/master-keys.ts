// A workspace master key for route tests that need one but not the co-signer flow around it
// (that flow is test/coordinator/mpc-party.test.ts): a real 2-of-2 FROST DKG run in-process, the
// coordinator's share stored as key generation stores it, and made active as GENERATED would.
import { randomBytes } from 'node:crypto';
import { FrostDkgParty, type FrostKeyShare } from '../../../shared/mpc/frost/index.js';
import { FROST_SCHEME } from '../../../coordinator/mpc/master-keys.js';
import { runTwoParties } from '../../support/run-parties.js';
import type { TestCoordinator } from './build-app.js';

export async function giveFrostMasterKey(c: TestCoordinator, algorithm: 'MPC_EDDSA_ED25519' | 'MPC_BIP340_SECP256K1'): Promise<FrostKeyShare> {
  const sessionId = new Uint8Array(randomBytes(32));
  const [p1, p2] = [1, 2].map((self) => new FrostDkgParty({ scheme: FROST_SCHEME[algorithm], sessionId, self, parties: [1, 2], threshold: 2 }));
  runTwoParties(p1!, p2!);
  const share = p1!.result();
  const sid = Buffer.from(sessionId).toString('hex');
  await c.db.transaction().execute(async (trx) => {
    await c.app.masterKeys.store(trx, { workspaceId: c.workspace.id, algorithm, share, sessionId: sid, cosignerId: 'in-process-test-party' });
    await c.app.masterKeys.activate(trx, sid); // the other party holds its share (it is right here)
  });
  return p2!.result();
}
