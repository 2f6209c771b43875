// kill -9 the coordinator in a loop while it signs and broadcasts (issue 8): 100 ETH transfers on
// the Hardhat devnet, submitted by the v5 SDK with Idempotency-Keys and retried across the
// crashes, signed with a paired co-signer over the co-signer API (engine parties behind the MPC
// relay, retrying across the crashes too), the `coordinator serve` process killed every 1–3 s and
// started again on the same data folder. Afterwards: no request lost or doubled, every transaction
// COMPLETED or FAILED with a reason, nothing signed twice, nothing broadcast twice (each recipient
// holds exactly its amount, the source's on-chain nonce equals the transfers mined).
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FireblocksSDK } from 'fireblocks-sdk';
import { parseEther } from 'viem';
import { buildApp } from '../../coordinator/app.js';
import { AssetCatalogue } from '../../coordinator/assets/index.js';
import { createEvmAdapter } from '../../coordinator/chains/evm/evm-adapter.js';
import { KeyLockJournal } from '../../coordinator/mpc/key-lock-journal.js';
import type { KeygenItemPayload, SignItemPayload } from '../../coordinator/mpc/signing-requests.js';
import type { MpcPartyEndpoint } from '../../coordinator/mpc/party-endpoint.js';
import { loadMasterKey, openDatabase } from '../../coordinator/open-coordinator.js';
import { createApiUser, createWorkspace } from '../../coordinator/workspaces/workspaces.js';
import { generatePaillierKeyPair } from '../../shared/mpc/paillier/paillier.js';
import { startDevnet, type Devnet } from '../../scripts/devnet/devnet.js';
import { EmulatedEnclave, TestCosigner } from '../coordinator/support/cosigner.js';
import { httpRelay } from '../coordinator/support/http-relay.js';
import { EngineCosigner } from '../coordinator/support/engine-cosigner.js';
import type { TestCoordinator } from '../coordinator/support/build-app.js';
import { TEST_RING_PEDERSEN_BITS } from '../support/ecdsa-keys.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TRANSFERS = 100;
const AMOUNT = '0.01';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}


