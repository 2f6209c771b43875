// kill -9 the enclave, the parent daemon and the coordinator in a loop while they sign (issue 9):
// every process as `npm start` runs it (NSM and KMS emulators, enclave and parent over loopback
// vsock, `coordinator serve`), the co-signer paired by `cosigner setup` and the workspace's keys made
// by DKG with the enclave; then 200 RAW Ed25519 signing requests through the official SDK, with
// Idempotency-Keys and retried across the crashes, while one of the three processes is killed
// every 1.5–3 s and started again. Afterwards: every request is one transaction, COMPLETED with a
// signature that verifies or FAILED with a reason; no message signed twice; and the key shares
// survived (an ECDSA and an Ed25519 signing complete after the last kill).
import { expect } from 'chai';
import { createHash, createPublicKey, randomBytes, verify as edVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FireblocksSDK } from 'fireblocks-sdk';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { openDatabase } from '../../coordinator/open-coordinator.js';
import { publishTap } from '../../scripts/demo/demo.js';
import { freePort, until } from '../support/net.js';
import { startCosignerStack, type CosignerStack } from './support/cosigner-stack.js';

const REQUESTS = 200;
const MIN_KILLS = 12;
const FINAL = ['COMPLETED', 'FAILED', 'REJECTED', 'CANCELLED', 'BLOCKED'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

type Tx = { id: string; status: string; subStatus: string; signedMessages?: Array<{ content: string; publicKey: string; signature: { fullSig: string } }> };

describe('co-signer: kill -9 of the enclave, the parent and the coordinator in a loop during signing', function () {
  this.timeout(900_000);
  let cs: CosignerStack;
  let port: number;
  let sdk: FireblocksSDK;

  /** An SDK call retried while the coordinator is down or restarting (no HTTP status, or 5xx). */
  async function retried<T>(f: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await f();
      } catch (e) {
        const status = (e as { response?: { status?: number } }).response?.status;
        if (status !== undefined && status < 500 && status !== 409) throw e; // 409: a key still pending
        await sleep(300);
      }
    }
  }

  function raw(algorithm: 'MPC_EDDSA_ED25519' | 'MPC_ECDSA_SECP256K1', content: string, idempotencyKey: string): Promise<string> {
    const derivationPath = algorithm === 'MPC_EDDSA_ED25519' ? [44, 501, 0, 0, 0] : [44, 60, 0, 0, 0];
    const body = { operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' }, extraParameters: { rawMessageData: { algorithm, messages: [{ content, derivationPath }] } } };
    return retried(async () => (await sdk.createTransaction(body as never, { idempotencyKey })).id);
  }

  async function settled(id: string, timeoutMs: number): Promise<Tx> {
    return until(`transaction ${id} final`, async () => {
      const tx = (await sdk.getTransactionById(id).catch(() => undefined)) as Tx | undefined;
      return tx && FINAL.includes(tx.status) ? tx : null;
    }, timeoutMs, 250);
  }

  function verifies(tx: Tx, content: string): boolean {
    const m = tx.signedMessages?.[0];
    if (!m || tx.signedMessages!.length !== 1 || m.content !== content) return false;
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(m.publicKey, 'hex')]), format: 'der', type: 'spki' });
    return edVerify(null, Buffer.from(content, 'hex'), key, Buffer.from(m.signature.fullSig, 'hex'));
  }

  before(async () => {
    cs = await startCosignerStack('cosigner-crash-');
    port = await freePort();
    const co = await cs.stack.startCoordinator(port);
    sdk = new FireblocksSDK(readFileSync(co.privateKeyFile, 'utf8'), co.apiKey, co.baseUrl, undefined, { anonymousPlatform: true });
    // Paired with the ADMIN user and no callback handler: requests are approved unasked (and logged so).
    const pairing = await cs.stack.pairCosigner(co);
    expect(pairing.paired, pairing.lines.join('\n')).to.equal(true);
    await sdk.createVaultAccount('crash');
    // Paired already: the publication is a configuration change the enclave's CCK approves.
    expect((await publishTap(co, { rules: [{ name: 'raw', operations: ['RAW'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] })).changeId).to.be.a('string');
    // The master keys come from the DKG that pairing asked for: wait until an Ed25519 signing completes.
    await until('the Ed25519 master key', async () => {
      const content = randomBytes(32).toString('hex');
      let id: string;
      try {
        id = await raw('MPC_EDDSA_ED25519', content, `warm-up-${content}`);
      } catch (e) {
        if ((e as { response?: { status?: number } }).response?.status === 400) return null; // no master key yet
        throw e;
      }
      const tx = await settled(id, 120_000);
      return tx.status === 'COMPLETED' && verifies(tx, content);
    }, 300_000, 1_000);
  });

  after(async () => {
    await cs?.close();
  });

  it('every request ends signed exactly once or failed with a reason; nothing is lost or doubled; the key shares survive', async () => {
    const { stack } = cs;
    const contents = Array.from({ length: REQUESTS }, (_, i) => createHash('sha256').update(`crash ${i} ${randomBytes(8).toString('hex')}`).digest('hex'));
    let submittedAll = false;
    const submitted = (async () => {
      const ids: string[] = [];
      for (let b = 0; b < REQUESTS; b += 20) ids.push(...(await Promise.all(contents.slice(b, b + 20).map((c, k) => raw('MPC_EDDSA_ED25519', c, `crash-${b + k}`)))));
      return ids;
    })().finally(() => (submittedAll = true));

    const victims = ['enclave', 'parent', 'coordinator'] as const;
    const kills: Record<(typeof victims)[number], number> = { enclave: 0, parent: 0, coordinator: 0 };
    let total = 0;
    const killedAt: number[] = [];
    const killer = (async () => {
      while (!submittedAll || total < MIN_KILLS) {
        await sleep(1_500 + Math.random() * 1_500);
        const v = victims[total % victims.length]!;
        killedAt.push(Date.now());
        if (v === 'enclave') {
          const mark = stack.lineCount('parent');
          await stack.stopProcess('enclave', 'SIGKILL');
          await stack.waitFor('parent', /enclave connection lost/, 30_000, mark);
          stack.startEnclave();
          await cs.waitReady(mark, 'unsealed');
        } else if (v === 'parent') {
          await stack.stopProcess('parent', 'SIGKILL');
          stack.startParent(); // a new process: its output is counted from its first line
          await stack.waitFor('parent', /"msg":"ready"/, 120_000, 0);
        } else {
          await stack.stopProcess('coordinator', 'SIGKILL');
          await stack.startCoordinator(port);
        }
        kills[v]++;
        total++;
      }
    })();
    const ids = await submitted;
    await killer;

    // Everything reaches a final status (an item whose parent died waits out its lease first).
    const final = new Map<string, Tx>();
    for (const id of ids) final.set(id, await settled(id, 300_000));

    expect(total).to.be.at.least(MIN_KILLS);
    expect(Object.values(kills).every((n) => n >= MIN_KILLS / 3), JSON.stringify(kills)).to.equal(true);
    expect(new Set(ids).size, 'one transaction per request').to.equal(REQUESTS);
    let completed = 0;
    const reasons = new Map<string, number>();
    for (const [i, id] of ids.entries()) {
      const tx = final.get(id)!;
      if (tx.status === 'COMPLETED') {
        completed++;
        expect(verifies(tx, contents[i]!), `${id}: its signature verifies over its own message`).to.equal(true);
      } else {
        expect(tx.status, `${id}: ${tx.subStatus}`).to.equal('FAILED');
        expect(tx.subStatus, 'a failure says why').to.be.a('string').and.not.equal('');
        reasons.set(tx.subStatus, (reasons.get(tx.subStatus) ?? 0) + 1);
      }
    }

    const db = await openDatabase({ dataDir: stack.coordinatorDataDir });
    try {
      const rows = await db.selectFrom('transactions').select(['id', 'idem_key', 'status', 'last_updated']).where('idem_key', 'like', 'crash-%').execute();
      expect(rows.length, 'no transaction made twice').to.equal(REQUESTS);
      // The crashes came while signing went on, not before or after it.
      const between = rows.filter((r) => r.status === 'COMPLETED' && Number(r.last_updated) > killedAt[0]! && Number(r.last_updated) < killedAt.at(-1)!).length;
      expect(between, 'requests completed between the first and the last kill').to.be.at.least(REQUESTS / 4);
      const done = await db.selectFrom('mpc_sessions').select(['transaction_id']).where('kind', '=', 'SIGN').where('state', '=', 'DONE').execute();
      const perTx = new Map<string, number>();
      for (const s of done) perTx.set(s.transaction_id!, (perTx.get(s.transaction_id!) ?? 0) + 1);
      expect([...perTx.values()].every((n) => n === 1), 'no message signed twice').to.equal(true);
      expect(ids.filter((id) => final.get(id)!.status === 'COMPLETED').every((id) => perTx.get(id) === 1), 'each completed request signed once').to.equal(true);
    } finally {
      await db.destroy();
    }
    expect(completed, `most requests complete despite the crashes; failures: ${JSON.stringify([...reasons])}`).to.be.greaterThan(REQUESTS / 2);

    // No key share was lost: both algorithms sign after the last crash.
    const content = randomBytes(32).toString('hex');
    expect(verifies(await settled(await raw('MPC_EDDSA_ED25519', content, 'after-ed25519'), 120_000), content)).to.equal(true);
    const hash = createHash('sha256').update('after the crashes').digest('hex');
    const ecdsa = await settled(await raw('MPC_ECDSA_SECP256K1', hash, 'after-ecdsa'), 120_000);
    expect(ecdsa.status, ecdsa.subStatus).to.equal('COMPLETED');
    const m = ecdsa.signedMessages![0]!;
    expect(secp256k1.verify(Buffer.from(m.signature.fullSig, 'hex'), Buffer.from(hash, 'hex'), Buffer.from(m.publicKey, 'hex'), { prehash: false })).to.equal(true);
    process.stdout.write(`      (kills ${JSON.stringify(kills)} over ${Math.round((killedAt.at(-1)! - killedAt[0]!) / 1000)} s: ${completed} completed, ${REQUESTS - completed} failed ${JSON.stringify([...reasons])})\n`);
  });
});
