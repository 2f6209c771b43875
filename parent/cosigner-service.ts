// What the parent daemon runs once the enclave is ready (DESIGN.md "Coordinator ↔ co-signer"):
// - setup requests: `cosigner setup|add-user <token>` drops the token (and the user's callback
//   handler, if given) into <state-dir>/setup/ (0600); the daemon pairs with it (parent/pairing/) and writes <tokenId>.result.json beside it.
//   A file hand-off rather than a socket: the operator CLI needs no port, and a request survives a
//   daemon restart (the token file stays until the pairing is done, and pairing resumes);
// - callback changes: `cosigner callback-update` drops <id>.callback-update there (the change,
//   signed by the API user's key); the enclave verifies it, the daemon stores the new state;
// - one long-poll loop per paired API user (parent/coordinator/long-poll-loop.ts) whose work goes
//   to the enclave (parent/mpc/enclave-work-handler.ts);
// - <state-dir>/status.json for `cosigner status`: the enclave's pairings with the service-key
//   fingerprints it pinned, and its state version.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey, randomBytes } from 'node:crypto';
import type { RpcClient } from '../shared/channel/rpc.js';
import type { EnclaveMessages } from '../shared/messages.js';
import type { Logger } from '../shared/log.js';
import { CosignerError, describeError, isCosignerError } from '../shared/errors.js';
import { decodePairingToken } from '../shared/cosigner-api/pairing-token.js';
import type { SealedStore } from './sealed-store.js';
import { PairingRecords, type PairingRecord } from './pairing/pairing-records.js';
import { pairWithCoordinator, type CallbackSetup } from './pairing/pair-with-coordinator.js';
import { CosignerApiClient } from './coordinator/cosigner-api-client.js';
import { LongPollLoop } from './coordinator/long-poll-loop.js';
import { EnclaveWorkHandler } from './mpc/enclave-work-handler.js';
import { storeStateChange } from './state-sync.js';
import type { CustomerLog } from './logs/customer-log.js';
import { ConfigurationHistory, type PairingCommand } from './logs/configuration-history.js';
import type { RunLogDelivery } from './logs/run-log-delivery.js';

const SETUP_SCAN_MS = 1_000;
const SETUP_RETRY_MAX_MS = 60_000;
/** Failures of a setup request that may pass by themselves (decided by code, never by message text). */
const TRANSIENT = new Set(['TRANSPORT_ERROR', 'RPC_TIMEOUT', 'CHANNEL_CLOSED', 'ENCLAVE_NOT_READY', 'STATE_CHANGE_PENDING', 'SEALED_STORE_ERROR']);

/** What `cosigner setup` leaves for the daemon: the token, and the user's callback handler if any. */
export interface SetupRequest {
  pairingToken: string;
  callback: CallbackSetup | null;
}

export function encodeSetupRequest(r: SetupRequest): string {
  return JSON.stringify({ pairingToken: r.pairingToken, callback: r.callback && { url: r.callback.url, handlerPublicKeySpki: Buffer.from(r.callback.handlerPublicKeySpki).toString('base64'), allowPlainHttp: r.callback.allowPlainHttp } }) + '\n';
}

function parseSetupRequest(text: string): SetupRequest {
  const v = JSON.parse(text) as { pairingToken?: unknown; callback?: { url?: unknown; handlerPublicKeySpki?: unknown; allowPlainHttp?: unknown } | null };
  if (typeof v.pairingToken !== 'string') throw new CosignerError('CONFIG_INVALID', 'the setup request has no pairing token');
  const c = v.callback;
  if (c === null || c === undefined) return { pairingToken: v.pairingToken, callback: null };
  if (typeof c.url !== 'string' || typeof c.handlerPublicKeySpki !== 'string') throw new CosignerError('CONFIG_INVALID', 'the setup request\'s callback is malformed');
  return { pairingToken: v.pairingToken, callback: { url: c.url, handlerPublicKeySpki: new Uint8Array(Buffer.from(c.handlerPublicKeySpki, 'base64')), allowPlainHttp: c.allowPlainHttp === true } };
}

/** What `cosigner callback-update` leaves for the daemon: the change as the API user signed it. */
export interface CallbackUpdateRequest {
  cosignerId: string;
  /** Compact JWS (shared/cosigner-api/callback-update.ts). */
  update: string;
}

export function encodeCallbackUpdateRequest(r: CallbackUpdateRequest): string {
  return JSON.stringify({ cosignerId: r.cosignerId, update: r.update }) + '\n';
}

function parseCallbackUpdateRequest(text: string): CallbackUpdateRequest {
  const v = JSON.parse(text) as { cosignerId?: unknown; update?: unknown };
  if (typeof v.cosignerId !== 'string' || typeof v.update !== 'string') throw new CosignerError('CONFIG_INVALID', 'the callback-update request is malformed');
  return { cosignerId: v.cosignerId, update: v.update };
}

