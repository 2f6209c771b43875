// The enclave application: it answers the parent's RPCs (shared/messages.ts), boots by unsealing (or
// creating) its state through KMS, attests, pairs (pairing.ts), and seals every change of state as
// the next state version, counting it only once the parent shows it stored it (state-changes.ts). Everything the parent sends is
// only a request: KMS answers reach us encrypted to a key that exists only in this process, and the
// sealed blob is authenticated, so a hostile parent can refuse service but not plant state.
import type { Duplex } from 'node:stream';
import { createHash } from 'node:crypto';
import { encodeCbor } from '../shared/cbor.js';
import { CosignerError, isCosignerError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { equalBytes } from '../shared/bytes.js';
import type { RpcHandlers, RequestOf, ResponseOf } from '../shared/channel/rpc.js';
import { EnclaveMessages, type SealedFile } from '../shared/messages.js';
import type { Nsm } from './nsm/nsm.js';
import { EnclaveKmsClient } from './kms/recipient-client.js';
import { openSealedState } from './sealing/open-sealed-state.js';
import { checkSealingKeyFacts, checkSealingKeyPolicy } from './sealing/key-policy-check.js';
import { cckPublicKeySpki, createInitialState, decodeState, encodeState, identityKeyOf, publicKeysOf, type EnclaveState } from './state.js';
import { SealedStateHolder } from './state-changes.js';
import { activePairing, beginPairing, completePairing, pairingForToken } from './pairing.js';
import { callbackChange, verifyCallbackChange } from './callback/callback-change.js';
import { decodePairingToken, pairingNonce } from '../shared/cosigner-api/pairing-token.js';
import { pairingKeyBinding } from '../shared/cosigner-api/keys.js';
import { signStateReport } from '../shared/cosigner-api/state-report.js';
import { wipe } from '../shared/bytes.js';
import { MpcSessions, type StartedSession } from './mpc/mpc-sessions.js';
import { ConfigChanges } from './config/config-changes.js';
import { ConsumedRequests } from './signing/work-item-check.js';
import type { CallbackHttpFailure, CallbackHttpOutcome } from '../shared/callback/claims.js';
import { RING_PEDERSEN_MIN_BITS } from '../shared/mpc/ecdsa/bounds.js';

type Catalog = typeof EnclaveMessages;
type Phase = ResponseOf<Catalog, 'Status'>['phase'];

export interface EnclaveAppDeps {
  nsm: Nsm;
  /** The sealing key, from the enclave's own configuration (never from the parent). */
  kms: { region: string; keyArn: string; endpoint: string };
  /** Opens a stream to the parent's KMS proxy. */
  connectKmsProxy: () => Promise<Duplex>;
  kmsTlsCa?: string;
  allowPlainHttpKms: boolean;
  /** The callback's RETRY interval (default 3 minutes), from the measured command line. */
  callbackRetryIntervalMs?: number;
  log: Logger;
}

/** SHA-256 of a request's inputs (CBOR), to name a state change by everything it was made from. */
function inputsDigest(inputs: unknown[]): string {
  return createHash('sha256').update(encodeCbor(inputs)).digest('hex');
}

/** Sessions' channel hellos as the wire carries them (JSON text each). */
function asText(sessions: StartedSession[]): Array<{ sessionId: string; hello: string }> {
  return sessions.map((x) => ({ sessionId: x.sessionId, hello: JSON.stringify(x.hello) }));
}

/** The parent's report of one callback POST, as the approval machine takes it. */
function callbackOutcome(a: RequestOf<Catalog, 'MpcApprovalAnswer'>['answer']): CallbackHttpOutcome | null {
  return a === null ? null
    : a.ok ? { ok: true, status: 200, contentType: a.contentType ?? undefined, body: a.body ?? new Uint8Array(0) }
    : { ok: false, code: (a.code ?? 'CALLBACK_UNREACHABLE') as CallbackHttpFailure['code'], message: a.message ?? '', ...(a.status !== null ? { status: a.status } : {}) };
}

function parseJsonText(t: string, what: string): unknown {
  try {
    return JSON.parse(t) as unknown;
  } catch {
    throw new CosignerError('SCHEMA_VIOLATION', `${what} is not JSON`);
  }
}

export class EnclaveApp {
  private phase: Phase = 'waiting-for-boot';
  private failure: { code: string; message: string } | null = null;
  /** The state, the sealed file it lives in, and a change waiting to be stored. */
  private holder: SealedStateHolder | null = null;
  private readonly startedAt = Date.now();
  private readonly mpc: MpcSessions;
  private readonly config: ConfigChanges;

  constructor(private readonly deps: EnclaveAppDeps) {
    // One record of consumed requests per boot, for MPC work and configuration changes alike.
    const consumed = new ConsumedRequests();
    this.config = new ConfigChanges({ holder: () => this.ready(), consumed, log: deps.log, callbackRetryIntervalMs: deps.callbackRetryIntervalMs });
    this.mpc = new MpcSessions({
      consumed,
      holder: () => this.ready(),
      log: deps.log,
      ringPedersenBits: RING_PEDERSEN_MIN_BITS,
      callbackRetryIntervalMs: deps.callbackRetryIntervalMs,
    });
  }

  handlers(): RpcHandlers<Catalog> {
    return {
      Ping: () => ({ uptimeMs: Date.now() - this.startedAt }),
      Status: () => ({ phase: this.phase, failure: this.failure }),
      Boot: (req) => this.boot(req),
      // The parent's own requests wait behind ours and are bounded; they are dropped if it hangs up.
      GetAttestation: async (req, ctx) => ({
        document: await this.deps.nsm.attestation(
          {
            nonce: req.nonce,
            userData: this.holder ? publicKeysOf(this.holder.state).identityPublicKey : null,
            publicKey: null,
          },
          { priority: 'peer', signal: ctx.signal },
        ),
      }),
      ConfirmState: (req) => {
        const h = this.ready();
        const confirmed = h.confirm(req.stored);
        if (confirmed) this.deps.log.info({ stateVersion: h.state.stateVersion }, 'state change stored by the parent; it counts from now');
        return { stateVersion: h.state.stateVersion, confirmed };
      },
      BeginPairing: (req) => {
        const h = this.ready();
        const token = decodePairingToken(req.pairingToken);
        const change = beginPairing(h.state, token, req.serviceKeySpki, Date.now(), req.callback);
        // The change is named by all its inputs: a second BeginPairing for the token with other
        // inputs, while the first waits to be stored, is STATE_CHANGE_PENDING, not the first's file.
        const toStore = change ? h.propose(`pairing-begin:${token.tokenId}:${inputsDigest([req.pairingToken, req.serviceKeySpki, req.callback])}`, change) : h.file;
        if (change) this.deps.log.info({ tokenId: token.tokenId, serviceKeySha256: token.serviceKeySha256, coordinator: token.url }, 'pairing begun: service key pinned from the token; sealed state to be stored');
        return { tokenId: token.tokenId, toStore, stateVersion: h.pending?.stateVersion ?? h.state.stateVersion };
      },
      PairingAttestation: async (req, ctx) => {
        const h = this.ready();
        const token = decodePairingToken(req.pairingToken);
        pairingForToken(h.state, token);
        const keys = { ...this.pairingKeys(h.state) };
        const document = await this.deps.nsm.attestation(
          { nonce: pairingNonce(token.secret), userData: pairingKeyBinding(keys), publicKey: null },
          { priority: 'peer', signal: ctx.signal },
        );
        return { document, ...keys };
      },
      CompletePairing: (req) => {
        const h = this.ready();
        const change = completePairing(h.state, req.tokenId, parseJsonText(req.record, 'the pairing record'), publicKeysOf(h.state).identityPublicKey);
        const toStore = change ? h.propose(`pairing-complete:${req.tokenId}:${inputsDigest([req.record])}`, change) : h.file;
        if (change) this.deps.log.info({ tokenId: req.tokenId }, 'pairing accepted by the coordinator (signed pairing record verified); sealed state to be stored');
        return { toStore, stateVersion: h.pending?.stateVersion ?? h.state.stateVersion };
      },
      UpdateCallback: async (req) => {
        const claims = await verifyCallbackChange(this.ready().state, req.cosignerId, req.update);
        // No await from here on: the sequence is checked against the state the change applies to.
        const h = this.ready();
        const change = callbackChange(h.state, req.cosignerId, claims);
        const toStore = change ? h.propose(`callback-update:${req.cosignerId}:${claims.sequence}:${inputsDigest([req.update])}`, change) : h.file;
        const log = { cosignerId: req.cosignerId, callbackVersion: claims.sequence, callbackUrl: claims.callback.url, handlerKeySha256: createHash('sha256').update(Buffer.from(claims.callback.publicKey, 'base64')).digest('hex') };
        if (change) this.deps.log.info(log, 'callback change signed by the API user\'s key verified; sealed state to be stored');
        else this.deps.log.info(log, 'callback change already made; nothing to store');
        return { toStore, stateVersion: h.pending?.stateVersion ?? h.state.stateVersion, changed: change !== null, callbackVersion: claims.sequence };
      },
      Pairings: () => {
        const h = this.ready();
        return {
          stateVersion: h.state.stateVersion,
          callbackSigningKeySpki: publicKeysOf(h.state).callbackSigningKeySpki,
          cckPublicKeySpki: cckPublicKeySpki(h.state),
          pairings: h.state.pairings.map((p) => ({
            tokenId: p.tokenId, coordinatorUrl: p.coordinatorUrl, serviceKeySha256: p.serviceKeySha256, status: p.status,
            cosignerId: p.cosignerId, workspaceId: p.workspaceId, userId: p.userId, callbackUrl: p.callback?.url ?? null,
            callbackKeySha256: p.callback ? createHash('sha256').update(p.callback.handlerPublicKeySpki).digest('hex') : null,
            callbackVersion: p.callbackVersion ?? 0,
            userKeySha256: p.userPublicKeySpki ? createHash('sha256').update(p.userPublicKeySpki).digest('hex') : null,
            role: p.role ?? null,
          })),
        };
      },
      MpcStart: async (req) => {
        const r = await this.mpc.start(req);
        return { sessions: asText(r.sessions), approval: r.approval, toStore: r.toStore };
      },
      MpcApprovalAnswer: async (req) => {
        const r = await this.mpc.approvalAnswer({ requestId: req.requestId, answer: callbackOutcome(req.answer) });
        return { sessions: asText(r.sessions), retryAfterMs: r.retryAfterMs, toStore: r.toStore };
      },
      ConfigChangeStart: (req) => this.config.start(req),
      ConfigChangeAnswer: (req) => this.config.answer({ requestId: req.requestId, answer: callbackOutcome(req.answer) }),
      Policies: () => {
        const h = this.ready();
        const windows = new Map<string, { workspaceId: string; assetId: string; transfers: number; oldestAt: number }>();
        for (const sp of h.state.spends ?? []) {
          const k = `${sp.workspaceId}/${sp.assetId}`;
          const w = windows.get(k) ?? { workspaceId: sp.workspaceId, assetId: sp.assetId, transfers: 0, oldestAt: sp.at };
          w.transfers++;
          w.oldestAt = Math.min(w.oldestAt, sp.at);
          windows.set(k, w);
        }
        return {
          stateVersion: h.state.stateVersion,
          policies: (h.state.policies ?? []).map((p) => ({ serviceKeySha256: p.serviceKeySha256, workspaceId: p.workspaceId, changeId: p.changeId, setAt: p.setAt, policyJson: JSON.stringify(p.policy) })),
          windows: [...windows.values()],
        };
      },
      MpcStep: (req) => {
        const inbound = req.inbound.map((t) => parseJsonText(t, 'an MPC frame'));
        const peerHello = req.peerHello === null ? null : parseJsonText(req.peerHello, 'the coordinator\'s channel hello');
        const r = this.mpc.step({ sessionId: req.sessionId, peerHello, inbound });
        return { outbound: r.outbound.map((m) => JSON.stringify(m)), done: r.done, toStore: r.toStore };
      },
      StateReport: (req) => {
        const h = this.ready();
        activePairing(h.state, req.cosignerId);
        return signStateReport({ ...h.report(), at: Date.now() }, { cosignerId: req.cosignerId, purpose: req.purpose }, identityKeyOf(h.state));
      },
    };
  }

  private ready(): SealedStateHolder {
    if (this.phase !== 'ready' || !this.holder) throw new CosignerError('ENCLAVE_NOT_READY', 'the enclave has not booted');
    return this.holder;
  }

  /** The keys a pairing binds. The CCK exists once a pairing has begun (BeginPairing seals it). */
  private pairingKeys(state: EnclaveState): { identityPublicKey: Uint8Array; cckPublicKeySpki: Uint8Array; callbackPublicKeySpki: Uint8Array } {
    const cck = cckPublicKeySpki(state);
    if (!cck) throw new CosignerError('PAIRING_INVALID', 'no Configuration Change Key yet: begin a pairing first');
    const pub = publicKeysOf(state);
    return { identityPublicKey: pub.identityPublicKey, cckPublicKeySpki: cck, callbackPublicKeySpki: pub.callbackSigningKeySpki };
  }

  private async boot(req: RequestOf<Catalog, 'Boot'>): Promise<ResponseOf<Catalog, 'Boot'>> {
    if (this.phase === 'booting') throw new CosignerError('BOOT_IN_PROGRESS', 'a boot is already in progress');
    if (this.phase === 'ready') return this.repeatBoot(req.sealed);
    this.phase = 'booting';
    this.failure = null;
    try {
      const res = await this.unsealOrInitialise(req);
      this.phase = 'ready';
      this.deps.log.info({ outcome: res.outcome }, 'enclave state ready');
      return res;
    } catch (e) {
      const err = this.explain(e);
      this.phase = 'failed';
      this.failure = { code: err.code, message: err.message.slice(0, 1024) };
      this.deps.log.error({ code: err.code }, `boot failed: ${err.message}`);
      throw err;
    }
  }

  private async unsealOrInitialise(req: RequestOf<Catalog, 'Boot'>): Promise<ResponseOf<Catalog, 'Boot'>> {
    const kms = new EnclaveKmsClient({
      region: this.deps.kms.region,
      endpoint: this.deps.kms.endpoint,
      credentials: req.credentials,
      connect: this.deps.connectKmsProxy,
      attest: (spki) => this.deps.nsm.attestation({ publicKey: spki, userData: null, nonce: null }),
      tlsCa: this.deps.kmsTlsCa,
      allowPlainHttp: this.deps.allowPlainHttpKms,
    });
    try {
      return await this.openWith(kms, req.sealed);
    } finally {
      kms.destroy();
    }
  }

  private async openWith(kms: EnclaveKmsClient, sealed: SealedFile | null): Promise<ResponseOf<Catalog, 'Boot'>> {
    // Every boot: refuse a key whose policy lets anyone but this enclave reach a data key's plaintext
    // or make data keys of their own (see key-policy-check.ts).
    const own = { pcr0: (await this.deps.nsm.describePcr(0)).data, pcr8: (await this.deps.nsm.describePcr(8)).data };
    const keyArn = this.deps.kms.keyArn;
    checkSealingKeyFacts({ metadata: await kms.describeKey(keyArn), grants: await kms.listGrants(keyArn) }, keyArn);
    checkSealingKeyPolicy(await kms.getKeyPolicy(keyArn), own);
    const opened = await openSealedState({
      existing: sealed,
      kms,
      keyId: this.deps.kms.keyArn,
      createInitialState: () => encodeState(createInitialState()),
    });
    let state: EnclaveState;
    try {
      state = decodeState(opened.state);
    } catch (e) {
      wipe(opened.dataKey);
      throw e;
    } finally {
      wipe(opened.state);
    }
    const file = opened.toStore ?? sealed!;
    this.holder = new SealedStateHolder({ state, file }, opened.dataKey, opened.kmsKeyArn, opened.toStore === null);
    this.deps.log.info({ stateVersion: state.stateVersion, pairings: state.pairings.length }, 'state opened');
    return { outcome: opened.toStore ? 'initialised' : 'unsealed', toStore: opened.toStore, ...publicKeysOf(state) };
  }

  /**
   * The parent reconnected without the enclave restarting. Answer from memory; a file it shows
   * that is the first-boot file or a change waiting to be stored confirms it (its answer may have
   * been lost); a first-boot file it lost is handed out again.
   */
  private repeatBoot(onDisk: SealedFile | null): ResponseOf<Catalog, 'Boot'> {
    const h = this.holder!;
    const keys = publicKeysOf(h.state);
    if (onDisk === null) {
      const first = h.unconfirmedFirstFile;
      if (first) return { outcome: 'initialised', toStore: first, ...keys };
      throw new CosignerError('STATE_MISMATCH', 'the parent has no sealed file, but this enclave booted from one; refusing to create new state over it');
    }
    try {
      if (h.confirm(onDisk)) this.deps.log.info({ stateVersion: h.state.stateVersion }, 'the reconnected parent holds the changed state; it counts from now');
    } catch (e) {
      if (isCosignerError(e, 'STATE_MISMATCH')) throw new CosignerError('STATE_MISMATCH', 'the parent holds a different sealed file from the one this enclave booted with or last changed to');
      throw e;
    }
    return { outcome: 'already-booted', toStore: null, ...publicKeysOf(h.state) };
  }

  /** Errors keep their code; anything untyped becomes INTERNAL without its (possibly data-bearing) text. */
  private explain(e: unknown): CosignerError {
    return isCosignerError(e) ? e : new CosignerError('INTERNAL', `boot failed: ${e instanceof Error ? e.name : 'error'}`);
  }
}
