// The parent's HTTP client for the coordinator's co-signer API (/cosigner/v1/*), for one paired API
// user. It holds the refresh token, keeps a short-lived access token (renewed before it expires,
// and once more when the coordinator answers 1606/1607 anyway: clocks differ), gives every call a
// timeout, and turns every failure into a CosignerApiError carrying the HTTP status and the
// coordinator's numeric code, so the long-poll loop can tell "retry later" from "lease lost" from
// "pairing revoked". The parent only carries what the enclave signs (state reports) and what the
// coordinator signs (work items): nothing here is trusted by the enclave. Tokens never reach a log
// or an error message. node:http(s) rather than undici: undici is only a dev dependency.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { CosignerError, type ErrorCode } from '../../shared/errors.js';
import { createLogger, type Logger } from '../../shared/log.js';
import type { StateReport } from '../../shared/cosigner-api/state-report.js';
import { CosignerApiCode } from '../../shared/cosigner-api/error-codes.js';
import type { MpcFrameJson, MpcHelloJson } from '../../shared/cosigner-api/mpc-channel.js';
import type { SignableWorkItem } from '../../shared/cosigner-api/work-item-signature.js';
import { HeartbeatResponse, MpcMessagesResponse, MpcOpeningResponse, PollResponse, ResultResponse, TokenResponse } from '../../shared/cosigner-api/wire.js';
import { RUN_LOG_PATH, RunLogReceipt } from '../../shared/cosigner-api/run-log.js';

/** The coordinator's numeric codes this client acts on (coordinator/README.md, "Co-signer API"). */
export const CosignerApiCodes = CosignerApiCode;

/** Any failure of a co-signer API call. `status` is 0 when no HTTP answer came. */
export class CosignerApiError extends CosignerError {
  readonly status: number;
  /** The coordinator's numeric code (`code` of its error JSON), or null. */
  readonly apiCode: number | null;

  constructor(code: ErrorCode, message: string, status: number, apiCode: number | null, extra: Record<string, string | number | boolean> = {}, options?: { cause?: unknown }) {
    super(code, message, { status, ...(apiCode === null ? {} : { apiCode }), ...extra }, options);
    this.name = 'CosignerApiError';
    this.status = status;
    this.apiCode = apiCode;
  }
}

/** Failures that may pass by themselves: no answer, a timeout, or the coordinator overloaded or failing. */
export function isTransientApiError(e: unknown): boolean {
  if (!(e instanceof CosignerApiError)) return false;
  if (e.code === 'COORDINATOR_UNREACHABLE') return true;
  return e.status === 408 || e.status === 429 || (e.status >= 500 && e.status !== 501);
}

/** The pairing is gone (co-signer revoked or its API user disabled): only pairing again helps. */
export function isRevokedPairing(e: unknown): boolean {
  return e instanceof CosignerApiError && e.apiCode === CosignerApiCodes.REFRESH_TOKEN_INVALID;
}

export type WorkItem = SignableWorkItem;
export interface PollAnswer {
  /** Exactly as the coordinator sent it (the enclave verifies the signature over these fields). */
  item: WorkItem | null;
  /** base64 Ed25519 by the service key, or null with no item. */
  signature: string | null;
}
/** An encrypted MPC frame: the parent carries it and cannot read it. */
export type MpcMessageJson = MpcFrameJson;

export interface CosignerApiClientOptions {
  /** The coordinator's URL, as the pairing token carries it (http: only for local stacks and tests). */
  baseUrl: string;
  refreshToken: string;
  logger?: Logger;
  /** The clock that access token expiry is compared with (the coordinator's expiresAt). */
  now?: () => number;
  /** Timeout of every call except the poll (default 15 s). */
  requestTimeoutMs?: number;
  /** The poll's timeout is its waitMs plus this (default 10 s). */
  pollMarginMs?: number;
  /** Extra CA certificates (PEM) for an https coordinator with a private CA. */
  ca?: string | Buffer;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the call's default timeout. */
  timeoutMs?: number;
}

/** One request: a JSON `body`, or `text` sent as text/plain. */
interface SendOptions {
  body?: unknown;
  text?: string;
  token?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

interface Answer {
  status: number;
  json: unknown;
  headers: IncomingMessage['headers'];
}

const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
const DEFAULT_POLL_MARGIN_MS = 10_000;
/** MPC rounds carry up to 4 MiB; nothing the coordinator sends is larger than that by much. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** Renew an access token this share of its lifetime before it expires (capped at one minute). */
const RENEW_SHARE = 0.2;
const RENEW_MAX_MS = 60_000;

export class CosignerApiClient {
  private readonly base: URL;
  private readonly refreshToken: string;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly requestTimeoutMs: number;
  private readonly pollMarginMs: number;
  private readonly agent: HttpAgent;
  private readonly secure: boolean;
  private access: { token: string; expiresAt: number; renewAt: number } | null = null;
  private renewing: Promise<string> | null = null;
  private closed = false;
  /** The co-signer id the coordinator names with each access token (what state reports are bound to). */
  cosignerId: string | null = null;