describe('coordinator: kill -9 in a loop during signing and broadcasting', function () {
  this.timeout(900_000);
  let devnet: Devnet;
  let enclave: EmulatedEnclave;
  let dataDir: string;
  let port: number;
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const logTail: string[] = [];

  function serve(): Promise<void> {
    const rootFile = join(dataDir, 'attestation-root.pem');
    const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'coordinator/cli.ts'), 'serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', String(port),
      '--public-url', `http://127.0.0.1:${port}`, '--attestation-root', rootFile, '--evm-rpc-url', devnet.rpcUrl, '--evm-chain-id', String(devnet.chainId), '--confirmations', '1'], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' },
    });
    proc = p;
    exited = new Promise((res) => p.once('exit', () => res()));
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`coordinator did not start: ${logTail.slice(-5).join(' | ')}`)), 60_000);
      for (const s of [p.stdout!, p.stderr!]) {
        createInterface({ input: s }).on('line', (line) => {
          logTail.push(line.slice(0, 300));
          if (logTail.length > 200) logTail.shift();
          if (/coordinator listening/.test(line)) {
            clearTimeout(timer);
            res();
          }
        });
      }
      p.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`coordinator exited (${code}) before listening: ${logTail.slice(-5).join(' | ')}`));
      });
    });
  }

  async function kill9(): Promise<void> {
    proc?.kill('SIGKILL');
    await exited;
  }

  before(async () => {
    devnet = await startDevnet({ blockIntervalMs: 250 });
    enclave = EmulatedEnclave.create();
    dataDir = mkdtempSync(join(tmpdir(), 'coordinator-crash-'));
    writeFileSync(join(dataDir, 'attestation-root.pem'), enclave.rootPem);
    port = await freePort();
  });

  after(async () => {
    await kill9().catch(() => undefined);
    await devnet?.stop();
    enclave?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses, doubles, signs twice and broadcasts twice nothing; every transfer completes or fails with a reason', async () => {
    // --- Setup in this process over the same data folder: workspace, users, the paired co-signer's
    // master key (test-size ring-Pedersen parameters, which `serve` would refuse), a funded wallet.
    const assets = new AssetCatalogue({ evmChainId: devnet.chainId });
    const db = await openDatabase({ dataDir });
    const masterKey = loadMasterKey({ dataDir });
    const journal = KeyLockJournal.open(join(dataDir, 'mpc-key-locks.sqlite'));
    const paillier = generatePaillierKeyPair(2048).secretKey;
    const setup = await buildApp({ db, masterKey, assets, logger: false, attestationRoot: enclave.rootPem, publicUrl: `http://127.0.0.1:${port}`,
      mpc: { lockStore: journal, paillier: () => paillier, minRingPedersenBits: TEST_RING_PEDERSEN_BITS } });
    const baseUrl = await setup.listen({ host: '127.0.0.1', port });
    const workspace = await createWorkspace(db, 'crash');
    const keys = (role: string) => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      return { role, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    };
    const adminKeys = keys('ADMIN');
    const signerKeys = keys('SIGNER');
    const admin = await createApiUser(db, { workspaceId: workspace.id, name: 'admin', role: 'ADMIN', publicKeyPem: adminKeys.publicKeyPem });
    const signerRow = await createApiUser(db, { workspaceId: workspace.id, name: 'signer', role: 'SIGNER', publicKeyPem: signerKeys.publicKeyPem });
    const adminSdk = new FireblocksSDK(adminKeys.privateKeyPem, admin.api_key, baseUrl, undefined, { anonymousPlatform: true });
    const sdk = new FireblocksSDK(signerKeys.privateKeyPem, signerRow.api_key, baseUrl, undefined, { anonymousPlatform: true });
    const c = { baseUrl, db, app: setup, workspace } as unknown as TestCoordinator;
    const adminUser = { row: admin, privateKeyPem: adminKeys.privateKeyPem } as never;
    const { signedFetch } = await import('../coordinator/support/build-app.js');
    expect((await signedFetch(c, adminUser, 'PUT', '/v1/cosigner-attestation-policy', { pcr0: enclave.pcr(0) })).status).to.equal(200);
    // The TAP before the co-signer pairs: it applies at once (after, the co-signer's CCK approves it).
    expect((await signedFetch(c, adminUser, 'POST', '/v1/tap/policy', { rules: [{ name: 'all', operations: ['TRANSFER'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] })).status).to.equal(200);
    const tokenAnswer = await signedFetch(c, adminUser, 'POST', '/v1/cosigner-pairing-tokens', { userId: signerRow.id });
    const http = await new TestCosigner(c, enclave).pair(tokenAnswer.json.pairingToken);
    const spki = (await setup.cosignerServiceKey()).publicKeySpki;
    const engine = new EngineCosigner(spki.subarray(spki.length - 32), { id: http.cosignerId, identity: http.identity });
    // Pairing asked for the workspace's three master keys.
    for (let i = 0; i < 3; i++) {
      const keygen = await http.poll(2_000);
      expect(keygen.json.item?.kind).to.equal('KEYGEN');
      await engine.generate(httpRelay(http), workspace.id, keygen.json.item.id, keygen.json.item.payload as KeygenItemPayload);
      await http.result(keygen.json.item.id, { outcome: 'GENERATED' });
    }
    expect(Object.keys(await setup.masterKeys.publicKeys(workspace.id))).to.have.length(3);
    await adminSdk.createVaultAccount('treasury');
    const source = (await sdk.createVaultAsset('0', 'ETH_TEST5')).address as `0x${string}`;
    await devnet.fund(source, parseEther('100'));
    await setup.close(); // closes db
    journal.close();

    // --- The run: `coordinator serve` under kill -9, a co-signer and a client retrying across it.
    await serve();
    let stop = false;
    const cosigner = (async () => {
      while (!stop) {
        let r;
        try {
          r = await http.poll(1_000);
        } catch {
          await sleep(100);
          continue;
        }
        if (r.status === 401) {
          await http.refresh().catch(() => undefined);
          continue;
        }
        if (r.status !== 200 || !r.json?.item) continue;
        const item = r.json.item as { id: string; kind: string; payload: unknown };
        let result: unknown;
        try {
          const p = item.payload as SignItemPayload;
          for (let i = 0; i < p.messages.length; i++) await engine.run(httpRelay(http), engine.ref(workspace.id, p.messages[i]!.sessionId, item.id), engine.signParty(p, i));
          result = { outcome: 'SIGNED' };
        } catch (e) {
          result = { outcome: 'FAILED', reason: (e as Error).message.slice(0, 200) };
        }
        for (let attempt = 0; attempt < 20 && !stop; attempt++) {
          const sent = await http.result(item.id, result).catch(() => undefined);
          if (sent && sent.status !== 503) break;
          await sleep(250);
        }
      }
    })();

    const destinations = Array.from({ length: TRANSFERS }, () => `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString('hex')}`);
    const submit = async (i: number): Promise<string> => {
      const body = { operation: 'TRANSFER', assetId: 'ETH_TEST5', amount: AMOUNT, source: { type: 'VAULT_ACCOUNT', id: '0' }, destination: { type: 'ONE_TIME_ADDRESS', oneTimeAddress: { address: destinations[i] } } };
      for (;;) {
        try {
          return (await sdk.createTransaction(body as never, { idempotencyKey: `crash-${i}` })).id;
        } catch (e) {
          const status = (e as { response?: { status?: number } }).response?.status;
          if (status !== undefined && status < 500 && status !== 409 && status !== 401) throw e;
          await sleep(300); // the coordinator is down, restarting, or the key is still pending
        }
      }
    };
    const submitted = (async () => {
      const ids: string[] = [];
      for (let b = 0; b < TRANSFERS; b += 10) ids.push(...(await Promise.all(Array.from({ length: 10 }, (_, k) => submit(b + k)))));
      return ids;
    })();

    let kills = 0;
    let done = false;
    void submitted.then(() => (done = true), () => (done = true));
    const killer = (async () => {
      // Keep killing while transfers are being submitted, and a few times more during signing and broadcasting.
      while (!done || kills < 12) {
        await sleep(1_000 + Math.random() * 2_000);
        await kill9();
        kills++;
        await serve();
      }
    })();
    const ids = await submitted;
    await killer;

    // --- Settle: everything reaches a final status.
    const final = new Map<string, { status: string; subStatus: string; txHash: string; errorDescription?: string }>();
    const deadline = Date.now() + 300_000;
    while (final.size < ids.length && Date.now() < deadline) {
      for (const id of ids) {
        if (final.has(id)) continue;
        const tx = await sdk.getTransactionById(id).catch(() => undefined);
        if (tx && ['COMPLETED', 'FAILED', 'REJECTED', 'CANCELLED', 'BLOCKED'].includes(tx.status)) final.set(id, tx as never);
      }
      await sleep(500);
    }
    stop = true;
    await cosigner;
    await kill9();

    expect(kills, 'the coordinator was killed').to.be.at.least(12);
    expect(new Set(ids).size, 'one transaction per request').to.equal(TRANSFERS);
    expect(final.size, `settled: ${final.size}/${ids.length}; log: ${logTail.slice(-5).join(' | ')}`).to.equal(TRANSFERS);

    const check = await openDatabase({ dataDir });
    try {
      const rows = await check.selectFrom('transactions').select(['id', 'idem_key', 'status']).where('workspace_id', '=', workspace.id).execute();
      expect(rows.length, 'no transaction made twice').to.equal(TRANSFERS);
      expect(new Set(rows.map((r) => r.idem_key)).size).to.equal(TRANSFERS);
      const signed = await check.selectFrom('mpc_sessions').select(['transaction_id']).where('kind', '=', 'SIGN').where('state', '=', 'DONE').execute();
      const perTx = new Map<string, number>();
      for (const s of signed) perTx.set(s.transaction_id!, (perTx.get(s.transaction_id!) ?? 0) + 1);
      expect([...perTx.values()].every((n) => n === 1), 'no message signed twice').to.equal(true);
      const transfers = await check.selectFrom('chain_transfers').selectAll().execute();
      const mined = transfers.filter((t) => t.state === 'CONFIRMED');
      expect(new Set(mined.map((t) => Number(t.nonce))).size, 'distinct nonces').to.equal(mined.length);
    } finally {
      await check.destroy();
    }

    const adapter = createEvmAdapter({ rpcUrl: devnet.rpcUrl, chainId: devnet.chainId });
    const eth = { id: 'ETH_TEST5', chainId: devnet.chainId, kind: 'NATIVE' as const, decimals: 18 };
    let completed = 0;
    for (const [i, id] of ids.entries()) {
      const tx = final.get(id)!;
      const balance = await adapter.balance(destinations[i] as `0x${string}`, eth);
      if (tx.status === 'COMPLETED') {
        completed++;
        expect(balance, `recipient of ${id} paid exactly once`).to.equal(parseEther(AMOUNT));
        expect((await adapter.confirmations(tx.txHash as `0x${string}`)).state).to.equal('CONFIRMED');
      } else {
        expect(tx.status, `${id}: ${tx.subStatus}`).to.equal('FAILED');
        expect(tx.subStatus, 'a failure says why').to.not.equal('');
        expect(balance, `failed ${id} paid nothing`).to.equal(0n);
      }
    }
    expect(await adapter.pendingNonce(source), 'the source sent exactly the completed transfers').to.equal(completed);
    const reasons = new Map<string, number>();
    for (const tx of final.values()) if (tx.status !== 'COMPLETED') reasons.set(`${tx.subStatus}: ${tx.errorDescription ?? ''}`.slice(0, 160), (reasons.get(`${tx.subStatus}: ${tx.errorDescription ?? ''}`.slice(0, 160)) ?? 0) + 1);
    expect(completed, `most transfers complete despite the crashes; failures: ${JSON.stringify([...reasons])}`).to.be.greaterThan(TRANSFERS / 2);
    process.stdout.write(`      (${kills} kills: ${completed} completed, ${TRANSFERS - completed} failed ${JSON.stringify([...reasons])})\n`);
  });
});
