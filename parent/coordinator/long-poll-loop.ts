// The parent's long-poll loop for one paired API user: poll the coordinator (held 30 s, a constant:
// DESIGN.md says hard-coded), hand each work item exactly as received (item + service-key
// signature, which only the enclave verifies) to the work handler, keep its lease alive by
// heartbeat while the handler runs, and report the result until the coordinator acknowledges it.
// The parent is untrusted and only carries: state reports come from the enclave (`stateReport`),
// results from the handler (which asks the enclave). Failures back off exponentially with full
// jitter (1 s base, 30 s cap, reset by a success); a revoked pairing ends the loop; stop() gives
// up the held poll at once. Results are idempotent on the coordinator, so a report retried after a
// cut connection (or a crash) is recorded once.
import { describeError, isCosignerError } from '../../shared/errors.js';
import { createLogger, type Logger } from '../../shared/log.js';
import type { StateReport } from '../../shared/cosigner-api/state-report.js';
import { CosignerApiError, isRevokedPairing, isTransientApiError, type CosignerApiClient, type WorkItem } from './cosigner-api-client.js';

/** How long the coordinator holds each poll. Not configurable (DESIGN.md). */
export const LONG_POLL_WAIT_MS = 30_000;
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 30_000;
/** Heartbeats go every third of the lease, never more often than this. */
const MIN_HEARTBEAT_INTERVAL_MS = 100;
/** Leases are taken as at most this long (the coordinator's default), whatever the clocks say. */
const MAX_LEASE_ESTIMATE_MS = 60_000;

export interface WorkContext {
  /** Aborts when the lease is lost (another co-signer takes the item), the pairing is revoked, or the loop stops. */
  signal: AbortSignal;
  /** The client, for the MPC relay (mpcOpening / mpcMessages) of the item's session. */
  client: CosignerApiClient;
  /** The lease's latest expiry as the coordinator stated it (its clock). */
  leaseExpiresAt(): number;
  log: Logger;
}

export interface WorkHandler {
  /** The item's result (JSON), to report as `{result, state}`. Throwing reports nothing: the lease expires and the item is issued again. */
  handle(item: WorkItem, signature: string, ctx: WorkContext): Promise<unknown>;
}

export interface LoopClock {
  now(): number;
  /** Resolves after `ms`, or rejects/resolves early when `signal` aborts (either is fine). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface LongPollLoopOptions {
  client: CosignerApiClient;
  handler: WorkHandler;
  /** The enclave's signed state report for `purpose` ('poll' or 'result:<item id>'). */
  stateReport(purpose: string): Promise<StateReport>;
  logger?: Logger;
  clock?: LoopClock;
  /** In [0, 1): the jitter of backoffs. */
  random?: () => number;
}

export type LoopExit = { reason: 'stopped' } | { reason: 'revoked'; error: CosignerApiError };

export const realClock: LoopClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

/** Full jitter: uniform in [0, min(cap, base·2^failures)). */
export function backoffDelay(failures: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures, 30));
  return Math.floor(random() * ceiling);
}

class Revoked extends Error {
  constructor(readonly error: CosignerApiError) {
    super('pairing revoked');
  }
}

export class LongPollLoop {
  private readonly client: CosignerApiClient;
  private readonly handler: WorkHandler;
  private readonly stateReport: (purpose: string) => Promise<StateReport>;
  private readonly log: Logger;
  private readonly clock: LoopClock;
  private readonly random: () => number;
  private readonly stopping = new AbortController();
  private failures = 0;
  private running: Promise<LoopExit> | null = null;

  constructor(opts: LongPollLoopOptions) {
    this.client = opts.client;
    this.handler = opts.handler;
    this.stateReport = opts.stateReport;
    this.log = opts.logger ?? createLogger('long-poll');
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
  }

  /** Starts the loop (once); the promise settles when it ends: stopped, or the pairing revoked. */
  start(): Promise<LoopExit> {
    this.running ??= this.run();
    return this.running;
  }