  constructor(opts: CosignerApiClientOptions) {
    this.base = new URL(opts.baseUrl.endsWith('/') ? opts.baseUrl : `${opts.baseUrl}/`);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') throw new CosignerError('CONFIG_INVALID', `coordinator URL must be https: (or http: locally), not ${this.base.protocol}`);
    if (!/^csr_[A-Za-z0-9_-]+$/.test(opts.refreshToken)) throw new CosignerError('CONFIG_INVALID', 'the refresh token is not a co-signer refresh token (csr_…)');
    this.refreshToken = opts.refreshToken;
    this.log = opts.logger ?? createLogger('cosigner-api');
    this.now = opts.now ?? Date.now;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.pollMarginMs = opts.pollMarginMs ?? DEFAULT_POLL_MARGIN_MS;
    this.secure = this.base.protocol === 'https:';
    // Keep-alive: heartbeats, MPC rounds and polls reuse connections. A few sockets: a heartbeat
    // runs beside the handler's MPC calls.
    this.agent = this.secure ? new HttpsAgent({ keepAlive: true, maxSockets: 4, ...(opts.ca ? { ca: opts.ca } : {}) }) : new HttpAgent({ keepAlive: true, maxSockets: 4 });
  }

  get baseUrl(): string {
    return this.base.href;
  }

  /** Closes the kept-alive connections; later calls fail with ABORTED. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
  }

  /** Forgets the access token, so the next call takes a new one. */
  invalidateAccessToken(): void {
    this.access = null;
  }

  /**
   * A valid access token: the one held until shortly before its expiry, else a new one from the
   * refresh token. Concurrent callers share one renewal.
   */
  async accessToken(opts: CallOptions = {}): Promise<string> {
    if (this.access && this.now() < this.access.renewAt) return this.access.token;
    // The renewal is shared and runs without the caller's signal (one caller giving up must not
    // fail the others); the caller stops waiting for it when its own signal aborts.
    this.renewing ??= this.renew().finally(() => {
      this.renewing = null;
    });
    return abortable(this.renewing, opts.signal, 'POST /cosigner/v1/token');
  }

  private async renew(): Promise<string> {
    const r = await this.send('POST', 'cosigner/v1/token', { body: { refreshToken: this.refreshToken }, timeoutMs: this.requestTimeoutMs });
    if (r.status !== 200) throw this.errorOf('POST /cosigner/v1/token', r);
    const t = this.checked(TokenResponse, r, 'POST /cosigner/v1/token') as { accessToken: string; expiresAt: number; cosignerId: string };
    const t0 = this.now();
    const lifetime = Math.max(0, t.expiresAt - t0);
    this.access = { token: t.accessToken, expiresAt: t.expiresAt, renewAt: t.expiresAt - Math.min(RENEW_MAX_MS, lifetime * RENEW_SHARE) };
    if (this.cosignerId !== null && this.cosignerId !== t.cosignerId) this.log.warn({ was: this.cosignerId, now: t.cosignerId }, 'the refresh token now names another co-signer');
    this.cosignerId = t.cosignerId;
    this.log.debug({ cosignerId: t.cosignerId, expiresAt: t.expiresAt }, 'co-signer access token renewed');
    return t.accessToken;
  }

  /**
   * Long poll: the next work item, leased to this co-signer, or `item: null` after `waitMs`.
   * `stateReport` is the enclave's, signed for purpose 'poll'.
   */
  async poll(waitMs: number, stateReport: StateReport, opts: CallOptions = {}): Promise<PollAnswer> {
    const q = new URLSearchParams({
      waitMs: String(waitMs), stateVersion: String(stateReport.stateVersion), stateDigest: stateReport.stateDigest,
      stateAt: String(stateReport.at), stateSignature: stateReport.signature,
    });
    const r = await this.authed('GET', `cosigner/v1/work?${q}`, 'GET /cosigner/v1/work', { ...opts, timeoutMs: opts.timeoutMs ?? waitMs + this.pollMarginMs });
    const a = this.checked(PollResponse, r, 'GET /cosigner/v1/work') as PollAnswer;
    if ((a.item === null) !== (a.signature === null)) throw new CosignerApiError('COORDINATOR_REFUSED', 'GET /cosigner/v1/work: an item without a signature (or the reverse)', r.status, null, { reason: 'malformed-response' });
    return a;
  }

