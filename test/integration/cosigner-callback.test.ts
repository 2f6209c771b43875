// The callback handler's answers across the real processes (issue 9 "Tests across real processes"):
// the enclave and the parent daemon as `npm start` runs them, paired by `cosigner setup` for two API
// users whose handler is an HTTP server in this test. Per request the handler approves, rejects, or
// misbehaves: garbage, a wrong requestId, a JWT signed by another key, an `alg: none` token, HTTP
// 500, a 10 MB body, a slow drip, no answer at all. Only APPROVE signs; REJECT is REJECTED; every
// other answer fails the request with the enclave's reason, at once (the handler is asked once:
// the co-signer reports these failures as final); and the co-signer keeps serving.
// RETRY: the enclave here is started with a 200 ms retry interval (`--callback-retry-interval-ms`,
// part of its measured command line; 3 minutes by default); RETRY, RETRY, APPROVE gets the identical
// request three times, then the signature.
import { expect } from 'chai';
import { createPublicKey, generateKeyPairSync, randomBytes, verify as edVerify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compactVerify } from 'jose';
import { runCli } from '../../parent/cli.js';
import { CosignerApiClient } from '../../parent/coordinator/cosigner-api-client.js';
import { createLogger } from '../../shared/log.js';
import { expectCosignerRejection } from '../support/expect-error.js';
import { signResponseJwt } from '../../shared/callback/response-jwt.js';
import { generatePaillierKeyPair } from '../../shared/mpc/paillier/paillier.js';
import { KeyLockJournal } from '../../coordinator/mpc/key-lock-journal.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from '../coordinator/support/build-app.js';
import { pairingTokenFor } from '../coordinator/support/cosigner.js';
import { until } from '../support/net.js';
import { startCosignerStack, type CosignerStack } from './support/cosigner-stack.js';

type Mode = 'approve' | 'retry-then-approve' | 'reject' | 'garbage' | 'wrong-request-id' | 'other-key' | 'alg-none' | 'http-500' | '10-mb' | 'slow-drip' | 'no-answer';

