// The coordinator's MPC party (issue 8, "The coordinator's MPC party"): P1 of two-party ECDSA
// (it holds the Paillier key) and party 1 of 2-of-2 FROST, in the sessions that work items named
// (signing-requests.ts). The relay (co-signer API) hands it a paired co-signer's channel hello and
// then encrypted frames; it opens the session's end-to-end channel with that co-signer
// (shared/cosigner-api/mpc-channel.ts), authenticates every message against the co-signer's
// identity key, runs the engine, and answers with its own messages, signed with the coordinator's
// identity and encrypted on the same channel.
//
// Safety rules, each enforced here rather than trusted to the relay:
//   - what a session does (key, path, hash or message) comes from the session row, never from the peer;
//   - a session is continued only by the co-signer that opened it, and one message at a time;
//   - ECDSA P1 signs through the durable KeyLockStore: a failure after decryption is locked on disk
//     before the error leaves this process (shared/mpc/ecdsa/key-lock-store.ts), and a locked key
//     refuses every later session;
//   - a message that already has a signature is never signed again (a DONE session for the same
//     transaction and message refuses a new one), and a finished or failed session never restarts;
//   - a session whose party was lost (coordinator restart) fails instead of being rebuilt: a fresh
//     party would mean fresh nonces mid-protocol.
import { CosignerError, isCosignerError } from '../../shared/errors.js';
import { ed25519Peers, openMpcMessage, sealMpcMessage, type MessageSigner, type PeerVerifier } from '../../shared/mpc/authenticated-message.js';
import { acceptCosignerHello, sameHello, type MpcChannel, type MpcFrame, type MpcHello } from '../../shared/cosigner-api/mpc-channel.js';
import type { MpcMessage, Party } from '../../shared/mpc/party.js';
import { EcdsaKeygenP1, EcdsaSignP1, deriveEcdsaChild, type EcdsaSignature, type EcdsaKeyShareP1 } from '../../shared/mpc/ecdsa/index.js';
import type { KeyLockStore } from '../../shared/mpc/ecdsa/key-lock-store.js';
import type { PaillierSecretKey } from '../../shared/mpc/paillier/paillier.js';
import { FrostDkgParty, FrostSignParty, deriveFrostKeyShare, type FrostKeyShare, type FrostSignature } from '../../shared/mpc/frost/index.js';
import type { Logger } from '../../shared/log.js';
import type { AssetAlgorithm } from '../assets/index.js';
import type { Db } from '../storage/database.js';
import type { MpcSessionsTable } from '../storage/schema.js';
import type { SignedMessageJson } from '../transactions/view.js';
import { FROST_SCHEME, type MasterKeys } from './master-keys.js';
import type { MpcOpening, MpcPartyEndpoint, MpcSessionRef } from './party-endpoint.js';
import { COORDINATOR_PARTY_ID, COSIGNER_PARTY_ID, reissueSigning, requestMasterKeys, type SignSessionParams } from './signing-requests.js';
import type { WorkQueue } from '../work-queue/work-queue.js';
import { markSigning, recordSignature, recordSigningFailure } from './signature-result.js';

/** The coordinator's MPC identity: it signs messages and channel hellos; co-signers know its public key from pairing. */
export type ChannelIdentity = MessageSigner & { readonly publicKey: Uint8Array };

export interface CoordinatorPartyOptions {
  db: Db;
  masterKeys: MasterKeys;
  lockStore: KeyLockStore;
  /** The coordinator's MPC identity (party 1); co-signers verify it with the key pinned at pairing. */
  identity: ChannelIdentity;
  /** A paired co-signer's MPC identity (its attested Ed25519 key, raw 32 bytes), as party 2. */
  cosignerIdentity(workspaceId: string, cosignerId: string): Promise<Uint8Array>;
  /** Paillier key for a new ECDSA key (default: a fresh 2048-bit one); tests pass a prepared one. */
  paillier?: () => PaillierSecretKey;
  /** Where lost sessions are issued again (signing-requests.ts reissueSigning / requestMasterKeys). */
  queue: WorkQueue;
  /** Shortest ring-Pedersen modulus accepted from a co-signer (default 2048; tests lower it). */
  minRingPedersenBits?: number;
  log?: Logger;
}

