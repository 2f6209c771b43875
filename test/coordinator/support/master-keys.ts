// A workspace master key for route tests that need one but not the co-signer flow around it
// (that flow is test/coordinator/mpc-party.test.ts): a real 2-of-2 FROST DKG run in-process, the
// coordinator's share stored as key generation stores it.
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
  await c.db.transaction().execute((trx) => c.app.masterKeys.store(trx, { workspaceId: c.workspace.id, algorithm, share, sessionId: Buffer.from(sessionId).toString('hex'), cosignerId: 'in-process-test-party' }));
  return p2!.result();
}