  /** The loop's end, once started. */
  get done(): Promise<LoopExit> | null {
    return this.running;
  }

  /**
   * Gives up the held poll (and any backoff, heartbeat or report) at once and aborts the handler's
   * signal; resolves when the loop is idle. An item in hand is not reported: its lease expires and
   * the coordinator issues it again.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.running) await this.running;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<LoopExit> {
    this.log.info({ coordinator: this.client.baseUrl }, 'long poll started');
    try {
      while (!this.stopped) await this.once();
      this.log.info({ cosignerId: this.client.cosignerId }, 'long poll stopped');
      return { reason: 'stopped' };
    } catch (e) {
      if (e instanceof Revoked) {
        this.log.error({ cosignerId: this.client.cosignerId, apiCode: e.error.apiCode }, 'the coordinator refuses the refresh token: pairing revoked (or its API user disabled); long poll ends, pair again');
        return { reason: 'revoked', error: e.error };
      }
      throw e; // a bug: nothing else escapes once()
    }
  }

  /** One poll, and the item it brings. */
  private async once(): Promise<void> {
    let item: WorkItem | null;
    let signature: string | null;
    try {
      const state = await this.stateReport('poll');
      if (this.stopped) return;
      ({ item, signature } = await this.client.poll(LONG_POLL_WAIT_MS, state, { signal: this.stopping.signal }));
    } catch (e) {
      await this.failed('poll', e);
      return;
    }
    this.failures = 0;
    if (!item || !signature) return;
    await this.work(item, signature);
  }

  /** After a failure: revoked pairing ends the loop; anything else waits a backoff. */
  private async failed(what: string, e: unknown): Promise<void> {
    if (this.stopped) return;
    if (isRevokedPairing(e)) throw new Revoked(e as CosignerApiError);
    if (isCosignerError(e, 'TOKEN_INVALID')) this.client.invalidateAccessToken(); // refused even when new: take another after the backoff
    const delay = backoffDelay(this.failures, this.random);
    this.failures++;
    const fields = { cosignerId: this.client.cosignerId, failures: this.failures, retryInMs: delay, status: (e as CosignerApiError).status, apiCode: (e as CosignerApiError).apiCode, error: describeError(e) };
    if (isCosignerError(e, 'STATE_ROLLBACK')) this.log.error(fields, `${what}: the coordinator saw a newer enclave state than this one (was the sealed state file restored from an old copy?)`);
    else if (isTransientApiError(e) || !(e instanceof CosignerApiError)) this.log.warn(fields, `${what} failed; retrying`); // not an API error: the enclave's state report
    else this.log.error(fields, `${what} refused; retrying`);
    await this.clock.sleep(delay, this.stopping.signal);
  }

  private async work(item: WorkItem, signature: string): Promise<void> {
    const log = this.log.child({ workItem: item.id, kind: item.kind, attempt: item.attempt });
    log.info('work item received');
    const lease = new AbortController();
    const onStop = () => lease.abort();
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    let leaseExpiresAt = item.leaseExpiresAt;
    let revoked: CosignerApiError | null = null;
    const heartbeats = this.heartbeat(item, lease, log, (t) => (leaseExpiresAt = t), (e) => (revoked = e));
    try {
      let result: unknown;
      try {
        result = await this.handler.handle(item, signature, { signal: lease.signal, client: this.client, leaseExpiresAt: () => leaseExpiresAt, log });
      } catch (e) {
        if (!lease.signal.aborted) log.error({ error: describeError(e) }, 'the handler failed: no result reported; the item is issued again when its lease expires');
        return;
      }
      if (lease.signal.aborted) {
        if (!this.stopped && !revoked) log.warn('lease lost while the handler ran: result dropped (another co-signer has the item)');
        return;
      }
      if (result === undefined) {
        log.error('the handler returned no result (undefined is not JSON): nothing reported');
        return;
      }
      await this.report(item, result, lease, log, () => revoked);
    } finally {
      lease.abort();
      this.stopping.signal.removeEventListener('abort', onStop);
      await heartbeats;
      if (revoked) throw new Revoked(revoked);
    }
  }