interface Live {
  party: Party<unknown>;
  peer: PeerVerifier;
  channel: MpcChannel;
  /** The co-signer's hello that opened the channel, and the answer (given again for the same hello). */
  cosignerHello: MpcHello;
  opening: MpcOpening;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

export class CoordinatorMpcParty implements MpcPartyEndpoint {
  private readonly live = new Map<string, Live>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly o: CoordinatorPartyOptions) {
    if (o.identity.partyId !== COORDINATOR_PARTY_ID) throw new CosignerError('CONFIG_INVALID', `the coordinator's MPC identity must be party ${COORDINATOR_PARTY_ID}`);
  }

  opening(ref: MpcSessionRef, hello: MpcHello): Promise<MpcOpening> {
    return this.serially(ref, async (row) => {
      const existing = this.live.get(row.id);
      if (existing) {
        if (!sameHello(existing.cosignerHello, hello)) throw new CosignerError('MPC_STATE', 'this session\'s channel was opened with another hello');
        return existing.opening;
      }
      try {
        return (await this.begin(row, ref, hello)).opening;
      } catch (e) {
        await this.fail(row, e); // e.g. MPC_KEY_LOCKED, or the message was signed already
        throw e;
      }
    });
  }

  receive(ref: MpcSessionRef, frames: MpcFrame[]): Promise<MpcFrame[]> {
    return this.serially(ref, async (row) => {
      const live = this.live.get(row.id);
      if (!live) {
        await this.fail(row, new CosignerError('MPC_STATE', 'the session has no live party (the coordinator restarted, or it was never opened)'), { reissue: true });
        throw new CosignerError('MPC_STATE', 'this MPC session cannot be resumed; it has been issued again as a new work item');
      }
      const out: MpcMessage[] = [];
      try {
        for (const f of frames) {
          const authenticated = openMpcMessage(live.channel.open(f), { self: COORDINATOR_PARTY_ID, sessionId: ref.sessionId, peers: live.peer });
          out.push(...live.party.receive(authenticated));
        }
      } catch (e) {
        // The engine has already recorded any ECDSA lock durably; the session is over either way.
        await this.fail(row, e);
        throw e;
      }
      const answers = out.map((m) => live.channel.seal(sealMpcMessage(m, this.o.identity)));
      if (live.party.done) await this.finish(row, ref, live.party);
      return answers;
    });
  }

  /** Marks sessions left OPEN by a previous process as failed (their parties are gone). Run at start. */
  async abandonOrphans(): Promise<number> {
    const orphans = await this.o.db.selectFrom('mpc_sessions').selectAll().where('state', '=', 'OPEN').where('cosigner_id', 'is not', null).execute();
    for (const row of orphans) await this.fail(row, new CosignerError('MPC_STATE', 'the coordinator restarted during the session'), { reissue: true });
    return orphans.length;
  }

  // ------------------------------------------------------------------ session lifecycle

  /** One call at a time per session, after checking the session is this workspace's and this co-signer's. */
  private serially<T>(ref: MpcSessionRef, fn: (row: MpcSessionsTable) => Promise<T>): Promise<T> {
    const id = hex(ref.sessionId);
    const run = (this.queues.get(id) ?? Promise.resolve()).catch(() => undefined).then(async () => fn(await this.claim(ref)));
    this.queues.set(id, run);
    void run.finally(() => { if (this.queues.get(id) === run) this.queues.delete(id); }).catch(() => undefined);
    return run;
  }

