// The co-signer as an operator runs it (issue 9): the parent daemon and the enclave as real
// processes, `cosigner setup <token>` handed to the running daemon, which pairs, takes the
// workspace's key generation by long poll, and signs what the API asks for; `cosigner status`
// shows the pinned service key. A restart of the daemon picks its pairings up again.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { LocalStack } from '../../scripts/stack.js';
import { runCli } from '../../parent/cli.js';
import { generatePaillierKeyPair } from '../../shared/mpc/paillier/paillier.js';
import { decodePairingToken } from '../../shared/cosigner-api/pairing-token.js';
import { KeyLockJournal } from '../../coordinator/mpc/key-lock-journal.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from '../coordinator/support/build-app.js';
import { pairingTokenFor } from '../coordinator/support/cosigner.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function cli(argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await runCli(argv, { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
  return { code, out };
}

describe('co-signer daemon: setup, key generation and signing as an operator runs it', function () {
  this.timeout(600_000);
  let work: string;
  let stack: LocalStack;
  let c: TestCoordinator;
  let admin: TestUser;
  let signer: TestUser;
  let journal: KeyLockJournal;

  async function signRaw(note: string): Promise<void> {
    const hash = createHash('sha256').update(note).digest('hex');
    const r = await signer.v5.createTransaction({ operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' }, extraParameters: { rawMessageData: { algorithm: 'MPC_ECDSA_SECP256K1', messages: [{ content: hash, derivationPath: [44, 60, 0, 0, 0] }] } } } as never);
    const tx = await until(`transaction ${r.id} COMPLETED`, async () => {
      const t = await signer.v5.getTransactionById(r.id);
      if (t.status === 'FAILED' || t.status === 'REJECTED') throw new Error(`transaction ${t.status}/${t.subStatus}`);
      return t.status === 'COMPLETED' ? t : null;
    }, 150_000);
    const m = tx.signedMessages![0]!;
    expect(secp256k1.verify(Buffer.from(m.signature.fullSig, 'hex'), Buffer.from(hash, 'hex'), Buffer.from(m.publicKey, 'hex'), { prehash: false })).to.equal(true);
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'cosigner-daemon-'));
    stack = new LocalStack({ root, workDir: work, kmsPort: await freePort() });
    await stack.startNsm();
    await stack.startKms();
    await stack.ensureKey();
    stack.startEnclave();
    stack.startParent();
    await stack.waitFor('parent', /"msg":"ready"/, 120_000);
    journal = KeyLockJournal.open(join(work, 'locks.sqlite'));
    const paillier = generatePaillierKeyPair(2048).secretKey;
    c = await startCoordinator({ attestationRoot: readFileSync(stack.nsmRootPem, 'utf8'), allowAnyPcrs: true, mpc: { lockStore: journal, paillier: () => paillier } });
    admin = await c.user('ADMIN', 'admin');
    signer = await c.user('SIGNER', 'signer');
    await admin.v5.createVaultAccount('treasury');
    await signedFetch(c, admin, 'POST', '/v1/tap/policy', { rules: [{ name: 'raw', operations: ['RAW'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] });
  });

  after(async () => {
    await stack?.stop();
    await c?.close();
    journal?.close();
    if (work) rmSync(work, { recursive: true, force: true });
    if (stack) rmSync(stack.socketDir, { recursive: true, force: true });
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

  it('after the daemon restarts it polls again for its pairings and signs', async () => {
    await stack.stopProcess('parent', 'SIGKILL');
    stack.startParent(); // a new process: its output is counted from its first line
    await stack.waitFor('parent', /"msg":"ready"/, 120_000, 0);
    await stack.waitFor('parent', /long poll started/, 30_000, 0);
    await signRaw('after a daemon restart');
  });
});