/** What each answer must come to: the final status, and the code the enclave's reason names. */
const EXPECTED: Record<Mode, { status: string; code?: RegExp }> = {
  approve: { status: 'COMPLETED' },
  'retry-then-approve': { status: 'COMPLETED' },
  reject: { status: 'REJECTED', code: /CALLBACK_REJECTED/ },
  garbage: { status: 'FAILED', code: /CALLBACK_RESPONSE_INVALID/ },
  'wrong-request-id': { status: 'FAILED', code: /CALLBACK_RESPONSE_INVALID/ },
  'other-key': { status: 'FAILED', code: /CALLBACK_RESPONSE_INVALID/ },
  'alg-none': { status: 'FAILED', code: /CALLBACK_RESPONSE_INVALID/ },
  'http-500': { status: 'FAILED', code: /CALLBACK_HTTP_STATUS/ },
  '10-mb': { status: 'FAILED', code: /CALLBACK_RESPONSE_TOO_LARGE/ },
  'slow-drip': { status: 'FAILED', code: /CALLBACK_TIMEOUT/ },
  'no-answer': { status: 'FAILED', code: /CALLBACK_TIMEOUT/ },
};

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('co-signer callback handler answers across the real processes', function () {
  this.timeout(600_000);
  let cs: CosignerStack;
  let c: TestCoordinator;
  let journal: KeyLockJournal;
  let server: Server;
  let handlerUrl: string;
  const handler = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  let cosignerKey: KeyObject;
  /** The mode of each request, by the hex payload the enclave will sign. */
  const modes = new Map<string, Mode>();
  const seen = new Map<string, number>();
  /** Every request JWT the handler got, by payload: a RETRY must bring the identical one again. */
  const jwts = new Map<string, string[]>();
  const open = new Set<ServerResponse>();
  let users: TestUser[];

  function answer(req: IncomingMessage, res: ServerResponse, jwt: string): void {
    void (async () => {
      const { payload } = await compactVerify(jwt, cosignerKey, { algorithms: ['RS256'] }); // the enclave signed it
      const claims = JSON.parse(new TextDecoder().decode(payload)) as { requestId: string; rawTx: Array<{ payload: string }> };
      const content = claims.rawTx[0]!.payload;
      const mode = modes.get(content) ?? 'approve';
      seen.set(content, (seen.get(content) ?? 0) + 1);
      jwts.set(content, [...(jwts.get(content) ?? []), jwt]);
      const reply = (body: string | Buffer, status = 200) => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(body);
      };
      switch (mode) {
        case 'approve': return reply(signResponseJwt({ action: 'APPROVE', requestId: claims.requestId }, handler.privateKey));
        case 'retry-then-approve': return reply(signResponseJwt({ action: seen.get(content)! < 3 ? 'RETRY' : 'APPROVE', requestId: claims.requestId }, handler.privateKey));
        case 'reject': return reply(signResponseJwt({ action: 'REJECT', requestId: claims.requestId, rejectionReason: 'over the limit' }, handler.privateKey));
        case 'garbage': return reply('this is not a JWT');
        case 'wrong-request-id': return reply(signResponseJwt({ action: 'APPROVE', requestId: `${claims.requestId}-other` }, handler.privateKey));
        case 'other-key': return reply(signResponseJwt({ action: 'APPROVE', requestId: claims.requestId }, otherKey));
        case 'alg-none': return reply(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ action: 'APPROVE', requestId: claims.requestId })}.`);
        case 'http-500': return reply('internal error', 500);
        case '10-mb': return reply(Buffer.alloc(10 * 1024 * 1024, 0x61));
        case 'slow-drip': {
          res.writeHead(200, { 'content-type': 'text/plain' });
          open.add(res);
          const t = setInterval(() => res.write('e'), 1_000);
          res.on('close', () => clearInterval(t));
          return;
        }
        case 'no-answer':
          open.add(res);
          return;
      }
    })().catch(() => {
      res.writeHead(400);
      res.end('bad request JWT');
    });
    void req;
  }

  before(async () => {
    cs = await startCosignerStack('cosigner-callback-', { enclaveArgs: ['--callback-retry-interval-ms', '200'] });
    journal = KeyLockJournal.open(join(cs.work, 'locks.sqlite'));
    const paillier = generatePaillierKeyPair(2048).secretKey;
    c = await startCoordinator({ attestationRoot: readFileSync(cs.stack.nsmRootPem, 'utf8'), allowAnyPcrs: true, mpc: { lockStore: journal, paillier: () => paillier } });
    const admin = await c.user('ADMIN', 'admin');
    await admin.v5.createVaultAccount('treasury');
    await signedFetch(c, admin, 'POST', '/v1/tap/policy', { rules: [{ name: 'raw', operations: ['RAW'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] });

    const out: string[] = [];
    const sd = ['--state-dir', cs.stack.parentStateDir];
    await until('the parent status', async () => (await runCli(['print-public-key', ...sd], { stdout: (l) => out.push(l), stderr: () => undefined })) === 0, 60_000);
    cosignerKey = createPublicKey(out.join('\n'));
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8').trim()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    handlerUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const dir = join(cs.work, 'handler');
    mkdirSync(dir);
    writeFileSync(join(dir, 'handler.pub'), handler.publicKey.export({ type: 'spki', format: 'pem' }));

    // Two API users, two long polls: the two 30-second waits run side by side.
    users = [];
    for (const name of ['user-a', 'user-b']) {
      const u = await c.user('SIGNER', name);
      const r = await runCli(['setup', await pairingTokenFor(c, admin, u.row.id), ...sd, '--callback-url', `${handlerUrl}/hooks/${name}`, '--callback-public-key', join(dir, 'handler.pub'), '--allow-plain-http-callback'], { stdout: () => undefined, stderr: () => undefined });
      expect(r).to.equal(0);
      users.push(u);
    }
    await until('three master keys', async () => Object.keys(await c.app.masterKeys.publicKeys(c.workspace.id)).length === 3, 300_000);
  });

  after(async () => {
    for (const r of open) r.destroy();
    server?.closeAllConnections();
    server?.close();
    await c?.close();
    journal?.close();
    await cs?.close();
  });

  async function request(as: TestUser, mode: Mode): Promise<{ id: string; content: string; mode: Mode }> {
    const content = randomBytes(24).toString('hex');
    modes.set(content, mode);
    const r = await as.v5.createTransaction({ operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' }, extraParameters: { rawMessageData: { algorithm: 'MPC_EDDSA_ED25519', messages: [{ content, derivationPath: [44, 501, 0, 0, 0] }] } } } as never);
    return { id: r.id, content, mode };
  }

  /** The transaction once it is COMPLETED, FAILED or REJECTED; the parent's last lines if it never is. */
  async function finalStatus(as: TestUser, id: string, what: string, timeoutMs = 90_000) {
    return until(`${what}: a final status`, async () => {
      const t = await as.v5.getTransactionById(id);
      return ['COMPLETED', 'FAILED', 'REJECTED'].includes(t.status) ? t : null;
    }, timeoutMs).catch((e: Error) => {
      throw new Error(`${e.message}; the parent's last lines:\n${cs.stack.output('parent').slice(-10).join('\n')}`);
    });
  }

  it('only APPROVE signs (after RETRY, RETRY too); REJECT is REJECTED; garbage, a wrong requestId, another key, alg none, 500, 10 MB, a slow drip and silence fail with the reason; it keeps serving', async () => {
    // The two 30 s cases first, one per user, so each long poll takes one while the other works through the rest.
    const all = [await request(users[0]!, 'slow-drip'), await request(users[1]!, 'no-answer')];
    for (const [i, mode] of (['approve', 'retry-then-approve', 'reject', 'garbage', 'wrong-request-id', 'other-key', 'alg-none', 'http-500', '10-mb'] as const).entries()) all.push(await request(users[i % 2]!, mode));
    for (const r of all) {
      const tx = await finalStatus(users[0]!, r.id, r.mode);
      const want = EXPECTED[r.mode];
      expect(tx.status, `${r.mode}: ${tx.subStatus} ${tx.errorDescription ?? ''}`).to.equal(want.status);
      if (r.mode === 'retry-then-approve') {
        expect(jwts.get(r.content), 'RETRY, RETRY, APPROVE: the identical request three times').to.have.length(3);
        expect(new Set(jwts.get(r.content)).size).to.equal(1);
      } else expect(seen.get(r.content), `${r.mode}: the handler was asked once`).to.equal(1);
      if (want.code) {
        expect(tx.errorDescription, r.mode).to.match(want.code);
        expect(tx.signedMessages ?? [], `${r.mode}: nothing signed`).to.have.length(0);
      } else {
        const m = tx.signedMessages![0]!;
        const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(m.publicKey, 'hex')]), format: 'der', type: 'spki' });
        expect(edVerify(null, Buffer.from(r.content, 'hex'), key, Buffer.from(m.signature.fullSig, 'hex'))).to.equal(true);
      }
      if (r.mode === 'reject') expect(tx.subStatus).to.equal('REJECTED_BY_COSIGNER');
    }
    for (const p of ['enclave', 'parent'] as const) expect(cs.stack.isRunning(p), `${p} still running`).to.equal(true);
    // And after all of it, an approved request is signed.
    const last = await request(users[1]!, 'approve');
    const tx = await finalStatus(users[1]!, last.id, 'the last request');
    expect(tx.status, tx.errorDescription).to.equal('COMPLETED');
  });

  it("a hostile parent (this test, speaking the real frames) swaps the handler's approvals between two requests and replays an old one: refused, nothing signed for them; honest work goes on", async () => {
    const { stack } = cs;
    await stack.stopProcess('parent', 'SIGKILL'); // the test is the parent now; the enclave keeps running
    const enclave = cs.enclaveClient();
    const record = JSON.parse(readFileSync(join(stack.parentStateDir, 'pairings', readdirSync(join(stack.parentStateDir, 'pairings')).find((n) => n.endsWith('.json'))!), 'utf8')) as { cosignerId: string; refreshToken: string };
    const api = new CosignerApiClient({ baseUrl: c.baseUrl, refreshToken: record.refreshToken, logger: createLogger('hostile-parent', { level: 'silent' }) });
    const asBytes = async (approval: { url: string; jwt: string }) => {
      const res = await fetch(`${approval.url}/v2/tx_sign_request`, { method: 'POST', body: approval.jwt, headers: { 'content-type': 'application/jwt' } });
      return { ok: true, status: res.status, contentType: res.headers.get('content-type'), body: new Uint8Array(await res.arrayBuffer()), code: null, message: null };
    };
    /** A request taken by hand: the signed item from the coordinator, started in the enclave, its genuine approval fetched from the handler. */
    const take = async () => {
      const r = await request(users[0]!, 'approve');
      const polled = await api.poll(5_000, await enclave.call('StateReport', { cosignerId: record.cosignerId, purpose: 'poll' }));
      expect((polled.item!.payload as { transactionId: string }).transactionId).to.equal(r.id);
      const started = await enclave.call('MpcStart', { cosignerId: record.cosignerId, itemJson: JSON.stringify(polled.item), signature: polled.signature! });
      expect(started.sessions, 'nothing starts before the handler answers').to.deep.equal([]);
      return { ...r, approval: started.approval!, answer: await asBytes(started.approval!) };
    };
    const a = await take();
    const b = await take();
    expect(a.approval.requestId).to.not.equal(b.approval.requestId);
    // A's approval handed in as B's: it names A's requestId; B's approval is over (its own answer
    // after that finds nothing pending), nothing is signed for it.
    await expectCosignerRejection(enclave.call('MpcApprovalAnswer', { requestId: b.approval.requestId, answer: a.answer }), 'CALLBACK_RESPONSE_INVALID', /different requestId/);
    await expectCosignerRejection(enclave.call('MpcApprovalAnswer', { requestId: b.approval.requestId, answer: b.answer }), 'MPC_STATE', /no callback approval is pending/);
    // A's own approval works once; the same approval again finds nothing pending.
    const signedA = await enclave.call('MpcApprovalAnswer', { requestId: a.approval.requestId, answer: a.answer });
    expect(signedA.sessions).to.have.length(1);
    await expectCosignerRejection(enclave.call('MpcApprovalAnswer', { requestId: a.approval.requestId, answer: a.answer }), 'MPC_STATE', /no callback approval is pending/);
    // An old approval for a new request: refused, it names the old requestId.
    const c2 = await take();
    await expectCosignerRejection(enclave.call('MpcApprovalAnswer', { requestId: c2.approval.requestId, answer: a.answer }), 'CALLBACK_RESPONSE_INVALID', /different requestId/);
    api.close();

    // The real parent again: honest requests are signed.
    stack.startParent();
    await stack.waitFor('parent', /"msg":"ready"/, 120_000, 0);
    const honest = await request(users[1]!, 'approve');
    const tx = await finalStatus(users[1]!, honest.id, 'an honest request after the hostile parent', 120_000);
    expect(tx.status, tx.errorDescription).to.equal('COMPLETED');
    for (const r of [b, c2]) expect((await users[0]!.v5.getTransactionById(r.id)).signedMessages ?? [], `${r.id}: never signed`).to.have.length(0);
  });
});