/** The request files the daemon takes: `<id>.token` (pairing) and `<id>.callback-update`. */
const REQUEST_FILE = /^([A-Za-z0-9-]{1,64})\.(token|callback-update)$/;

export function setupDir(stateDir: string): string {
  return join(stateDir, 'setup');
}

export function statusPath(stateDir: string): string {
  return join(stateDir, 'status.json');
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await fsp.writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
  await fsp.rename(tmp, path);
}

export interface CosignerServiceOptions {
  client: RpcClient<typeof EnclaveMessages>;
  store: SealedStore;
  stateDir: string;
  log: Logger;
  /** customer_cosigner.log (parent/logs/): workspace operations, for the operator. */
  customerLog?: CustomerLog;
  /** run.log: the setup and configuration history, sent to the coordinator by `runLogDelivery`. */
  runLog?: CustomerLog;
  runLogDelivery?: RunLogDelivery;
}

export class CosignerService {
  private readonly records: PairingRecords;
  private readonly loops = new Map<string, LongPollLoop>();
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;
  /** Setup requests that failed for a passing reason: how often, and not before when again. */
  private readonly failures = new Map<string, number>();
  private readonly retryAt = new Map<string, number>();
  private ready = false;
  private readonly history: ConfigurationHistory;

  constructor(private readonly o: CosignerServiceOptions) {
    this.records = new PairingRecords(o.stateDir);
    this.history = new ConfigurationHistory({ customerLog: o.customerLog, runLog: o.runLog });
  }

  /** Begin watching for setup requests (they wait until the enclave is ready). */
  start(): void {
    this.timer = setInterval(() => void this.scan(), SETUP_SCAN_MS); // scan() never rejects
  }

  /** The enclave (re)booted: publish its status, and run a loop for every pairing it holds. */
  async enclaveReady(): Promise<void> {
    this.ready = true;
    const active = await this.writeStatus();
    for (const r of await this.records.list((name, e) => this.o.log.error({ record: name }, `pairing record skipped: ${describeError(e)}`))) if (active.has(r.cosignerId)) this.runLoop(r);
    void this.deliverRunLog(); // what a failed delivery left, or a run.log changed while the daemon was down
    void this.scan();
  }

  enclaveLost(): void {
    this.ready = false;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled([...this.loops.values()].map((l) => l.stop()));
    this.loops.clear();
  }

  private runLoop(r: PairingRecord): void {
    if (this.loops.has(r.cosignerId)) return;
    const log = this.o.log.child({ cosignerId: r.cosignerId, workspaceId: r.workspaceId });
    const loop = new LongPollLoop({
      client: new CosignerApiClient({ baseUrl: r.coordinatorUrl, refreshToken: r.refreshToken, logger: log }),
      handler: new EnclaveWorkHandler({ enclave: this.o.client, store: this.o.store, cosignerId: r.cosignerId, log, customerLog: this.o.customerLog }),
      stateReport: (purpose) => this.o.client.call('StateReport', { cosignerId: r.cosignerId, purpose }),
      logger: log,
    });
    this.loops.set(r.cosignerId, loop);
    log.info({ coordinator: r.coordinatorUrl, userId: r.userId }, 'long poll started');
    this.o.customerLog?.info('CosignerService', 'runLoop', `long poll started for co-signer ${r.cosignerId} (workspace ${r.workspaceId}, API user ${r.userId}) at ${new URL(r.coordinatorUrl).origin}`);
    void loop.start().then(
      (exit) => {
        this.loops.delete(r.cosignerId);
        if (exit.reason === 'revoked') log.error('the coordinator revoked this pairing; its long poll has stopped');
        if (exit.reason === 'revoked') this.o.customerLog?.error('CosignerService', 'runLoop', `the coordinator revoked co-signer ${r.cosignerId}; its long poll has stopped`);
      },
      (e: unknown) => {
        this.loops.delete(r.cosignerId);
        log.error(`long poll ended: ${describeError(e)}`);
      },
    );
  }

  /** Co-signer ids the enclave holds as active. */
  private async writeStatus(): Promise<Set<string>> {
    const p = await this.o.client.call('Pairings', {});
    const { callbackSigningKeySpki, cckPublicKeySpki, ...rest } = p;
    const pem = (der: Uint8Array): string => createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();
    const keys = { callbackSigningKeyPem: pem(callbackSigningKeySpki), ...(cckPublicKeySpki ? { cckPublicKeyPem: pem(cckPublicKeySpki) } : {}) };
    await writeAtomically(statusPath(this.o.stateDir), JSON.stringify({ updatedAt: new Date().toISOString(), ...keys, ...rest }, null, 2) + '\n');
    return new Set(p.pairings.filter((x) => x.status === 'active' && x.cosignerId).map((x) => x.cosignerId!));
  }