  /** Extends the lease of an item this co-signer holds; the new expiry (coordinator's clock). */
  async heartbeat(id: string, opts: CallOptions = {}): Promise<{ leaseExpiresAt: number }> {
    const r = await this.authed('POST', `cosigner/v1/work/${itemId(id)}/heartbeat`, 'POST /cosigner/v1/work/:id/heartbeat', opts);
    return this.checked(HeartbeatResponse, r, 'POST /cosigner/v1/work/:id/heartbeat') as { leaseExpiresAt: number };
  }

  /** Reports an item's result with the enclave's state report for `result:<id>`; idempotent. */
  async result(id: string, body: { result: unknown; state: StateReport }, opts: CallOptions = {}): Promise<{ status: 'recorded' | 'duplicate' }> {
    const r = await this.authed('POST', `cosigner/v1/work/${itemId(id)}/result`, 'POST /cosigner/v1/work/:id/result', { ...opts, body: { result: body.result, state: body.state } });
    return this.checked(ResultResponse, r, 'POST /cosigner/v1/work/:id/result') as { status: 'recorded' | 'duplicate' };
  }

  /** Opens an MPC session's channel with the enclave's hello: the coordinator's hello and opening frames ([] when it does not speak first). */
  async mpcOpening(sessionId: string, hello: MpcHelloJson, opts: CallOptions = {}): Promise<{ hello: MpcHelloJson; messages: MpcMessageJson[] }> {
    const r = await this.authed('POST', `cosigner/v1/mpc/${sessionHex(sessionId)}/opening`, 'POST /cosigner/v1/mpc/:session/opening', { ...opts, body: { hello } });
    return this.checked(MpcOpeningResponse, r, 'POST /cosigner/v1/mpc/:session/opening') as { hello: MpcHelloJson; messages: MpcMessageJson[] };
  }

  /** One round of the enclave's encrypted MPC frames; the party's answers (`replayed`: a retry's stored answer). */
  async mpcMessages(sessionId: string, messages: MpcMessageJson[], opts: CallOptions = {}): Promise<{ messages: MpcMessageJson[]; replayed: boolean }> {
    const r = await this.authed('POST', `cosigner/v1/mpc/${sessionHex(sessionId)}/messages`, 'POST /cosigner/v1/mpc/:session/messages', { ...opts, body: { messages } });
    const a = this.checked(MpcMessagesResponse, r, 'POST /cosigner/v1/mpc/:session/messages') as { messages: MpcMessageJson[] };
    return { messages: a.messages, replayed: r.headers['mpc-replayed'] === 'true' };
  }

  /** Replaces the coordinator's copy of this co-signer's run.log (at most 1 MiB of text). */
  async putRunLog(text: string, opts: CallOptions = {}): Promise<RunLogReceipt> {
    const what = `PUT ${RUN_LOG_PATH}`;
    const r = await this.authed('PUT', RUN_LOG_PATH.slice(1), what, { ...opts, text });
    return this.checked(RunLogReceipt, r, what) as RunLogReceipt;
  }

  /**
   * A call with the access token; an answer 401/1606 or 1607 (revoked token, or expired by the
   * coordinator's clock though not ours) takes a new token and tries once more.
   */
  private async authed(method: string, path: string, what: string, opts: CallOptions & { body?: unknown; text?: string }): Promise<Answer> {
    for (let round = 0; ; round++) {
      const token = await this.accessToken(opts);
      const r = await this.send(method, path, { ...opts, token, timeoutMs: opts.timeoutMs ?? this.requestTimeoutMs });
      if (r.status >= 200 && r.status < 300) return r;
      const code = apiCodeOf(r.json);
      if (r.status === 401 && round === 0 && (code === CosignerApiCodes.ACCESS_TOKEN_INVALID || code === CosignerApiCodes.ACCESS_TOKEN_EXPIRED)) {
        if (this.access?.token === token) this.access = null;
        this.log.info({ cosignerId: this.cosignerId, apiCode: code, call: what }, 'access token refused: taking a new one');
        continue;
      }
      throw this.errorOf(what, r);
    }
  }

  private checked(schema: TSchema, r: Answer, what: string): unknown {
    if (!Value.Check(schema, r.json)) throw new CosignerApiError('COORDINATOR_REFUSED', `${what}: the answer is not the expected JSON`, r.status, null, { reason: 'malformed-response' });
    return r.json;
  }

  private errorOf(what: string, r: Answer): CosignerApiError {
    const apiCode = apiCodeOf(r.json);
    const message = typeof (r.json as { message?: unknown } | null)?.message === 'string' ? ((r.json as { message: string }).message).slice(0, 300) : `HTTP ${r.status}`;
    const text = `${what}: ${r.status} ${message}`;
    if (r.status === 401) {
      const reason = apiCode === CosignerApiCodes.REFRESH_TOKEN_INVALID ? 'refresh' : apiCode === CosignerApiCodes.ACCESS_TOKEN_EXPIRED ? 'access-expired' : 'access';
      return new CosignerApiError('TOKEN_INVALID', text, r.status, apiCode, { reason });
    }
    if (apiCode === CosignerApiCodes.LEASE_LOST) return new CosignerApiError('LEASE_LOST', text, r.status, apiCode);
    if (apiCode === CosignerApiCodes.STATE_ROLLBACK) return new CosignerApiError('STATE_ROLLBACK', text, r.status, apiCode);
    if (r.status === 404) return new CosignerApiError('NOT_FOUND', text, r.status, apiCode);
    if (r.status === 409) return new CosignerApiError('CONFLICT', text, r.status, apiCode);
    return new CosignerApiError('COORDINATOR_REFUSED', text, r.status, apiCode);
  }