  private async claim(ref: MpcSessionRef): Promise<MpcSessionsTable> {
    const id = hex(ref.sessionId);
    const row = await this.o.db.selectFrom('mpc_sessions').selectAll().where('id', '=', id).where('workspace_id', '=', ref.workspaceId).executeTakeFirst();
    if (!row) throw new CosignerError('NOT_FOUND', 'no such MPC session in this workspace');
    if (row.state !== 'OPEN') throw new CosignerError('MPC_STATE', `the MPC session is ${row.state === 'DONE' ? 'finished' : 'failed'}`);
    if (row.cosigner_id === null) {
      // First contact binds the session to this co-signer (compare-and-set: two racing co-signers, one wins).
      await this.o.db.updateTable('mpc_sessions').set({ cosigner_id: ref.cosignerId, updated_at: Date.now() })
        .where('id', '=', id).where('cosigner_id', 'is', null).execute();
      const again = await this.o.db.selectFrom('mpc_sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      if (again.cosigner_id !== ref.cosignerId) throw new CosignerError('MPC_STATE', 'the MPC session belongs to another co-signer');
      return again;
    }
    if (row.cosigner_id !== ref.cosignerId) {
      // The work item's lease went to this co-signer (the first one stopped mid-session): the
      // session cannot be continued by another party, so it is issued again with new sessions.
      const item = await this.o.db.selectFrom('work_items').select(['state', 'lease_owner']).where('id', '=', row.work_item_id).executeTakeFirst();
      if (item?.state === 'LEASED' && item.lease_owner === ref.cosignerId) {
        await this.fail(row, new CosignerError('MPC_STATE', 'the work item was handed to another co-signer mid-session'), { reissue: true });
        throw new CosignerError('MPC_STATE', 'this MPC session was started by another co-signer; it has been issued again as a new work item');
      }
      throw new CosignerError('MPC_STATE', 'the MPC session belongs to another co-signer');
    }
    return row;
  }

  private async begin(row: MpcSessionsTable, ref: MpcSessionRef, cosignerHello: MpcHello): Promise<Live> {
    // The channel first: nothing starts for a hello its co-signer did not sign for this session and work item.
    const cosignerIdentity = await this.o.cosignerIdentity(row.workspace_id, ref.cosignerId);
    const peer = ed25519Peers(new Map([[COSIGNER_PARTY_ID, cosignerIdentity]]));
    const ctx = { sessionId: ref.sessionId, workItemId: row.work_item_id, cosignerIdentity, coordinatorIdentity: this.o.identity.publicKey };
    const { hello, channel } = acceptCosignerHello(ctx, cosignerHello, peer, this.o.identity);
    const party = row.kind === 'KEYGEN' ? this.keygenParty(row, ref) : await this.signParty(row, ref);
    if (row.kind === 'SIGN') await this.o.db.transaction().execute((trx) => markSigning(trx, row.transaction_id!));
    const messages = party.start().map((m) => channel.seal(sealMpcMessage(m, this.o.identity)));
    const live: Live = { party, peer, channel, cosignerHello, opening: { hello, messages } };
    this.live.set(row.id, live);
    this.o.log?.info({ session: row.id, kind: row.kind, algorithm: row.algorithm, cosigner: ref.cosignerId }, 'MPC session started');
    return live;
  }

  private keygenParty(row: MpcSessionsTable, ref: MpcSessionRef): Party<unknown> {
    const algorithm = row.algorithm as AssetAlgorithm;
    if (algorithm === 'MPC_ECDSA_SECP256K1') {
      return new EcdsaKeygenP1({
        sessionId: ref.sessionId, p1Id: COORDINATOR_PARTY_ID, p2Id: COSIGNER_PARTY_ID,
        paillier: this.o.paillier?.(), minRingPedersenBits: this.o.minRingPedersenBits,
      });
    }
    return new FrostDkgParty({ scheme: FROST_SCHEME[algorithm], sessionId: ref.sessionId, self: COORDINATOR_PARTY_ID, parties: [COORDINATOR_PARTY_ID, COSIGNER_PARTY_ID], threshold: 2 });
  }

  private async signParty(row: MpcSessionsTable, ref: MpcSessionRef): Promise<Party<unknown>> {
    const signedBefore = await this.o.db.selectFrom('mpc_sessions').select('id')
      .where('transaction_id', '=', row.transaction_id).where('message_index', '=', row.message_index).where('state', '=', 'DONE').executeTakeFirst();
    if (signedBefore) throw new CosignerError('MPC_STATE', 'this message has been signed already; a second signing session is refused');
    const tx = await this.o.db.selectFrom('transactions').select(['status']).where('id', '=', row.transaction_id!).executeTakeFirst();
    if (!tx || (tx.status !== 'QUEUED' && tx.status !== 'PENDING_SIGNATURE')) throw new CosignerError('MPC_STATE', `the transaction is ${tx?.status ?? 'gone'}: nothing to sign`);
    const p = JSON.parse(row.params) as SignSessionParams;
    const algorithm = row.algorithm as AssetAlgorithm;
    const share = await this.o.masterKeys.share(row.workspace_id, algorithm);
    const content = bytes(p.content);
    if (algorithm === 'MPC_ECDSA_SECP256K1') {
      const child = deriveEcdsaChild(share as EcdsaKeyShareP1, p.derivationPath);
      return new EcdsaSignP1(share as EcdsaKeyShareP1, {
        sessionId: ref.sessionId, p1Id: COORDINATOR_PARTY_ID, p2Id: COSIGNER_PARTY_ID, messageHash: content, tweak: child.tweak, lockStore: this.o.lockStore,
      });
    }
    if (algorithm !== 'MPC_EDDSA_ED25519') throw new CosignerError('MPC_STATE', `RAW signing with ${algorithm} is not offered`);
    const child = deriveFrostKeyShare(share as FrostKeyShare, p.derivationPath);
    return new FrostSignParty({ keyShare: child.keyShare, sessionId: ref.sessionId, signers: [COORDINATOR_PARTY_ID, COSIGNER_PARTY_ID], message: content });
  }

  private async finish(row: MpcSessionsTable, ref: MpcSessionRef, party: Party<unknown>): Promise<void> {
    this.live.get(row.id)?.channel.close();
    this.live.delete(row.id);
    const algorithm = row.algorithm as AssetAlgorithm;
    await this.o.db.transaction().execute(async (trx) => {
      if (row.kind === 'KEYGEN') {
        const share = party.result() as EcdsaKeyShareP1 | FrostKeyShare;
        await this.o.masterKeys.store(trx, { workspaceId: row.workspace_id, algorithm, share, sessionId: row.id, cosignerId: ref.cosignerId });
        await done(trx, row, null);
        return;
      }
      const signed = this.signedMessage(row, party.result() as EcdsaSignature | FrostSignature, await this.o.masterKeys.share(row.workspace_id, algorithm));
      await done(trx, row, JSON.stringify(signed));
      await recordSignature(trx, row.transaction_id!);
    });
    this.o.log?.info({ session: row.id, kind: row.kind, algorithm }, 'MPC session finished');
  }

  private signedMessage(row: MpcSessionsTable, result: EcdsaSignature | FrostSignature, share: EcdsaKeyShareP1 | FrostKeyShare): SignedMessageJson {
    const p = JSON.parse(row.params) as SignSessionParams;
    if (row.algorithm === 'MPC_ECDSA_SECP256K1') {
      const sig = result as EcdsaSignature;
      const child = deriveEcdsaChild(share as EcdsaKeyShareP1, p.derivationPath);
      const compact = sig.toCompact();
      return {
        content: p.content, algorithm: row.algorithm, derivationPath: p.derivationPath, publicKey: hex(child.publicKey),
        signature: { fullSig: hex(compact), r: hex(compact.subarray(0, 32)), s: hex(compact.subarray(32)), v: sig.recoveryId & 1 },
      };
    }
    const sig = result as FrostSignature;
    return { content: p.content, algorithm: row.algorithm, derivationPath: p.derivationPath, publicKey: hex(sig.publicKey), signature: { fullSig: hex(sig.signature) } };
  }

  /**
   * Ends a session. `reissue`: the session was lost, not refused (restart, lease hand-over), so its
   * work is issued again with new sessions; a refusal (bad message, locked key) fails the transaction.
   */
  private async fail(row: MpcSessionsTable, e: unknown, opts: { reissue?: boolean } = {}): Promise<void> {
    this.live.get(row.id)?.channel.close();
    this.live.delete(row.id);
    const why = isCosignerError(e) ? `${e.code}: ${e.message}` : 'INTERNAL: unexpected failure';
    await this.o.db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('mpc_sessions').set({ state: 'FAILED', failure: why.slice(0, 500), updated_at: Date.now() })
        .where('id', '=', row.id).where('state', '=', 'OPEN').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return;
      if (row.kind === 'KEYGEN') {
        if (opts.reissue) await requestMasterKeys(trx, this.o.queue, this.o.masterKeys, row.workspace_id, [row.algorithm as AssetAlgorithm]);
        return;
      }
      if (opts.reissue) {
        const r = await reissueSigning(trx, this.o.queue, row.transaction_id!);
        if (r.kind !== 'exhausted') return;
      }
      await recordSigningFailure(trx, row.transaction_id!, `MPC signing failed: ${why}`);
    });
    if (opts.reissue) this.o.queue.wake(row.workspace_id);
    this.o.log?.warn({ session: row.id, kind: row.kind, algorithm: row.algorithm, failure: why.slice(0, 200) }, 'MPC session failed');
  }
}

async function done(trx: Db, row: MpcSessionsTable, result: string | null): Promise<void> {
  const r = await trx.updateTable('mpc_sessions').set({ state: 'DONE', result, updated_at: Date.now() })
    .where('id', '=', row.id).where('state', '=', 'OPEN').executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new CosignerError('MPC_STATE', 'the MPC session changed state meanwhile');
}
