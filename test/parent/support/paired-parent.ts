// For the parent's co-signer API tests: a real coordinator (test/coordinator/support/build-app.ts)
// with a co-signer paired through the real pairing route (attestation from the NSM emulator), a
// TCP proxy in between, the production client pointed at the proxy, captured log lines, and a
// SIGN result handler on the coordinator that records what it applies.
import { Writable } from 'node:stream';
import { CosignerError } from '../../../shared/errors.js';
import { createLogger, type Logger } from '../../../shared/log.js';
import type { WorkKind } from '../../../coordinator/work-queue/work-queue.js';
import type { AppOptions } from '../../../coordinator/app.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from '../../coordinator/support/build-app.js';
import { TestCosigner, pairingTokenFor, type EmulatedEnclave } from '../../coordinator/support/cosigner.js';
import { CosignerApiClient, type CosignerApiClientOptions } from '../../../parent/coordinator/cosigner-api-client.js';
import { TcpProxy } from './tcp-proxy.js';

export class LogLines {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly raw: string[] = [];
  readonly logger: Logger;

  constructor(component: string) {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) {
          this.raw.push(l);
          this.lines.push(JSON.parse(l));
        }
        cb();
      },
    });
    this.logger = createLogger(component, { level: 'debug', destination: sink });
  }

  messages(): string[] {
    return this.lines.map((l) => String(l.msg));
  }

  find(re: RegExp): Array<Record<string, unknown>> {
    return this.lines.filter((l) => re.test(String(l.msg)));
  }
}

export interface Harness {
  c: TestCoordinator;
  admin: TestUser;
  proxy: TcpProxy;
  /** The paired co-signer as the coordinator sees it (keys, ids; also a second client for checks). */
  cosigner: TestCosigner;
  applied: Array<{ id: string; result: unknown }>;
  /** The SIGN result handler's apply throws this many more times (a 500 each) before it applies. */
  failApply: { times: number };
  logs: LogLines;
  client(over?: Partial<CosignerApiClientOptions>): CosignerApiClient;
  stateReport(purpose: string): Promise<ReturnType<TestCosigner['state']>>;
  add(payload: unknown, kind?: WorkKind): Promise<string>;
  itemRow(id: string): Promise<{ state: string; lease_owner: string | null; attempts: number; result: string | null }>;
  /** Another co-signer of the same workspace, paired directly (no proxy). */
  another(): Promise<TestCosigner>;
  revoke(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(enclave: EmulatedEnclave, opts: Partial<AppOptions> = {}): Promise<Harness> {
  const c = await startCoordinator({ attestationRoot: enclave.rootPem, ...opts });
  const admin = await c.user('ADMIN');
  const signer = await c.user('SIGNER', 'signer');
  const policy = await signedFetch(c, admin, 'PUT', '/v1/cosigner-attestation-policy', { pcr0: enclave.pcr(0) });
  if (policy.status !== 200) throw new Error(`attestation policy: ${policy.status}`);
  const cosigner = await new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, signer.row.id));
  const proxy = await TcpProxy.start(c.baseUrl);
  const applied: Harness['applied'] = [];
  const failApply = { times: 0 };
  c.app.workResults.register('SIGN', {
    parse: (r) => {
      if (typeof (r as { signature?: unknown })?.signature !== 'string') throw new CosignerError('SCHEMA_VIOLATION', 'a SIGN result is {signature}');
      return r;
    },
    apply: async (_trx, item, result) => {
      if (failApply.times > 0) {
        failApply.times--;
        throw new Error('apply failed (test)');
      }
      applied.push({ id: item.id, result });
    },
  });
  const logs = new LogLines('parent-test');
  const clients: CosignerApiClient[] = [];
  return {
    c, admin, proxy, cosigner, applied, failApply, logs,
    client(over = {}) {
      const k = new CosignerApiClient({ baseUrl: proxy.url, refreshToken: cosigner.refreshToken, logger: logs.logger, ...over });
      clients.push(k);
      return k;
    },
    stateReport: async (purpose) => cosigner.state(purpose),
    async add(payload, kind = 'SIGN') {
      const id = await c.db.transaction().execute((trx) => c.app.workQueue.enqueue(trx, c.workspace.id, kind, payload));
      c.app.workQueue.wake(c.workspace.id);
      return id;
    },
    async itemRow(id) {
      const r = await c.db.selectFrom('work_items').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      return { state: r.state, lease_owner: r.lease_owner, attempts: Number(r.attempts), result: r.result };
    },
    async another() {
      return new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, signer.row.id));
    },
    async revoke() {
      const r = await signedFetch(c, admin, 'DELETE', `/v1/cosigner-pairings/${cosigner.cosignerId}`);
      if (r.status < 200 || r.status >= 300) throw new Error(`revoke: ${r.status} ${JSON.stringify(r.json)}`);
    },
    async close() {
      for (const k of clients) k.close();
      await proxy.close();
      await c.close();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds (polling every 20 ms), or fails after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await sleep(20);
  }
}