  /** Never rejects: a daemon must not die of a setup request (an unhandled rejection would end it). */
  private async scan(): Promise<void> {
    if (!this.ready || this.scanning) return;
    this.scanning = true;
    try {
      let names: string[];
      try {
        names = await fsp.readdir(setupDir(this.o.stateDir));
      } catch {
        return;
      }
      for (const name of names.filter((n) => REQUEST_FILE.test(n)).sort()) {
        const [, id, kind] = REQUEST_FILE.exec(name)!;
        if ((this.retryAt.get(id!) ?? 0) > Date.now()) continue;
        await this.request(id!, kind as 'token' | 'callback-update').catch((e: unknown) => this.o.log.error({ request: id }, `setup request not handled: ${describeError(e)}`));
      }
    } finally {
      this.scanning = false;
    }
  }

  private async request(id: string, kind: 'token' | 'callback-update'): Promise<void> {
    const dir = setupDir(this.o.stateDir);
    const requestFile = join(dir, `${id}.${kind}`);
    let answer: Record<string, unknown>;
    let record: PairingRecord | null = null;
    let stateStored = false;
    // For the logs: which command this is, and the co-signer a callback change names.
    let command: PairingCommand | 'callback-update' = kind === 'token' ? 'setup' : 'callback-update';
    let changeFor: string | null = null;
    try {
      const text = await fsp.readFile(requestFile, 'utf8');
      if (kind === 'token') {
        const req = parseSetupRequest(text);
        const token = req.pairingToken;
        const decoded = decodePairingToken(token);
        command = (await this.records.list()).some((r) => r.tokenId !== decoded.tokenId) ? 'add-user' : 'setup';
        if (!this.failures.has(id)) this.history.pairingStarted(command, decoded.tokenId, decoded.url);
        record = await pairWithCoordinator(token, { client: this.o.client, store: this.o.store, records: this.records, log: this.o.log }, req.callback);
        answer = { ok: true, cosignerId: record.cosignerId, workspaceId: record.workspaceId, userId: record.userId, coordinatorUrl: record.coordinatorUrl, serviceKeySha256: decoded.serviceKeySha256 };
        this.history.paired(command, record, decoded.serviceKeySha256, req.callback);
      } else {
        const req = parseCallbackUpdateRequest(text);
        changeFor = req.cosignerId;
        const log = this.o.log.child({ cosignerId: req.cosignerId });
        const r = await this.o.client.call('UpdateCallback', req);
        await storeStateChange(this.o.client, this.o.store, r.toStore, log);
        stateStored = true;
        answer = { ok: true, cosignerId: req.cosignerId, changed: r.changed, callbackVersion: r.callbackVersion };
        this.history.callbackUpdated(req.cosignerId, r.changed, r.callbackVersion);
      }
    } catch (e) {
      // A failure that may pass (coordinator or enclave unreachable, a change waiting to be
      // stored) leaves the request to be tried again, later each time; anything else is final.
      const message = describeError(e);
      if (isCosignerError(e) && TRANSIENT.has(e.code)) {
        const failures = (this.failures.get(id) ?? 0) + 1;
        this.failures.set(id, failures);
        const delay = Math.min(SETUP_RETRY_MAX_MS, SETUP_SCAN_MS * 2 ** Math.min(failures, 10));
        this.retryAt.set(id, Date.now() + delay);
        this.o.log.warn({ request: id, retryInMs: delay }, `${kind === 'token' ? 'pairing' : 'callback change'} will be tried again: ${message}`);
        this.history.willRetry(command, id, delay, message);
        return;
      }
      this.o.log.error({ request: id }, `${kind === 'token' ? 'pairing' : 'callback change'} failed: ${message}`);
      if (command === 'callback-update') this.history.callbackUpdateFailed(id, changeFor, message);
      else this.history.pairingFailed(command, id, message);
      answer = { ok: false, error: message.slice(0, 500) };
    }
    this.failures.delete(id);
    this.retryAt.delete(id);
    // status.json before the answer, so a command that returns on its answer reads the new
    // status; a status that cannot be written is logged and never hides the answer.
    if (record || stateStored) await this.writeStatus().catch((e: unknown) => this.o.log.error(`status not written: ${describeError(e)}`));
    await writeAtomically(join(dir, `${id}.result.json`), JSON.stringify(answer, null, 2) + '\n');
    await fsp.unlink(requestFile).catch(() => undefined);
    if (record) this.runLoop(record);
    void this.deliverRunLog();
  }

  /** run.log to the coordinator of every pairing with a running long poll (never rejects, never delays a command). */
  private deliverRunLog(): Promise<void> {
    if (!this.o.runLogDelivery) return Promise.resolve();
    return this.records.list().then((all) => this.o.runLogDelivery!.deliver(all.filter((r) => this.loops.has(r.cosignerId))), (e: unknown) => this.o.log.error(`run.log not sent: ${describeError(e)}`));
  }
}
