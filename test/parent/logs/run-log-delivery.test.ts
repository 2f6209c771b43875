// run.log to the coordinator: sent to every pairing that has not received this text, a failure
// logged and tried again at the next delivery (a new process too), the newest whole lines within
// 1 MiB; against the real coordinator route through the real API client.
import { expect } from 'chai';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { RunLogDelivery, runLogTail, RUN_LOG_DELIVERY_FILE } from '../../../parent/logs/run-log-delivery.js';
import { LineLogFile, RUN_LOG_FILE } from '../../../parent/logs/customer-log.js';
import { LOG_LINE } from '../../../parent/logs/customer-log-format.js';
import type { PairingRecord } from '../../../parent/pairing/pairing-records.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from '../../coordinator/support/build-app.js';
import { EmulatedEnclave, TestCosigner, pairingTokenFor } from '../../coordinator/support/cosigner.js';

describe('run.log delivery to the coordinator', function () {
  this.timeout(60_000);
  let enclave: EmulatedEnclave;
  let c: TestCoordinator;
  let admin: TestUser;
  let paired: TestCosigner;
  let dir: string;
  let record: PairingRecord;
  const silent = pino({ level: 'silent' });

  before(async () => {
    enclave = EmulatedEnclave.create();
    c = await startCoordinator({ attestationRoot: enclave.rootPem, allowAnyPcrs: true });
    admin = await c.user('ADMIN');
    paired = await new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, admin.row.id));
  });
  after(async () => {
    await c?.close();
    enclave?.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'run-log-delivery-'));
    record = { tokenId: 't-1', coordinatorUrl: c.baseUrl, cosignerId: paired.cosignerId, workspaceId: c.workspace.id, userId: admin.row.id, refreshToken: paired.refreshToken, pairedAt: Date.now() };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const stored = async () => (await signedFetch(c, admin, 'GET', `/v1/cosigners/${paired.cosignerId}/run_log`)).json?.runLog as string | undefined;

  it('sends run.log once per change; a coordinator that cannot be reached is tried again at the next delivery, even by a new process', async () => {
    const runLog = LineLogFile.runLog(dir);
    runLog.info('CosignerService', 'setup', 'setup: paired');
    await runLog.flushed();
    const customer = LineLogFile.customerLog(dir);
    const unreachable = { ...record, coordinatorUrl: 'http://127.0.0.1:9' };
    const down = new RunLogDelivery({ stateDir: dir, runLogPath: join(dir, RUN_LOG_FILE), log: silent, customerLog: customer });
    await down.deliver([unreachable]);
    await customer.close();
    const warning = readFileSync(join(dir, 'customer_cosigner.log'), 'utf8').trimEnd();
    expect(warning).to.match(LOG_LINE);
    expect(warning).to.match(/WARN .* RunLogDelivery ::deliver - run\.log not delivered to http:\/\/127\.0\.0\.1:9 for co-signer .*COORDINATOR_UNREACHABLE/);

    // A new process with the coordinator reachable: the missing copy goes.
    const calls: string[] = [];
    const up = new RunLogDelivery({ stateDir: dir, runLogPath: join(dir, RUN_LOG_FILE), log: silent });
    await up.deliver([record]);
    expect(await stored()).to.equal(readFileSync(join(dir, RUN_LOG_FILE), 'utf8'));
    const delivered = JSON.parse(readFileSync(join(dir, RUN_LOG_DELIVERY_FILE), 'utf8')) as Record<string, string>;
    expect(Object.keys(delivered)).to.deep.equal([paired.cosignerId]);

    // Unchanged: nothing is sent (a client that would fail proves it is not asked).
    const spy = new RunLogDelivery({ stateDir: dir, runLogPath: join(dir, RUN_LOG_FILE), log: silent, clientFor: () => ({ putRunLog: async () => { calls.push('put'); throw new Error('not expected'); }, close: () => undefined }) });
    await spy.deliver([record]);
    expect(calls).to.deep.equal([]);
    // Changed: sent again.
    runLog.info('CosignerService', 'callbackUpdate', 'callback-update: moved');
    await runLog.close();
    await up.deliver([record]);
    expect((await stored())!.trimEnd().split('\n')).to.have.length(2);
  });

  it('folds deliveries asked for while one runs into one more round, and never rejects', async () => {
    writeFileSync(join(dir, RUN_LOG_FILE), 'one\n');
    const sent: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let begun!: () => void;
    const firstSent = new Promise<void>((r) => (begun = r));
    const d = new RunLogDelivery({ stateDir: dir, runLogPath: join(dir, RUN_LOG_FILE), log: silent, clientFor: () => ({
      putRunLog: async (text: string) => {
        sent.push(text);
        begun();
        await gate;
        if (text === 'one\n') throw new Error('coordinator down');
        return { receivedAt: Date.now(), sizeBytes: text.length };
      },
      close: () => undefined,
    }) });
    const first = d.deliver([record]);
    await firstSent;
    appendFileSync(join(dir, RUN_LOG_FILE), 'two\n');
    const second = d.deliver([record]);
    const third = d.deliver([record]);
    release();
    await Promise.all([first, second, third]);
    expect(sent).to.deep.equal(['one\n', 'one\ntwo\n']);
  });

  it('sends the newest whole lines within the bound', async () => {
    const path = join(dir, RUN_LOG_FILE);
    expect(await runLogTail(path)).to.equal(null);
    writeFileSync(path, 'aaaa\nbbbb\ncccc\n');
    expect(await runLogTail(path, 100)).to.equal('aaaa\nbbbb\ncccc\n');
    expect(await runLogTail(path, 15)).to.equal('aaaa\nbbbb\ncccc\n');
    expect(await runLogTail(path, 14)).to.equal('bbbb\ncccc\n'); // a partial first line is left out
    expect(await runLogTail(path, 10)).to.equal('bbbb\ncccc\n'); // a cut at a line boundary keeps the line
    expect(await runLogTail(path, 9)).to.equal('cccc\n');
    expect(await runLogTail(path, 3)).to.equal('');
  });
});
