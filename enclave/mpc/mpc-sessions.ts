// The enclave as MPC party 2 (DESIGN.md "The trust boundary is the design"; CRYPTO.md): it takes
// part in a session only for a work item that checks out (signing/work-item-check.ts: the pinned
// service key, a paired workspace, a live lease, nothing consumed in this boot), and only with the
// coordinator's MPC party, whose messages must be signed by that same pinned service key. Its own
// messages are signed with its identity key, the one its attestation bound at pairing, and every
// message travels inside the session's end-to-end channel (shared/cosigner-api/mpc-channel.ts):
// the parent carries the frames both ways and can drop them, but not read, forge, alter, replay
// or reorder them.
//
// Key generation ends in a sealed state change (the share); the co-signer reports GENERATED only
// after the parent stored it and the enclave counted it. Signing: the enclave recomputes what it
// signs (an EVM transfer's hash from the unsigned transaction), asks the user's callback handler
// with a request JWT it signs itself, verifies the answer, and only then opens its sessions.
import { CosignerError, isCosignerError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/bytes.js';
import { Ed25519Identity, ed25519Peers, openMpcMessage, sealMpcMessage, type PeerVerifier } from '../../shared/mpc/authenticated-message.js';
import type { MpcMessage, Party } from '../../shared/mpc/party.js';
import { EcdsaKeygenP2, EcdsaSignP2, deriveEcdsaChild, EcdsaKeyShareP2 } from '../../shared/mpc/ecdsa/index.js';
import { FrostDkgParty, FrostKeyShare, FrostSignParty, deriveFrostKeyShare, type FrostScheme } from '../../shared/mpc/frost/index.js';
import { generateRingPedersen } from '../../shared/mpc/zk/ring-pedersen.js';
import { beginCosignerHandshake, completeCosignerHandshake, frameFromJson, frameToJson, helloFromJson, helloToJson, type MpcChannel, type MpcFrameJson, type MpcHelloJson, type PendingHandshake } from '../../shared/cosigner-api/mpc-channel.js';
import { COORDINATOR_PARTY_ID, COSIGNER_PARTY_ID, parseKeygenItemPayload, type SignItemPayload } from '../../shared/cosigner-api/sign-item.js';
import type { Logger } from '../../shared/log.js';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { CallbackHttpOutcome } from '../../shared/callback/claims.js';
import { signRequestJwt } from '../../shared/callback/request-jwt.js';
import { decide, interpretAnswer, DEFAULT_MAX_RETRIES, DEFAULT_RETRY_INTERVAL_MS, NO_CALLBACK_REASON } from '../callback/approval.js';
import { signRequestClaims } from '../callback/sign-request-claims.js';
import { messagesToSign, type CheckedSignItem } from '../signing/approve-sign-item.js';
import { checkWorkItem, consumptionKeys, ConsumedRequests, type CheckedWorkItem } from '../signing/work-item-check.js';
import { activePairing } from '../pairing.js';
import { checkPolicy, recordSpend } from '../policy/policy-check.js';
import { identityKeyOf, type EnclaveState, type KeyShareEntry } from '../state.js';
import type { SealedStateHolder } from '../state-changes.js';
import type { SealedFile } from '../../shared/messages.js';

const FROST_SCHEME: Record<'MPC_EDDSA_ED25519' | 'MPC_BIP340_SECP256K1', FrostScheme> = { MPC_EDDSA_ED25519: 'ed25519', MPC_BIP340_SECP256K1: 'bip340' };

/** Sessions not finished within this time are dropped (their keys given back where that is safe). */
const SESSION_TTL_MS = 10 * 60_000;
const MAX_LIVE_SESSIONS = 64;

/** The longest one callback POST may take from the enclave's view: the parent's 30 s deadline and the way there and back. */
const CALLBACK_ANSWER_WINDOW_MS = 60_000;

export interface MpcSessionsOptions {
  holder: () => SealedStateHolder;
  log: Logger;
  /** Ring-Pedersen modulus size for ECDSA key generation (CRYPTO.md: at least 2048 in production). */
  ringPedersenBits: number;
  /** How long after a RETRY the identical callback request goes again (DESIGN.md: 3 minutes). */
  callbackRetryIntervalMs?: number;
  now?: () => number;
  /** The boot's record of consumed requests, shared with the configuration changes (one per boot). */
  consumed?: ConsumedRequests;
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
  /** The coordinator (its pinned service key's SHA-256) whose party this session runs with. */
  coordinator: string;
  /** SIGN: this session's transaction-message key, given back if the session dies before the enclave contributed. */
  txKey: string | null;
  /** How many times the party has sent messages; a SIGN party's second send is its signature contribution. */
  sends: number;
  startedAt: number;
  /** A counted transfer: no step until the sealed state reaches this version (its spend stored and confirmed). */
  awaitsStateVersion?: number;
  /** Until the coordinator's hello arrives: our half of the channel handshake, and the party's first messages (held back: nothing leaves unencrypted). */
  handshake: PendingHandshake | null;
  held: MpcMessage[];
  channel: MpcChannel | null;
}

export interface StartedSession {
  sessionId: string;
  /** The co-signer's channel hello, for the parent to take to the coordinator's opening. */
  hello: MpcHelloJson;
}

/** A request the parent must POST to the user's callback handler before any session opens. */
export interface ApprovalNeeded {
  requestId: string;
  url: string;
  allowPlainHttp: boolean;
  kind: 'tx_sign_request';
  jwt: string;
}

export interface StartAnswer {
  sessions: StartedSession[];
  approval: ApprovalNeeded | null;
  /** A transfer counted against a policy window: to store and confirm before the sessions step. */
  toStore: SealedFile | null;
}

interface PendingApproval {
  coordinator: string;
  item: CheckedSignItem;
  toSign: Uint8Array[];
  who: { cosignerId: string; userId: string };
  handlerKey: KeyObject;
  attempts: number;
  txKeys: string[];
  createdAt: number;
}


/** The share of (coordinator, workspace, algorithm): a share only ever serves the coordinator it was made with. */
function shareEntry(state: EnclaveState, coordinator: string, workspaceId: string, algorithm: string): KeyShareEntry | undefined {
  return state.keyShares.find((k) => k.serviceKeySha256 === coordinator && k.workspaceId === workspaceId && k.algorithm === algorithm);
}

/** Why a KEYGEN for (coordinator, workspace, algorithm) must not run here: done already (same session), or another share held. */
function heldShareError(state: EnclaveState, coordinator: string, workspaceId: string, p: { algorithm: string; sessionId: string }): CosignerError | null {
  const entry = shareEntry(state, coordinator, workspaceId, p.algorithm);
  if (!entry) return null;
  if (entry.sessionId === p.sessionId) return new CosignerError('KEYGEN_ALREADY_DONE', `this key generation finished here before: the ${p.algorithm} share is sealed`);
  return new CosignerError('MPC_KEY_HELD', `this enclave already holds a ${p.algorithm} key share for workspace ${workspaceId}, from another key generation`);
}

/** A SIGN party has contributed to a signature once it has sent twice (ECDSA P2: proof, then c3; FROST: commitments, then its share). */
function contributed(live: Live): boolean {
  return live.sends >= 2 || live.party.done;
}

export class MpcSessions {
  private readonly live = new Map<string, Live>();
  private readonly consumed: ConsumedRequests;
  private readonly shares = new Map<string, EcdsaKeyShareP2 | FrostKeyShare>();
  private readonly approvals = new Map<string, PendingApproval>();

  private readonly approvalOptions: { retryIntervalMs: number; maxRetries: number };

  constructor(private readonly o: MpcSessionsOptions) {
    this.consumed = o.consumed ?? new ConsumedRequests();
    this.approvalOptions = { retryIntervalMs: o.callbackRetryIntervalMs ?? DEFAULT_RETRY_INTERVAL_MS, maxRetries: DEFAULT_MAX_RETRIES };
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /**
   * A work item as the parent got it from the long poll. Checks it, then (SIGN) runs the enclave's
   * approval, then opens one session per MPC session the item names and returns their first messages.
   */
  async start(req: { cosignerId: string; itemJson: string; signature: string }): Promise<StartAnswer> {
    this.expire();
    const state = this.o.holder().state;
    const pairing = activePairing(state, req.cosignerId);
    let raw: unknown;
    try {
      raw = JSON.parse(req.itemJson);
    } catch {
      throw new CosignerError('SCHEMA_VIOLATION', 'the work item is not JSON');
    }
    if (this.live.size >= MAX_LIVE_SESSIONS || this.approvals.size >= MAX_LIVE_SESSIONS) throw new CosignerError('MPC_STATE', `${MAX_LIVE_SESSIONS} MPC sessions or approvals are already open`);
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
      // Every other check passed (replay is the last one): a KEYGEN delivered again after its share
      // was sealed here — its GENERATED report was lost — is answered as done, not as a failure
      // (which would make the coordinator drop its share of a key this enclave holds).
      if (isCosignerError(e, 'REQUEST_REPLAYED') && (raw as { kind?: unknown }).kind === 'KEYGEN') {
        const held = heldShareError(state, pairing.serviceKeySha256, (raw as { workspaceId: string }).workspaceId, parseKeygenItemPayload((raw as { payload: unknown }).payload));
        if (held) throw held;
      }
      // The coordinator re-issues a transaction message whose session it lost (its restart, a lease
      // handed over). If this enclave still has that session open and unfinished, the new item
      // supersedes it: the old one is aborted (it never gave its last message) and the check rerun.
      if (!isCosignerError(e, 'REQUEST_REPLAYED') || !this.abortSuperseded(String(e.details?.key ?? ''))) throw e;
      item = checkWorkItem(raw, req.signature, ctx);
    }
    if (item.kind === 'CONFIG_CHANGE_APPROVAL') throw new CosignerError('WORK_ITEM_KIND_UNKNOWN', `work item ${item.id} is a configuration change, not MPC work`);
    const txKeys = consumptionKeys(item).filter((k) => k.startsWith('tx-message:'));
    const who = { cosignerId: req.cosignerId, userId: pairing.userId! };
    try {
      if (item.kind === 'KEYGEN') return { sessions: this.open(state, req.cosignerId, item, [this.keygenSession(state, pairing.serviceKeySha256, item as CheckedWorkItem & { kind: 'KEYGEN' })]), approval: null, toStore: null };
      const sign = item as CheckedSignItem;
      // What it would sign, recomputed here, before anyone is asked to approve it.
      const toSign = messagesToSign(sign, null);
      // The enclave's own policy, before anyone is asked (checked again when the sessions open).
      checkPolicy(state, { serviceKeySha256: pairing.serviceKeySha256, workspaceId: item.workspaceId, payload: sign.payload, now: this.now() });
      // Whose callback decides must not depend on which pairing the parent named: the initiating
      // user's, when that user is paired here with this coordinator; else the first pairing of this
      // coordinator's workspace that has a callback; only when none has one is it approved unasked.
      const same = state.pairings.filter((p) => p.status === 'active' && p.serviceKeySha256 === pairing.serviceKeySha256 && p.workspaceId === item.workspaceId);
      const decider = same.find((p) => p.userId === sign.payload.initiatorId) ?? [...same].sort((a, b) => a.createdAt - b.createdAt).find((p) => p.callback) ?? pairing;
      if (!decider.callback) {
        this.o.log.info({ itemId: item.id, transactionId: sign.payload.transactionId, ...who, decidingUserId: decider.userId }, `${NO_CALLBACK_REASON} for this API user: request approved`);
        return { ...this.openSign(state, req.cosignerId, pairing.serviceKeySha256, sign, toSign), approval: null };
      }
      const claims = signRequestClaims(sign, decider.userId!, toSign);
      const jwt = signRequestJwt(claims, createPrivateKey({ key: Buffer.from(state.callbackSigningKey), format: 'der', type: 'pkcs8' }));
      const handlerKey = createPublicKey({ key: Buffer.from(decider.callback.handlerPublicKeySpki), format: 'der', type: 'spki' });
      this.approvals.set(item.id, { coordinator: pairing.serviceKeySha256, item: sign, toSign, who, handlerKey, attempts: 0, txKeys, createdAt: this.now() });
      this.o.log.info({ itemId: item.id, transactionId: sign.payload.transactionId, ...who }, 'asking the callback handler to approve the request');
      return { sessions: [], approval: { requestId: item.id, url: decider.callback.url, allowPlainHttp: decider.callback.allowPlainHttp, kind: 'tx_sign_request', jwt }, toStore: null };
    } catch (e) {
      this.consumed.release(txKeys);
      throw e;
    }
  }

  /**
   * The parent's report of one POST to the callback handler (DESIGN.md "Callback handler"): the
   * enclave verifies the answer under the handler key it sealed at pairing. APPROVE → the sessions
   * open; RETRY → resend the identical request after `retryAfterMs`; REJECT → CALLBACK_REJECTED
   * (final); anything else → the request fails with its typed reason.
   */
  async approvalAnswer(req: { requestId: string; answer: CallbackHttpOutcome | null }): Promise<{ sessions: StartedSession[]; retryAfterMs: number | null; toStore: SealedFile | null }> {
    this.expire();
    const a = this.approvals.get(req.requestId);
    if (!a) throw new CosignerError('MPC_STATE', 'no callback approval is pending for that request id');
    // Taken out while its answer is judged: a concurrent second answer for it finds nothing.
    this.approvals.delete(req.requestId);
    a.attempts++;
    const answer = await interpretAnswer(req.answer, { publicKey: a.handlerKey, requestId: req.requestId, allowIgnore: false, nowMs: this.now() });
    const step = decide(answer, a.attempts, this.approvalOptions);
    if (step.next === 'retry') {
      this.approvals.set(req.requestId, a);
      this.o.log.info({ itemId: req.requestId, attempts: a.attempts }, 'the callback handler answered RETRY; the same request goes again');
      return { sessions: [], retryAfterMs: step.afterMs, toStore: null };
    }
    const o = step.outcome;
    if (o.decision !== 'APPROVED') {
      this.consumed.release(a.txKeys);
      const reason = 'reason' in o && o.reason ? o.reason : o.decision;
      this.o.log.warn({ itemId: req.requestId, transactionId: a.item.payload.transactionId, decision: o.decision, attempts: o.attempts }, `callback: ${o.decision} (${String(reason).slice(0, 200)})`);
      if (o.decision === 'REJECTED') throw new CosignerError('CALLBACK_REJECTED', `the callback handler rejected the request: ${String(reason).slice(0, 300)}`);
      throw new CosignerError(o.decision === 'FAILED' ? o.code : 'CALLBACK_RESPONSE_INVALID', `no approval: ${String(reason).slice(0, 300)}`);
    }
    this.o.log.info({ itemId: req.requestId, transactionId: a.item.payload.transactionId, attempts: o.attempts }, 'the callback handler approved the request');
    const state = this.o.holder().state;
    try {
      return { ...this.openSign(state, a.who.cosignerId, a.coordinator, a.item, a.toSign), retryAfterMs: null };
    } catch (e) {
      this.consumed.release(a.txKeys);
      throw e;
    }
  }

  /**
   * Opens a signature's sessions once the enclave policy allows it on the current state. A transfer
   * under a window limit is counted first: its spend is sealed (`toStore`), and the sessions take
   * no step until the parent stored it and the enclave counted it, so no signature leaves
   * uncounted (a signing that then fails stays counted: the window errs on the safe side).
   */
  private openSign(state: EnclaveState, cosignerId: string, coordinator: string, item: CheckedSignItem, toSign: Uint8Array[]): { sessions: StartedSession[]; toStore: SealedFile | null } {
    const { spend } = checkPolicy(state, { serviceKeySha256: coordinator, workspaceId: item.workspaceId, payload: item.payload, now: this.now() });
    const sessions = this.open(state, cosignerId, item, this.signSessions(state, coordinator, item, toSign));
    if (!spend) return { sessions, toStore: null };
    const h = this.o.holder();
    try {
      const toStore = h.propose(`policy-spend:${item.id}`, recordSpend(spend));
      for (const s of sessions) this.live.get(s.sessionId)!.awaitsStateVersion = h.pending!.stateVersion;
      this.o.log.info({ itemId: item.id, assetId: spend.assetId, amount: spend.amount }, 'transfer counted against the enclave policy window; sealed state to be stored before signing');
      return { sessions, toStore };
    } catch (e) {
      for (const s of sessions) this.live.delete(s.sessionId);
      throw e;
    }
  }

  /** Registers the sessions and returns their first messages. */
  private open(state: EnclaveState, cosignerId: string, item: CheckedWorkItem, sessions: Array<Pick<Live, 'kind' | 'algorithm' | 'party' | 'sessionId' | 'txKey'>>): StartedSession[] {
    const pairing = activePairing(state, cosignerId);
    const peers = ed25519Peers(new Map([[COORDINATOR_PARTY_ID, pairing.serviceKeySpki.subarray(pairing.serviceKeySpki.length - 32)]]));
    const identity = new Ed25519Identity(COSIGNER_PARTY_ID, identityKeyOf(state));
    const coordinatorIdentity = pairing.serviceKeySpki.subarray(pairing.serviceKeySpki.length - 32);
    const out: StartedSession[] = [];
    for (const s of sessions) {
      const handshake = beginCosignerHandshake({ sessionId: s.sessionId, workItemId: item.id, cosignerIdentity: identity.publicKey, coordinatorIdentity }, identity);
      const live: Live = { ...s, itemId: item.id, workspaceId: item.workspaceId, coordinator: pairing.serviceKeySha256, peers, identity, sends: 0, startedAt: this.now(), handshake, held: [], channel: null };
      this.live.set(toHex(s.sessionId), live);
      live.held = live.party.start();
      out.push({ sessionId: toHex(s.sessionId), hello: helloToJson(handshake.hello) });
    }
    this.o.log.info({ itemId: item.id, kind: item.kind, workspaceId: item.workspaceId, sessions: out.length }, 'MPC sessions open');
    return out;
  }

  private keygenSession(state: EnclaveState, coordinator: string, item: CheckedWorkItem & { kind: 'KEYGEN' }): Pick<Live, 'kind' | 'algorithm' | 'party' | 'sessionId' | 'txKey'> {
    const { algorithm, sessionId: sid } = item.payload;
    const held = heldShareError(state, coordinator, item.workspaceId, item.payload);
    if (held) throw held;
    // Two key generations of one key at once would seal two shares for it.
    for (const l of this.live.values()) {
      if (l.kind === 'KEYGEN' && l.coordinator === coordinator && l.workspaceId === item.workspaceId && l.algorithm === algorithm) {
        throw new CosignerError('MPC_STATE', `a ${algorithm} key generation for this workspace is already running here`);
      }
    }
    const sessionId = fromHex(sid);
    const party: Party<unknown> = algorithm === 'MPC_ECDSA_SECP256K1'
      ? new EcdsaKeygenP2({ sessionId, p1Id: COORDINATOR_PARTY_ID, p2Id: COSIGNER_PARTY_ID, ringPedersen: generateRingPedersen(this.o.ringPedersenBits), minRingPedersenBits: this.o.ringPedersenBits })
      : new FrostDkgParty({ scheme: FROST_SCHEME[algorithm], sessionId, self: COSIGNER_PARTY_ID, parties: [COORDINATOR_PARTY_ID, COSIGNER_PARTY_ID], threshold: 2 });
    return { kind: 'KEYGEN', algorithm, party, sessionId, txKey: null };
  }

  private signSessions(state: EnclaveState, coordinator: string, item: CheckedSignItem, contents: readonly Uint8Array[]) {
    const p: SignItemPayload = item.payload;
    const share = this.share(state, coordinator, item.workspaceId, p.algorithm);
    if (contents.length !== p.messages.length) throw new CosignerError('INTERNAL', 'the wrong number of messages to sign');
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
      return { kind: 'SIGN' as const, algorithm: p.algorithm, party, sessionId, txKey: `tx-message:${p.transactionId}#${m.index}` };
    });
  }

  /** The decoded share (decoded once per boot: the engine's key lock lives on the object). */
  private share(state: EnclaveState, coordinator: string, workspaceId: string, algorithm: KeyShareEntry['algorithm']): EcdsaKeyShareP2 | FrostKeyShare {
    const key = `${coordinator}/${workspaceId}/${algorithm}`;
    const cached = this.shares.get(key);
    if (cached) return cached;
    const entry = shareEntry(state, coordinator, workspaceId, algorithm);
    if (!entry) throw new CosignerError('MPC_STATE', `this enclave holds no ${algorithm} key share for workspace ${workspaceId}`);
    const share = algorithm === 'MPC_ECDSA_SECP256K1' ? EcdsaKeyShareP2.decode(entry.share) : FrostKeyShare.decode(entry.share);
    this.shares.set(key, share);
    return share;
  }

  /**
   * Frames from the coordinator's party for one session → the enclave's. The first step carries the
   * coordinator's channel hello (from the opening), which opens the channel and lets the party's
   * first messages out. A finished key generation answers with the state change to store
   * (`toStore`); it counts after ConfirmState.
   */
  step(req: { sessionId: string; peerHello: unknown; inbound: unknown[] }): { outbound: MpcFrameJson[]; done: boolean; toStore: SealedFile | null } {
    this.expire();
    const live = this.live.get(req.sessionId);
    if (!live) throw new CosignerError('MPC_STATE', 'no open MPC session with that id in this enclave');
    if (live.awaitsStateVersion !== undefined && this.o.holder().state.stateVersion < live.awaitsStateVersion) {
      throw new CosignerError('STATE_CHANGE_PENDING', 'this transfer\'s count against the enclave policy window is not stored yet: store and confirm it first');
    }
    const outbound: MpcFrameJson[] = [];
    try {
      let channel = live.channel;
      if (req.peerHello !== null) {
        if (channel || !live.handshake) throw new CosignerError('MPC_INVALID_MESSAGE', 'the channel of this session is open already: a second hello is refused');
        channel = completeCosignerHandshake(live.handshake, asInvalid(() => helloFromJson(req.peerHello, 'coordinator hello')), live.peers);
        live.channel = channel;
        live.handshake = null;
        const first = live.held.splice(0);
        if (first.length > 0) {
          live.sends++;
          for (const m of first) outbound.push(frameToJson(channel.seal(sealMpcMessage(m, live.identity))));
        }
      }
      if (!channel) throw new CosignerError('MPC_INVALID_MESSAGE', 'the coordinator\'s channel hello must come before any message');
      const answers: MpcMessage[] = [];
      for (const [i, m] of req.inbound.entries()) {
        const signed = channel.open(asInvalid(() => frameFromJson(m, `inbound[${i}]`)));
        answers.push(...live.party.receive(openMpcMessage(signed, { self: COSIGNER_PARTY_ID, sessionId: live.sessionId, peers: live.peers })));
      }
      if (answers.length > 0) {
        live.sends++;
        for (const m of answers) outbound.push(frameToJson(channel.seal(sealMpcMessage(m, live.identity))));
      }
    } catch (e) {
      // Terminal (CRYPTO.md): a session that saw one bad message is dead.
      this.abort(req.sessionId, live, e);
      throw e;
    }
    if (!live.party.done) return { outbound, done: false, toStore: null };
    this.live.delete(req.sessionId);
    live.channel?.close();
    if (live.kind === 'SIGN') {
      this.o.log.info({ itemId: live.itemId, sessionId: req.sessionId }, 'MPC signing session finished');
      return { outbound, done: true, toStore: null };
    }
    const share = live.party.result() as EcdsaKeyShareP2 | FrostKeyShare;
    const publicKey = share instanceof EcdsaKeyShareP2 ? share.publicKey : share.groupPublicKey;
    const entry: KeyShareEntry = { workspaceId: live.workspaceId, algorithm: live.algorithm, publicKey: toHex(publicKey), share: share.encode(), createdAt: this.now(), sessionId: req.sessionId, serviceKeySha256: live.coordinator };
    const toStore = this.o.holder().propose(`keygen:${req.sessionId}`, (s) => {
      // Checked against the state being changed: a second share of one key would make it unreadable.
      const held = heldShareError(s, live.coordinator, live.workspaceId, { algorithm: live.algorithm, sessionId: req.sessionId });
      if (held) throw held;
      return { ...s, keyShares: [...s.keyShares, entry] };
    });
    this.o.log.info({ itemId: live.itemId, algorithm: live.algorithm, workspaceId: live.workspaceId, publicKey: entry.publicKey }, 'key generation finished; the share is sealed and waits for the parent to store it');
    return { outbound, done: true, toStore };
  }

  /** Aborts the unfinished session holding the tx-message key a REQUEST_REPLAYED names; whether there was one. */
  private abortSuperseded(key: string): boolean {
    if (!key.startsWith('tx-message:')) return false;
    for (const [id, live] of this.live) {
      if (live.txKey === key && !contributed(live)) {
        this.abort(id, live, new CosignerError('MPC_STATE', 'superseded by a re-issued work item for the same transaction message'));
        return true;
      }
    }
    return false;
  }

  private abort(sessionId: string, live: Live, why: unknown): void {
    this.live.delete(sessionId);
    live.channel?.close();
    // Given back only if the enclave never sent its signature share (its second send): after that
    // the coordinator may hold a signature, and the message counts as signed.
    if (live.txKey && !contributed(live)) this.consumed.release([live.txKey]);
    this.o.log.warn({ itemId: live.itemId, sessionId, code: isCosignerError(why) ? why.code : 'INTERNAL' }, `MPC session aborted: ${isCosignerError(why) ? why.message : 'error'}`);
  }

  private expire(): void {
    const now = this.now();
    for (const [id, live] of this.live) if (now - live.startedAt > SESSION_TTL_MS) this.abort(id, live, new CosignerError('MPC_STATE', 'the session timed out'));
    // An approval can take every attempt (the first and 20 resends), each waiting out the handler's
    // 30 s deadline and, but for the first, the retry interval, and a little more.
    const { retryIntervalMs, maxRetries } = this.approvalOptions;
    const approvalTtl = (maxRetries + 2) * (retryIntervalMs + CALLBACK_ANSWER_WINDOW_MS);
    for (const [id, a] of this.approvals) {
      if (now - a.createdAt > approvalTtl) {
        this.approvals.delete(id);
        this.consumed.release(a.txKeys);
      }
    }
  }
}

/** A malformed frame or hello is an invalid MPC message (it ends the session), not a schema error of the RPC. */
function asInvalid<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (isCosignerError(e, 'SCHEMA_VIOLATION')) throw new CosignerError('MPC_INVALID_MESSAGE', e.message);
    throw e;
  }
}
