// The coordinator's MPC side as decorations: `masterKeys` (the workspace keys, sealed), `mpcParty`
// (the party the co-signer API's relay talks to; null when the app runs without MPC options, e.g.
// a read-only tool) and `queueForSigning` (called where a transaction becomes QUEUED).
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import { Ed25519Identity } from '../../shared/mpc/authenticated-message.js';
import type { KeyLockStore } from '../../shared/mpc/ecdsa/key-lock-store.js';
import type { PaillierSecretKey } from '../../shared/mpc/paillier/paillier.js';
import { MasterKeys } from '../mpc/master-keys.js';
import { CoordinatorMpcParty, type ChannelIdentity } from '../mpc/coordinator-party.js';
import { COORDINATOR_PARTY_ID, queueForSigning } from '../mpc/signing-requests.js';
import { pairedCosignerIdentity } from '../mpc/cosigner-peers.js';
import { keygenResults, signResults } from '../mpc/work-results.js';
import type { Db } from '../storage/database.js';
import type { TransactionsTable } from '../storage/schema.js';
import type { Logger } from '../../shared/log.js';

export interface MpcOptions {
  /** The durable ECDSA lock (coordinator/mpc/key-lock-journal.ts in the data folder). */
  lockStore: KeyLockStore;
  /** A paired co-signer's MPC identity (raw Ed25519); default: the identity key its attestation bound at pairing. */
  cosignerIdentity?(workspaceId: string, cosignerId: string): Promise<Uint8Array>;
  /** Default: the coordinator's service key (Ed25519), whose fingerprint co-signers pin from the pairing token. */
  identity?: ChannelIdentity;
  paillier?: () => PaillierSecretKey;
  minRingPedersenBits?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    masterKeys: MasterKeys;
    mpcParty: CoordinatorMpcParty | null;
    queueForSigning(trx: Db, row: TransactionsTable): Promise<string | null>;
  }
}

const plugin: FastifyPluginAsync<{ mpc?: MpcOptions }> = async (app, opts) => {
  const masterKeys = new MasterKeys(app.db, app.masterKey);
  app.decorate('masterKeys', masterKeys);
  let party: CoordinatorMpcParty | null = null;
  if (opts.mpc) {
    const m = opts.mpc;
    party = new CoordinatorMpcParty({
      db: app.db, masterKeys, lockStore: m.lockStore, queue: app.workQueue,
      cosignerIdentity: m.cosignerIdentity ?? ((workspaceId, cosignerId) => pairedCosignerIdentity(app.db, workspaceId, cosignerId)),
      identity: m.identity ?? new Ed25519Identity(COORDINATOR_PARTY_ID, (await app.cosignerServiceKey()).privateKey),
      paillier: m.paillier, minRingPedersenBits: m.minRingPedersenBits, log: app.log as unknown as Logger,
    });
    const p = party;
    app.addHook('onReady', async () => {
      const n = await p.abandonOrphans();
      if (n > 0) app.log.warn({ sessions: n }, 'MPC sessions left open by the previous run were marked failed');
    });
  }
  app.decorate('mpcParty', party);
  if (party) {
    // Without a party there are no sessions for such reports to act on.
    app.workResults.register('KEYGEN', keygenResults(app.workQueue, masterKeys));
    app.workResults.register('SIGN', signResults(app.workQueue));
  }
  app.decorate('queueForSigning', (trx: Db, row: TransactionsTable) => queueForSigning(trx, app.workQueue, masterKeys, app.assets, row));
};

export const mpcPlugin = fp(plugin, { name: 'mpc', dependencies: ['database'] });