  /** One HTTP exchange. Never rejects with anything but a CosignerApiError. */
  private async send(method: string, path: string, opts: SendOptions): Promise<Answer> {
    try {
      return await this.sendOnce(method, path, opts);
    } catch (e) {
      // A kept-alive connection the server had just closed: Node's documented case for one retry.
      if (e instanceof StaleSocketError) return this.sendOnce(method, path, opts);
      throw e;
    }
  }

  private sendOnce(method: string, path: string, opts: SendOptions): Promise<Answer> {
    const what = `${method} /${path.split('?')[0]}`;
    if (this.closed) return Promise.reject(new CosignerApiError('ABORTED', `${what}: the client is closed`, 0, null));
    if (opts.signal?.aborted) return Promise.reject(new CosignerApiError('ABORTED', `${what}: aborted`, 0, null));
    const url = new URL(path, this.base);
    const body = opts.text !== undefined ? Buffer.from(opts.text, 'utf8') : opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: OutgoingHttpHeaders = { accept: 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (body) {
      headers['content-type'] = opts.text !== undefined ? 'text/plain; charset=utf-8' : 'application/json';
      headers['content-length'] = body.length;
    }
    return new Promise<Answer>((resolve, reject) => {
      let settled = false;
      let failure: CosignerApiError | null = null;
      const finish = (err: Error | null, answer?: Answer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(answer!);
      };
      const req = (this.secure ? httpsRequest : httpRequest)(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
          if (size > MAX_RESPONSE_BYTES) {
            failure = new CosignerApiError('COORDINATOR_REFUSED', `${what}: answer larger than ${MAX_RESPONSE_BYTES} bytes`, res.statusCode ?? 0, null, { reason: 'too-large' });
            req.destroy(failure);
            return;
          }
          chunks.push(d);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          if (text) {
            try {
              json = JSON.parse(text);
            } catch {
              json = null; // a proxy's HTML error page: the status says enough
            }
          }
          finish(null, { status: res.statusCode ?? 0, json, headers: res.headers });
        });
        res.on('error', (e) => finish(failure ?? unreachable(what, e)));
        res.on('close', () => {
          if (!res.complete) finish(failure ?? unreachable(what, new Error('connection closed mid-answer')));
        });
      });
      const timer = setTimeout(() => {
        failure = new CosignerApiError('COORDINATOR_UNREACHABLE', `${what}: no answer within ${opts.timeoutMs} ms`, 0, null, { reason: 'timeout' });
        req.destroy(failure);
      }, opts.timeoutMs);
      const onAbort = () => {
        failure = new CosignerApiError('ABORTED', `${what}: aborted`, 0, null);
        req.destroy(failure);
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (failure) return finish(failure);
        if (req.reusedSocket && e.code === 'ECONNRESET') return finish(new StaleSocketError(what, e));
        finish(unreachable(what, e));
      });
      req.end(body);
    });
  }
}

class StaleSocketError extends CosignerApiError {
  constructor(what: string, cause: Error) {
    super('COORDINATOR_UNREACHABLE', `${what}: kept-alive connection reset`, 0, null, { reason: 'network' }, { cause });
  }
}

function unreachable(what: string, e: Error): CosignerApiError {
  const code = (e as NodeJS.ErrnoException).code;
  return new CosignerApiError('COORDINATOR_UNREACHABLE', `${what}: ${code ?? e.message}`, 0, null, { reason: 'network', ...(code ? { errno: code } : {}) }, { cause: e });
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new CosignerApiError('ABORTED', `${what}: aborted`, 0, null));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CosignerApiError('ABORTED', `${what}: aborted`, 0, null));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function apiCodeOf(json: unknown): number | null {
  const c = (json as { code?: unknown } | null)?.code;
  return typeof c === 'number' && Number.isFinite(c) ? c : null;
}

function itemId(id: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new CosignerError('SCHEMA_VIOLATION', 'a work item id is 1–64 letters, digits or dashes');
  return id;
}

function sessionHex(id: string): string {
  if (!/^[0-9a-f]{64}$/.test(id)) throw new CosignerError('SCHEMA_VIOLATION', 'an MPC session id is 64 lowercase hex digits');
  return id;
}
