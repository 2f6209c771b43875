// The co-signer as an operator runs it (issue 9): the parent daemon and the enclave as real
// processes, `cosigner setup <token>` handed to the running daemon, which pairs, takes the
// workspace's key generation by long poll, and signs what the API asks for; `cosigner status`
// shows the pinned service key. A restart of the daemon picks its pairings up again.
import { expect } from 'chai';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { LocalStack } from '../../scripts/stack.js';
import { runCli } from '../../parent/cli.js';
import { generatePaillierKeyPair } from '../../shared/mpc/paillier/paillier.js';
import { decodePairingToken } from '../../shared/cosigner-api/pairing-token.js';
import { KeyLockJournal } from '../../coordinator/mpc/key-lock-journal.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from '../coordinator/support/build-app.js';
import { pairingTokenFor } from '../coordinator/support/cosigner.js';
import { until } from '../support/net.js';
import { startCosignerStack, type CosignerStack } from './support/cosigner-stack.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');




/** The reference callback handler as its own process (`npm run callback-handler -- --config`), on a free port. */
async function startReferenceHandler(dir: string, name: string, rules: Record<string, unknown>): Promise<{ url: string; lines(): string[]; stop(): Promise<void> }> {
  const config = join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify({ port: 0, host: '127.0.0.1', basePath: `/hooks/${name}`, privateKeyFile: 'handler.key', cosignerPublicKeyFile: 'cosigner.pub', rules }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'callback-handler/main.ts', '--config', config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l));
  const url = await new Promise<string>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`the handler did not start: ${lines.join('\n')}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l.includes('listening')) {
        clearTimeout(t);
        res(new URL((JSON.parse(l) as { listening: string }).listening).origin);
      }
    });
  });
  return { url, lines: () => lines, stop: async () => { child.kill('SIGTERM'); await once(child, 'close'); } };
}

async function cli(argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await runCli(argv, { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
  return { code, out };
}

describe('co-signer daemon: setup, key generation and signing as an operator runs it', function () {
  this.timeout(600_000);
  let cs: CosignerStack;
  let work: string;
  let stack: LocalStack;
  let c: TestCoordinator;
  let admin: TestUser;
  let signer: TestUser;
  let journal: KeyLockJournal;
  /** The API user whose callback handler approves (paired by the callback test). */
  let approved: TestUser;

  async function signRaw(note: string, as: TestUser = signer): Promise<void> {
    const hash = createHash('sha256').update(note).digest('hex');
    const r = await as.v5.createTransaction({ operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' }, extraParameters: { rawMessageData: { algorithm: 'MPC_ECDSA_SECP256K1', messages: [{ content: hash, derivationPath: [44, 60, 0, 0, 0] }] } } } as never);
    const tx = await until(`transaction ${r.id} COMPLETED`, async () => {
      const t = await as.v5.getTransactionById(r.id);
      if (t.status === 'FAILED' || t.status === 'REJECTED') throw new Error(`transaction ${t.status}/${t.subStatus}`);
      return t.status === 'COMPLETED' ? t : null;
    }, 150_000);
    const m = tx.signedMessages![0]!;
    expect(secp256k1.verify(Buffer.from(m.signature.fullSig, 'hex'), Buffer.from(hash, 'hex'), Buffer.from(m.publicKey, 'hex'), { prehash: false })).to.equal(true);
  }

  before(async () => {
    cs = await startCosignerStack('cosigner-daemon-');
    ({ work, stack } = cs);
    journal = KeyLockJournal.open(join(work, 'locks.sqlite'));
    const paillier = generatePaillierKeyPair(2048).secretKey;
    c = await startCoordinator({ attestationRoot: readFileSync(stack.nsmRootPem, 'utf8'), allowAnyPcrs: true, mpc: { lockStore: journal, paillier: () => paillier } });
    admin = await c.user('ADMIN', 'admin');
    signer = await c.user('SIGNER', 'signer');
    await admin.v5.createVaultAccount('treasury');
    await signedFetch(c, admin, 'POST', '/v1/tap/policy', { rules: [{ name: 'raw', operations: ['RAW'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] });
  });

  after(async () => {
    await c?.close();
    journal?.close();
    await cs?.close();
  });

  it('`cosigner setup` pairs through the daemon; `cosigner status` shows the pinned service key; the daemon generates the keys and signs', async () => {
    expect((await cli(['setup', 'not-a-token', '--state-dir', stack.parentStateDir])).code).to.equal(2);
    const token = await pairingTokenFor(c, admin, signer.row.id);
    const setup = await cli(['setup', token, '--state-dir', stack.parentStateDir]);
    expect(setup.code, setup.out.join('\n')).to.equal(0);
    const pinned = decodePairingToken(token).serviceKeySha256;
    expect(setup.out.join('\n')).to.include(`pinned coordinator service key SHA-256 ${pinned}`);
    const status = await cli(['status', '--state-dir', stack.parentStateDir]);
    expect(status.out.join('\n')).to.match(new RegExp(`paired  co-signer \\S+ workspace ${c.workspace.id} user ${signer.row.id} at ${c.baseUrl}, service key SHA-256 ${pinned}`));
    await until('three master keys', async () => Object.keys(await c.app.masterKeys.publicKeys(c.workspace.id)).length === 3, 300_000);
    await signRaw('signed by the daemon');
  });

  it("a user with a callback handler (the reference handler, as its own process): it approves what its rules allow and rejects the rest, verified in the enclave", async () => {
    // The handler verifies requests with the co-signer's key, as `cosigner print-public-key` shows it.
    const pub = await cli(['print-public-key', '--state-dir', stack.parentStateDir]);
    expect(pub.code).to.equal(0);
    const dir = join(work, 'handlers');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cosigner.pub'), pub.out.join('\n') + '\n');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'handler.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'handler.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const approving = await startReferenceHandler(dir, 'with-approving-handler', {});
    // An allowlist rejects a RAW request: it names no destination to check.
    const strict = await startReferenceHandler(dir, 'with-strict-handler', { allowlist: ['0x000000000000000000000000000000000000dEaD'] });

    const user = async (name: string, handler: string) => {
      const u = await c.user('SIGNER', name);
      const r = await cli(['setup', await pairingTokenFor(c, admin, u.row.id), '--state-dir', stack.parentStateDir, '--callback-url', `${handler}/hooks/${name}`, '--callback-public-key', join(dir, 'handler.pub'), '--allow-plain-http-callback']);
      expect(r.code, r.out.join('\n')).to.equal(0);
      return u;
    };
    approved = await user('with-approving-handler', approving.url);
    const rejected = await user('with-strict-handler', strict.url);
    const status = await cli(['status', '--state-dir', stack.parentStateDir]);
    const handlerKeySha = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
    expect(status.out.join('\n')).to.include(`callback ${approving.url}/hooks/with-approving-handler (handler key SHA-256 ${handlerKeySha}, version 0)`);

    await signRaw('approved by the handler', approved);
    const hash = createHash('sha256').update('rejected by the handler').digest('hex');
    const r = await rejected.v5.createTransaction({ operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' }, extraParameters: { rawMessageData: { algorithm: 'MPC_ECDSA_SECP256K1', messages: [{ content: hash, derivationPath: [44, 60, 0, 0, 0] }] } } } as never);
    const tx = await until('REJECTED', async () => {
      const t = await rejected.v5.getTransactionById(r.id);
      return t.status === 'REJECTED' ? t : t.status === 'COMPLETED' ? Promise.reject(new Error('signed although the handler rejected it')) : null;
    }, 60_000);
    expect(tx.subStatus).to.equal('REJECTED_BY_COSIGNER');
    expect(approving.lines().some((l) => /"action":"APPROVE"/.test(l))).to.equal(true);
    expect(strict.lines().some((l) => /"action":"REJECT"/.test(l))).to.equal(true);
    await approving.stop();
    await strict.stop();
  });

  it("`cosigner callback-update` moves a user to a new handler only when the user's own key signed the change: a parent's own key, an old change replayed, are refused", async () => {
    const sd = ['--state-dir', stack.parentStateDir];
    const statusOf = async () => {
      const st = JSON.parse(readFileSync(join(stack.parentStateDir, 'status.json'), 'utf8')) as { pairings: Array<{ userId: string; cosignerId: string; callbackUrl: string; callbackKeySha256: string; callbackVersion: number }> };
      return st.pairings.find((p) => p.userId === approved.row.id)!;
    };
    const before = await statusOf();
    const cosignerId = before.cosignerId;
    // The new handler: its own folder, its own key.
    const dir = join(work, 'handler-b');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cosigner.pub'), (await cli(['print-public-key', ...sd])).out.join('\n') + '\n');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'handler.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'handler.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const moved = await startReferenceHandler(dir, 'moved', {});
    const target = ['--cosigner-id', cosignerId, '--callback-url', `${moved.url}/hooks/moved`, '--callback-public-key', join(dir, 'handler.pub'), '--allow-plain-http-callback'];

    // A request file that is not one: a clear answer, the file gone, the daemon serving on.
    writeFileSync(join(stack.parentStateDir, 'setup', 'junk-1.callback-update'), '{"cosignerId": 7, "update": ');
    const junk = await until('the answer to a junk request', async () => {
      try {
        return JSON.parse(readFileSync(join(stack.parentStateDir, 'setup', 'junk-1.result.json'), 'utf8')) as { ok: boolean; error: string };
      } catch {
        return null;
      }
    }, 30_000);
    expect(junk.ok).to.equal(false);
    expect(existsSync(join(stack.parentStateDir, 'setup', 'junk-1.callback-update'))).to.equal(false);

    // Offline: the request printed here, signed where the user's key is, handed back.
    const req = await cli(['callback-update', ...target, '--print-request', ...sd]);
    expect(req.code, req.out.join('\n')).to.equal(0);
    const requestFile = join(work, 'callback-change.json');
    writeFileSync(requestFile, req.out.filter((l) => !l.startsWith('sign this')).join('\n'));
    writeFileSync(join(work, 'user.key'), approved.privateKeyPem, { mode: 0o600 });
    const parentKey = join(work, 'parent.key');
    writeFileSync(parentKey, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

    // A parent installing its own key: the same request signed with a key of its own.
    const expected = ['--callback-url', `${moved.url}/hooks/moved`, '--callback-public-key', join(dir, 'handler.pub')];
    const forged = await cli(['sign-callback-update', '--user-key', parentKey, ...expected, requestFile]);
    writeFileSync(join(work, 'forged.jws'), forged.out.at(-1)!);
    const refused = await cli(['callback-update', '--signed', join(work, 'forged.jws'), ...sd]);
    expect(refused.code).to.equal(1);
    expect(refused.out.join('\n')).to.match(/refused: CALLBACK_UPDATE_INVALID: the callback change is not signed by this API user's key/);
    expect(await statusOf(), 'nothing changed').to.deep.include({ callbackUrl: before.callbackUrl, callbackKeySha256: before.callbackKeySha256, callbackVersion: 0 });

    // The signer names the handler it means: a request the parent filled with another handler is not signed.
    const other = await cli(['sign-callback-update', '--user-key', join(work, 'user.key'), '--callback-url', `${moved.url}/hooks/moved`, '--callback-public-key', join(work, 'handlers', 'handler.pub'), requestFile]);
    expect(other.code).to.equal(1);
    expect(other.out.join('\n')).to.match(/not signed: the request names another handler/);
    const signed = await cli(['sign-callback-update', '--user-key', join(work, 'user.key'), ...expected, requestFile]);
    expect(signed.code, signed.out.join('\n')).to.equal(0);
    const changeFile = join(work, 'change-1.jws');
    writeFileSync(changeFile, signed.out.at(-1)!);
    const applied = await cli(['callback-update', '--signed', changeFile, ...sd]);
    expect(applied.code, applied.out.join('\n')).to.equal(0);
    expect(applied.out.join('\n')).to.include(`co-signer ${cosignerId} is at callback version 1`);
    const handlerKeySha = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
    expect(await statusOf()).to.deep.include({ callbackUrl: `${moved.url}/hooks/moved`, callbackKeySha256: handlerKeySha, callbackVersion: 1 });
    // The same change again is a repeat, not a second change.
    expect((await cli(['callback-update', '--signed', changeFile, ...sd])).out.join('\n')).to.include('nothing changed');

    // The new handler answers for the user now, verified in the enclave with the new key.
    await signRaw('approved by the moved handler', approved);
    expect(moved.lines().some((l) => /"action":"APPROVE"/.test(l))).to.equal(true);

    // Change 2, signed here with the user's key, puts the first handler's URL back ...
    const back = await cli(['callback-update', '--cosigner-id', cosignerId, '--callback-url', before.callbackUrl, '--callback-public-key', join(work, 'handlers', 'handler.pub'), '--allow-plain-http-callback', '--user-key', join(work, 'user.key'), ...sd]);
    expect(back.code, back.out.join('\n')).to.equal(0);
    expect((await statusOf()).callbackVersion).to.equal(2);
    // ... after which change 1, kept by a parent, can never be replayed to move it again.
    const replayed = await cli(['callback-update', '--signed', changeFile, ...sd]);
    expect(replayed.code).to.equal(1);
    expect(replayed.out.join('\n')).to.match(/CALLBACK_UPDATE_INVALID: the callback change is number 1; this pairing has had 2/);
    expect(await statusOf()).to.deep.include({ callbackUrl: before.callbackUrl, callbackKeySha256: before.callbackKeySha256, callbackVersion: 2 });
    await moved.stop();
  });

  it('after the daemon restarts it polls again for its pairings and signs', async () => {
    await stack.stopProcess('parent', 'SIGKILL');
    stack.startParent(); // a new process: its output is counted from its first line
    await stack.waitFor('parent', /"msg":"ready"/, 120_000, 0);
    await stack.waitFor('parent', /long poll started/, 30_000, 0);
    await signRaw('after a daemon restart');
  });
});