  /** Heartbeats every third of the lease until `lease` aborts; aborts it when the lease is lost or the pairing revoked. */
  private async heartbeat(item: WorkItem, lease: AbortController, log: Logger, extended: (t: number) => void, onRevoked: (e: CosignerApiError) => void): Promise<void> {
    // The lease's length, from the expiry the coordinator states (its clock) against ours; bounded
    // so that a skewed clock errs towards heartbeating too often rather than too rarely.
    const leaseMsOf = (expiresAt: number) => Math.min(MAX_LEASE_ESTIMATE_MS, Math.max(3 * MIN_HEARTBEAT_INTERVAL_MS, expiresAt - this.clock.now()));
    let leaseMs = leaseMsOf(item.leaseExpiresAt);
    while (!lease.signal.aborted) {
      const interval = Math.max(MIN_HEARTBEAT_INTERVAL_MS, Math.floor(leaseMs / 3));
      await this.clock.sleep(interval, lease.signal);
      if (lease.signal.aborted) return;
      try {
        const r = await this.client.heartbeat(item.id, { signal: lease.signal, timeoutMs: Math.max(1_000, interval) });
        leaseMs = leaseMsOf(r.leaseExpiresAt);
        extended(r.leaseExpiresAt);
      } catch (e) {
        if (lease.signal.aborted) return;
        if (isRevokedPairing(e)) {
          onRevoked(e as CosignerApiError);
          lease.abort();
          return;
        }
        if (isCosignerError(e, 'LEASE_LOST') || isCosignerError(e, 'NOT_FOUND')) {
          log.warn({ apiCode: (e as CosignerApiError).apiCode }, 'heartbeat: lease lost (another co-signer has the item); the handler is told to stop');
          lease.abort();
          return;
        }
        // A passing failure: the next heartbeat (a third of the lease later) may still make it.
        log.warn({ error: describeError(e) }, 'heartbeat failed; trying again');
      }
    }
  }

  /** Reports the result until acknowledged, the lease is lost, or the report is refused for good. */
  private async report(item: WorkItem, result: unknown, lease: AbortController, log: Logger, revoked: () => CosignerApiError | null): Promise<void> {
    let failures = 0;
    for (let n = 1; !lease.signal.aborted; n++) {
      try {
        // A fresh report each time: a report is valid for minutes, retries may go on longer.
        const state = await this.stateReport(`result:${item.id}`);
        const r = await this.client.result(item.id, { result, state }, { signal: lease.signal });
        this.failures = 0;
        log.info({ status: r.status, attempts: n }, r.status === 'recorded' ? 'result reported' : 'result reported (already recorded: a retried report)');
        return;
      } catch (e) {
        if (lease.signal.aborted || revoked()) return;
        if (isRevokedPairing(e)) throw new Revoked(e as CosignerApiError);
        if (isCosignerError(e, 'LEASE_LOST')) {
          log.warn({ apiCode: (e as CosignerApiError).apiCode }, 'result: lease lost, result dropped (another co-signer has the item)');
          return;
        }
        const permanent = e instanceof CosignerApiError && !isTransientApiError(e) && !isCosignerError(e, 'TOKEN_INVALID');
        if (permanent) {
          log.error({ status: (e as CosignerApiError).status, apiCode: (e as CosignerApiError).apiCode, error: describeError(e) }, 'result refused: dropped');
          return;
        }
        if (isCosignerError(e, 'TOKEN_INVALID')) this.client.invalidateAccessToken();
        const delay = backoffDelay(failures++, this.random);
        log.warn({ attempts: n, retryInMs: delay, error: describeError(e) }, 'result not acknowledged; retrying');
        await this.clock.sleep(delay, lease.signal);
      }
    }
  }
}
