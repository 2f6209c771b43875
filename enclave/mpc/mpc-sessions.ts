// The enclave as MPC party 2 (DESIGN.md "The trust boundary is the design"; CRYPTO.md): it takes
// part in a session only for a work item that checks out (signing/work-item-check.ts: the pinned
// service key, a paired workspace, a live lease, nothing consumed in this boot), and only with the
// coordinator's MPC party, whose messages must be signed by that same pinned service key. Its own
// messages are signed with its identity key, the one its attestation bound at pairing. The parent
// carries the messages both ways and can drop them, but not forge, alter or replay them.
//
// Key generation ends in a sealed state change (the share); the co-signer reports GENERATED only
// after the parent stored it and the enclave counted it. Signing takes the hash from the work item
// only after the enclave's own checks (`approve`): an EVM transfer's hash is recomputed here from
// the unsigned transaction, and the callback's approval comes before the first message.
import { CosignerError, isCosignerError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/bytes.js';
import { Ed25519Identity, ed25519Peers, openMpcMessage, sealMpcMessage, type PeerVerifier } from '../../shared/mpc/authenticated-message.js';
import type { Party } from '../../shared/mpc/party.js';
import { EcdsaKeygenP2, EcdsaSignP2, deriveEcdsaChild, EcdsaKeyShareP2 } from '../../shared/mpc/ecdsa/index.js';
import { FrostDkgParty, FrostKeyShare, FrostSignParty, deriveFrostKeyShare, type FrostScheme } from '../../shared/mpc/frost/index.js';
import { generateRingPedersen } from '../../shared/mpc/zk/ring-pedersen.js';
import { mpcMessageFromJson, mpcMessageToJson, type SignedMpcMessageJson } from '../../shared/cosigner-api/mpc-message-json.js';
import { COORDINATOR_PARTY_ID, COSIGNER_PARTY_ID, type SignItemPayload } from '../../shared/cosigner-api/sign-item.js';
import type { Logger } from '../../shared/log.js';
import { checkWorkItem, consumptionKeys, ConsumedRequests, type CheckedWorkItem } from '../signing/work-item-check.js';
import { activePairing } from '../pairing.js';
import { identityKeyOf, type EnclaveState, type KeyShareEntry } from '../state.js';
import type { SealedStateHolder } from '../state-changes.js';
import type { SealedFile } from '../../shared/messages.js';

const FROST_SCHEME: Record<'MPC_EDDSA_ED25519' | 'MPC_BIP340_SECP256K1', FrostScheme> = { MPC_EDDSA_ED25519: 'ed25519', MPC_BIP340_SECP256K1: 'bip340' };

/** Sessions not finished within this time are dropped (their keys given back where that is safe). */
const SESSION_TTL_MS = 10 * 60_000;
const MAX_LIVE_SESSIONS = 64;

export interface MpcSessionsOptions {
  holder: () => SealedStateHolder;
  log: Logger;
  /** Ring-Pedersen modulus size for ECDSA key generation (CRYPTO.md: at least 2048 in production). */
  ringPedersenBits: number;
  /**
   * The enclave's decision on a SIGN item before it sends anything: returns the hash/message bytes
   * to sign for each message (recomputed by the enclave), or throws a typed refusal.
   */
  approve: (item: CheckedWorkItem & { kind: 'SIGN' }, pairing: { cosignerId: string; userId: string }) => Promise<Uint8Array[]>;
  now?: () => number;
}

interface Live {
  itemId: string;
  kind: 'KEYGEN' | 'SIGN';
  workspaceId: string;
  algorithm: KeyShareEntry['algorithm'];
  party: Party<unknown>;
  peers: PeerVerifier;
  identity: Ed25519Identity;
  sessionId: Uint8Array;
  /** Keys to give back if the session dies before the enclave's last message. */
  releaseOnAbort: string[];
  startedAt: number;
}

export interface StartedSession {
  sessionId: string;
  outbound: SignedMpcMessageJson[];
}

export class MpcSessions {
  private readonly live = new Map<string, Live>();
  private readonly consumed = new ConsumedRequests();
  private readonly shares = new Map<string, EcdsaKeyShareP2 | FrostKeyShare>();

  constructor(private readonly o: MpcSessionsOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /**
   * A work item as the parent got it from the long poll. Checks it, then (SIGN) runs the enclave's
   * approval, then opens one session per MPC session the item names and returns their first messages.
   */
  async start(req: { cosignerId: string; itemJson: string; signature: string }): Promise<StartedSession[]> {
    this.expire();
    const state = this.o.holder().state;
    const pairing = activePairing(state, req.cosignerId);
    let raw: unknown;
    try {
      raw = JSON.parse(req.itemJson);
    } catch {
      throw new CosignerError('SCHEMA_VIOLATION', 'the work item is not JSON');
    }
    if (this.live.size >= MAX_LIVE_SESSIONS) throw new CosignerError('MPC_STATE', `${MAX_LIVE_SESSIONS} MPC sessions are already open`);
    const ctx = {
      serviceKeySpki: pairing.serviceKeySpki,
      pinnedServiceKeySha256: pairing.serviceKeySha256,
      pairedWorkspaces: new Set(state.pairings.filter((p) => p.status === 'active' && p.cosignerId === req.cosignerId).map((p) => p.workspaceId!)),
      now: this.now(),
      consumed: this.consumed,
    };
    let item: CheckedWorkItem;
    try {
      item = checkWorkItem(raw, req.signature, ctx);
    } catch (e) {
      // The coordinator re-issues a transaction message whose session it lost (its restart, a lease
      // handed over). If this enclave still has that session open and unfinished, the new item
      // supersedes it: the old one is aborted (it never gave its last message) and the check rerun.
      if (!isCosignerError(e, 'REQUEST_REPLAYED') || !this.abortSuperseded(String(e.details?.key ?? ''))) throw e;
      item = checkWorkItem(raw, req.signature, ctx);
    }
    const peers = ed25519Peers(new Map([[COORDINATOR_PARTY_ID, pairing.serviceKeySpki.subarray(pairing.serviceKeySpki.length - 32)]]));
    const identity = new Ed25519Identity(COSIGNER_PARTY_ID, identityKeyOf(state));
    const txKeys = consumptionKeys(item).filter((k) => k.startsWith('tx-message:'));
    try {
      const sessions = item.kind === 'KEYGEN'
        ? [this.keygenSession(state, item as CheckedWorkItem & { kind: 'KEYGEN' })]
        : await this.signSessions(state, item as CheckedWorkItem & { kind: 'SIGN' }, { cosignerId: req.cosignerId, userId: pairing.userId! });
      const out: StartedSession[] = [];
      for (const s of sessions) {
        const live: Live = { ...s, itemId: item.id, workspaceId: item.workspaceId, peers, identity, releaseOnAbort: s.kind === 'SIGN' ? txKeys : [], startedAt: this.now() };
        this.live.set(toHex(s.sessionId), live);
        out.push({ sessionId: toHex(s.sessionId), outbound: live.party.start().map((m) => mpcMessageToJson(sealMpcMessage(m, identity))) });
      }
      this.o.log.info({ itemId: item.id, kind: item.kind, workspaceId: item.workspaceId, sessions: out.length }, 'MPC work item checked; sessions open');
      return out;
    } catch (e) {
      this.consumed.release(txKeys);
      throw e;
    }
  }

  private keygenSession(state: EnclaveState, item: CheckedWorkItem & { kind: 'KEYGEN' }): Omit<Live, 'itemId' | 'workspaceId' | 'peers' | 'identity' | 'releaseOnAbort' | 'startedAt'> {
    const { algorithm, sessionId: sid } = item.payload;
    if (state.keyShares.some((k) => k.workspaceId === item.workspaceId && k.algorithm === algorithm)) {
      throw new CosignerError('MPC_STATE', `this enclave already holds a ${algorithm} key share for workspace ${item.workspaceId}`);
    }
    const sessionId = fromHex(sid);
    const party: Party<unknown> = algorithm === 'MPC_ECDSA_SECP256K1'
      ? new EcdsaKeygenP2({ sessionId, p1Id: COORDINATOR_PARTY_ID, p2Id: COSIGNER_PARTY_ID, ringPedersen: generateRingPedersen(this.o.ringPedersenBits), minRingPedersenBits: this.o.ringPedersenBits })
      : new FrostDkgParty({ scheme: FROST_SCHEME[algorithm], sessionId, self: COSIGNER_PARTY_ID, parties: [COORDINATOR_PARTY_ID, COSIGNER_PARTY_ID], threshold: 2 });
    return { kind: 'KEYGEN', algorithm, party, sessionId };
  }

  private async signSessions(state: EnclaveState, item: CheckedWorkItem & { kind: 'SIGN' }, who: { cosignerId: string; userId: string }) {
    const p: SignItemPayload = item.payload;
    const share = this.share(state, item.workspaceId, p.algorithm);
    const contents = await this.o.approve(item, who);
    if (contents.length !== p.messages.length) throw new CosignerError('INTERNAL', 'approval returned the wrong number of messages');
    return p.messages.map((m, i) => {
      const sessionId = fromHex(m.sessionId);
      const content = contents[i]!;
      let party: Party<unknown>;
      if (share instanceof EcdsaKeyShareP2) {
        const child = deriveEcdsaChild(share, m.derivationPath);
        party = new EcdsaSignP2(share, { sessionId, p1Id: COORDINATOR_PARTY_ID, p2Id: COSIGNER_PARTY_ID, messageHash: content, tweak: child.tweak });
      } else {
        const child = deriveFrostKeyShare(share, m.derivationPath);
        party = new FrostSignParty({ keyShare: child.keyShare, sessionId, signers: [COORDINATOR_PARTY_ID, COSIGNER_PARTY_ID], message: content });
      }
      return { kind: 'SIGN' as const, algorithm: p.algorithm, party, sessionId };
    });
  }

  /** The decoded share (decoded once per boot: the engine's key lock lives on the object). */
  private share(state: EnclaveState, workspaceId: string, algorithm: KeyShareEntry['algorithm']): EcdsaKeyShareP2 | FrostKeyShare {
    const key = `${workspaceId}/${algorithm}`;
    const cached = this.shares.get(key);
    if (cached) return cached;
    const entry = state.keyShares.find((k) => k.workspaceId === workspaceId && k.algorithm === algorithm);
    if (!entry) throw new CosignerError('MPC_STATE', `this enclave holds no ${algorithm} key share for workspace ${workspaceId}`);
    const share = algorithm === 'MPC_ECDSA_SECP256K1' ? EcdsaKeyShareP2.decode(entry.share) : FrostKeyShare.decode(entry.share);
    this.shares.set(key, share);
    return share;
  }

  /**
   * Messages from the coordinator's party for one session → the enclave's answers. A finished
   * key generation answers with the state change to store (`toStore`); it counts after ConfirmState.
   */
  step(req: { sessionId: string; inbound: unknown[] }): { outbound: SignedMpcMessageJson[]; done: boolean; toStore: SealedFile | null } {
    this.expire();
    const live = this.live.get(req.sessionId);
    if (!live) throw new CosignerError('MPC_STATE', 'no open MPC session with that id in this enclave');
    const outbound: SignedMpcMessageJson[] = [];
    try {
      for (const m of req.inbound) {
        const opened = openMpcMessage(mpcMessageFromJson(m), { self: COSIGNER_PARTY_ID, sessionId: live.sessionId, peers: live.peers });
        for (const o of live.party.receive(opened)) outbound.push(mpcMessageToJson(sealMpcMessage(o, live.identity)));
      }
    } catch (e) {
      // Terminal (CRYPTO.md): a session that saw one bad message is dead.
      this.abort(req.sessionId, live, e);
      throw e;
    }
    if (!live.party.done) return { outbound, done: false, toStore: null };
    this.live.delete(req.sessionId);
    if (live.kind === 'SIGN') {
      this.o.log.info({ itemId: live.itemId, sessionId: req.sessionId }, 'MPC signing session finished');
      return { outbound, done: true, toStore: null };
    }
    const share = live.party.result() as EcdsaKeyShareP2 | FrostKeyShare;
    const publicKey = share instanceof EcdsaKeyShareP2 ? share.publicKey : share.groupPublicKey;
    const entry: KeyShareEntry = { workspaceId: live.workspaceId, algorithm: live.algorithm, publicKey: toHex(publicKey), share: share.encode(), createdAt: this.now() };
    const toStore = this.o.holder().propose(`keygen:${req.sessionId}`, (s) => ({ ...s, keyShares: [...s.keyShares, entry] }));
    this.o.log.info({ itemId: live.itemId, algorithm: live.algorithm, workspaceId: live.workspaceId, publicKey: entry.publicKey }, 'key generation finished; the share is sealed and waits for the parent to store it');
    return { outbound, done: true, toStore };
  }

  /** Aborts the unfinished session holding the tx-message key a REQUEST_REPLAYED names; whether there was one. */
  private abortSuperseded(key: string): boolean {
    if (!key.startsWith('tx-message:')) return false;
    for (const [id, live] of this.live) {
      if (live.releaseOnAbort.includes(key) && !live.party.done) {
        this.abort(id, live, new CosignerError('MPC_STATE', 'superseded by a re-issued work item for the same transaction message'));
        return true;
      }
    }
    return false;
  }

  private abort(sessionId: string, live: Live, why: unknown): void {
    this.live.delete(sessionId);
    if (!live.party.done) this.consumed.release(live.releaseOnAbort);
    this.o.log.warn({ itemId: live.itemId, sessionId, code: isCosignerError(why) ? why.code : 'INTERNAL' }, `MPC session aborted: ${isCosignerError(why) ? why.message : 'error'}`);
  }

  private expire(): void {
    const now = this.now();
    for (const [id, live] of this.live) if (now - live.startedAt > SESSION_TTL_MS) this.abort(id, live, new CosignerError('MPC_STATE', 'the session timed out'));
  }
}
