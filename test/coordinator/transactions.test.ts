// Transactions through the TAP, driven by both official SDKs: every action, approvals with a
// threshold, the cumulative window, cancel, external ids, paging, and refusals that store nothing.
import { expect } from 'chai';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';
import { giveFrostMasterKey } from './support/master-keys.js';

const DEST = '0x52908400098527886E0F7030069857D2E4169EE7'; // EIP-55 test vector address

describe('coordinator transactions and the TAP', function () {
  this.timeout(60_000);
  let c: TestCoordinator;
  let admin: TestUser;
  let signer: TestUser;
  let approver1: TestUser;
  let approver2: TestUser;
  let viewer: TestUser;

  before(async () => {
    c = await startCoordinator();
    admin = await c.user('ADMIN');
    signer = await c.user('SIGNER');
    approver1 = await c.user('APPROVER', 'approver-1');
    approver2 = await c.user('APPROVER', 'approver-2');
    viewer = await c.user('VIEWER');
    await admin.v5.createVaultAccount('treasury');
    await admin.v5.createVaultAccount('ops');
    await giveFrostMasterKey(c, 'MPC_EDDSA_ED25519'); // RAW Ed25519 below is queued for signing with it
  });
  after(async () => {
    await c?.close();
  });

  const txCount = async () => Number((await c.db.selectFrom('transactions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const transfer = (amount: string, extra: Record<string, unknown> = {}) => ({
    operation: 'TRANSFER', assetId: 'ETH_TEST5', amount, source: { type: 'VAULT_ACCOUNT', id: '0' },
    destination: { type: 'ONE_TIME_ADDRESS', oneTimeAddress: { address: DEST } }, note: 'test', ...extra,
  });

  it('blocks everything until a policy is published (default block), and says so', async () => {
    const r = await signer.v5.createTransaction(transfer('0.1') as never);
    expect(r.status).to.equal('BLOCKED');
    const tx = await signer.v5.getTransactionById(r.id);
    expect(tx.subStatus).to.equal('BLOCKED_BY_POLICY');
    expect((tx.authorizationInfo as any).reason).to.match(/no Transaction Authorization Policy/);
  });

  it('publishes a policy (validated, versioned) and refuses an invalid one with every issue', async () => {
    const bad = await signedFetch(c, admin, 'POST', '/v1/tap/policy', { rules: [{ name: 'x', operations: '*', initiators: '*', assets: '*', source: '*', destination: '*', action: 'REQUIRE_APPROVAL' }] });
    expect(bad.status).to.equal(400);
    expect(bad.json.code).to.equal(1000);
    const p = await signedFetch(c, admin, 'POST', '/v1/tap/policy', {
      rules: [
        { name: 'small', operations: ['TRANSFER'], initiators: '*', assets: ['ETH_TEST5'], source: '*', destination: { type: 'ONE_TIME_ADDRESS' }, amount: { max: '0.5' }, cumulative: { max: '1', windowSeconds: 3600 }, action: 'ALLOW' },
        { name: 'big', operations: ['TRANSFER'], initiators: '*', assets: ['ETH_TEST5'], source: '*', destination: '*', amount: { max: '10' }, action: 'REQUIRE_APPROVAL', approvers: { users: [approver1.row.id, approver2.row.id], threshold: 2 } },
        { name: 'raw', operations: ['RAW'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' },
      ],
    });
    expect(p.status, JSON.stringify(p.json)).to.equal(200);
    expect(p.json.version).to.equal(1);
    const read = await signedFetch(c, viewer, 'GET', '/v1/tap/policy');
    expect(read.json.policy.rules.map((r: { name: string }) => r.name)).to.deep.equal(['small', 'big', 'raw']);
    expect((await signedFetch(c, signer, 'POST', '/v1/tap/policy', { rules: [] })).json.code, 'a signer may not publish').to.equal(-8);
  });

  it('ALLOW: a small transfer is QUEUED and shows the rule that matched (v5)', async () => {
    const r = await signer.v5.createTransaction(transfer('0.25') as never);
    expect(r.status).to.equal('QUEUED');
    const tx = await signer.v5.getTransactionById(r.id);
    expect(tx.amountInfo?.amount).to.equal('0.25');
    expect(tx.destinationAddress).to.equal(DEST);
    expect((tx.authorizationInfo as any).ruleName).to.equal('small');
    expect((tx.authorizationInfo as any).action).to.equal('ALLOW');
  });

  it('the cumulative window: a second transfer that would pass 1 ETH in the hour falls to the next rule', async () => {
    const a = await signer.ts.transactions.createTransaction({ transactionRequest: transfer('0.5') as never });
    expect(a.data.status).to.equal('QUEUED'); // 0.25 + 0.5 = 0.75 ≤ 1
    const b = await signer.ts.transactions.createTransaction({ transactionRequest: transfer('0.3') as never });
    expect(b.data.status).to.equal('PENDING_AUTHORIZATION'); // 1.05 > 1: "small" does not match, "big" does
  });

  it('REQUIRE_APPROVAL: two approvals queue it; a rejection rejects; only named approvers vote (ts-sdk)', async () => {
    const r = await signer.ts.transactions.createTransaction({ transactionRequest: transfer('2') as never });
    expect(r.data.status).to.equal('PENDING_AUTHORIZATION');
    const id = r.data.id!;
    expect((await signedFetch(c, viewer, 'POST', `/v1/transactions/${id}/approvals`, { vote: 'APPROVE' })).json.code).to.equal(-8);
    const first = await signedFetch(c, approver1, 'POST', `/v1/transactions/${id}/approvals`, { vote: 'APPROVE' });
    expect(first.json).to.deep.equal({ status: 'PENDING_AUTHORIZATION', approval: 'PENDING' });
    expect((await signedFetch(c, approver1, 'POST', `/v1/transactions/${id}/approvals`, { vote: 'APPROVE' })).status, 'one vote per approver').to.equal(400);
    const second = await signedFetch(c, approver2, 'POST', `/v1/transactions/${id}/approvals`, { vote: 'APPROVE' });
    expect(second.json).to.deep.equal({ status: 'QUEUED', approval: 'APPROVED' });
    const tx = (await signer.ts.transactions.getTransaction({ txId: id })).data as any;
    expect(tx.status).to.equal('QUEUED');
    expect(tx.authorizationInfo.groups[0].users).to.deep.equal({ [approver1.row.id]: 'APPROVED', [approver2.row.id]: 'APPROVED' });

    const r2 = await signer.ts.transactions.createTransaction({ transactionRequest: transfer('3') as never });
    const rej = await signedFetch(c, approver2, 'POST', `/v1/transactions/${r2.data.id}/approvals`, { vote: 'REJECT' });
    expect(rej.json).to.deep.equal({ status: 'REJECTED', approval: 'REJECTED' });
    expect((await signer.v5.getTransactionById(r2.data.id!)).subStatus).to.equal('REJECTED_BY_USER');
  });

  it('BLOCK by default: over every rule\'s limit', async () => {
    const r = await signer.v5.createTransaction(transfer('50') as never);
    expect(r.status).to.equal('BLOCKED');
  });

  it('cancel: v5 sends {}, ts-sdk an empty JSON body; a cancelled one cannot be cancelled again', async () => {
    const a = await signer.v5.createTransaction(transfer('0.01', { externalTxId: 'cancel-me-1' }) as never);
    expect((await signer.v5.cancelTransactionById(a.id)).success).to.equal(true);
    const b = await signer.ts.transactions.createTransaction({ transactionRequest: transfer('0.01') as never });
    expect((await signer.ts.transactions.cancelTransaction({ txId: b.data.id! })).data.success).to.equal(true);
    expect((await signer.v5.getTransactionById(b.data.id!)).status).to.equal('CANCELLED');
    const again = await signedFetch(c, signer, 'POST', `/v1/transactions/${a.id}/cancel`, {});
    expect([again.status, again.json.code]).to.deep.equal([400, 1000]);
  });

  it('external ids: found by both SDKs, unique per workspace', async () => {
    const ext = 'order 42 ä'; // v5 signs it unencoded and sends it encoded (reference §1)
    const r = await signer.v5.createTransaction(transfer('0.01', { externalTxId: ext }) as never);
    expect((await signer.v5.getTransactionByExternalTxId(ext)).id).to.equal(r.id);
    expect((await signer.ts.transactions.getTransactionByExternalId({ externalTxId: ext })).data.id).to.equal(r.id);
    const before = await txCount();
    const dup = await signedFetch(c, signer, 'POST', '/v1/transactions', transfer('0.01', { externalTxId: ext }));
    expect([dup.status, dup.json.code]).to.deep.equal([409, 1409]);
    expect(await txCount()).to.equal(before);
  });

  it('Idempotency-Key: a retried create returns the first answer and makes no second transaction (both SDKs)', async () => {
    const before = await txCount();
    const a = await signer.v5.createTransaction(transfer('0.02') as never, { idempotencyKey: 'retry-1' });
    const b = await signer.v5.createTransaction(transfer('0.02') as never, { idempotencyKey: 'retry-1' });
    expect(b.id).to.equal(a.id);
    const t1 = await signer.ts.transactions.createTransaction({ transactionRequest: transfer('0.03') as never, idempotencyKey: 'retry-2' });
    const t2 = await signer.ts.transactions.createTransaction({ transactionRequest: transfer('0.03') as never, idempotencyKey: 'retry-2' });
    expect(t2.data.id).to.equal(t1.data.id);
    expect(await txCount()).to.equal(before + 2);
    const other = await signer.v5.createTransaction(transfer('0.04') as never, { idempotencyKey: 'retry-1' }).then(() => null, (e: { response?: { status: number; data: { code: number } } }) => e.response);
    expect([other?.status, other?.data.code]).to.deep.equal([409, 1409]);
    expect(await txCount()).to.equal(before + 2);
    // keys are per API user
    const mine = await admin.v5.createTransaction(transfer('0.02') as never, { idempotencyKey: 'retry-1' });
    expect(mine.id).to.not.equal(a.id);
  });

  it('Idempotency-Key after a crash between commit and answer: the retry finds the transaction made; with none made, it runs again', async () => {
    const before = await txCount();
    const first = await signer.v5.createTransaction(transfer('0.05') as never, { idempotencyKey: 'crash-1' });
    // As a coordinator killed after the commit leaves it: the key pending, its answer never stored, long ago.
    const lose = () => c.db.updateTable('idempotency_keys').set({ status_code: -1, response: '', created_at: Date.now() - 60_000 }).where('idem_key', '=', 'crash-1').execute();
    await lose();
    const retried = await signer.v5.createTransaction(transfer('0.05') as never, { idempotencyKey: 'crash-1' });
    expect(retried.id).to.equal(first.id);
    expect(await txCount()).to.equal(before + 1);
    // A pending key younger than the stale limit is still a request in progress.
    await c.db.updateTable('idempotency_keys').set({ status_code: -1, response: '', created_at: Date.now() }).where('idem_key', '=', 'crash-1').execute();
    const busy = await signer.v5.createTransaction(transfer('0.05') as never, { idempotencyKey: 'crash-1' }).then(() => null, (e: { response?: { status: number } }) => e.response?.status);
    expect(busy).to.equal(409);
    // Killed before the commit: nothing was made under the key, so the retry creates the transaction.
    await lose();
    await c.db.updateTable('transactions').set({ idem_key: null }).where('id', '=', first.id).execute();
    const again = await signer.v5.createTransaction(transfer('0.05') as never, { idempotencyKey: 'crash-1' });
    expect(again.id).to.not.equal(first.id);
    expect(await txCount()).to.equal(before + 2);
    expect((await signer.v5.createTransaction(transfer('0.05') as never, { idempotencyKey: 'crash-1' })).id, 'and is replayed from then on').to.equal(again.id);
  });

  it('RAW by derivation path is accepted for the source vault only', async () => {
    const raw = (path: number[]) => ({ operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' }, extraParameters: { rawMessageData: { algorithm: 'MPC_EDDSA_ED25519', messages: [{ content: 'deadbeef', derivationPath: path }] } } });
    const ok = await signer.v5.createTransaction(raw([44, 1, 0, 0, 0]) as never);
    expect(ok.status).to.equal('QUEUED');
    const wrong = await signedFetch(c, signer, 'POST', '/v1/transactions', raw([44, 1, 1, 0, 0]));
    expect(wrong.status).to.equal(400);
    expect(wrong.json.message).to.match(/source vault 0/);
  });

  it('lists with paging headers the v5 SDK follows', async () => {
    const all = await signer.v5.getTransactions({ limit: 500 } as never);
    const seen: string[] = [];
    let page = await signer.v5.getTransactionsWithPageInfo({ limit: 3 } as never);
    for (;;) {
      seen.push(...page.transactions.map((t) => t.id));
      if (!page.pageDetails.nextPage) break;
      page = await signer.v5.getTransactionsWithPageInfo(undefined, page.pageDetails.nextPage);
    }
    expect(seen).to.deep.equal(all.map((t) => t.id));
    expect(new Set(seen).size).to.equal(seen.length);
    expect(seen.length).to.be.greaterThan(6);
  });

  it('refuses bad input with 4xx and stores nothing', async () => {
    const before = await txCount();
    const cases: Array<[unknown, number, number]> = [
      [{ ...transfer('0.1'), assetId: 'NOPE' }, 404, 1006],
      [{ ...transfer('0.1'), source: { type: 'VAULT_ACCOUNT', id: '99' } }, 404, 1004],
      [{ ...transfer('0.1'), source: { type: 'VAULT_ACCOUNT', id: '../0' } }, 404, 1004],
      [transfer('-1'), 400, 1000],
      [transfer('1e3'), 400, 1000],
      [transfer('0.0000000000000000001'), 400, 1000],
      [{ ...transfer('0.1'), destination: { type: 'ONE_TIME_ADDRESS', oneTimeAddress: { address: '0x52908400098527886E0F7030069857D2E4169Ee7' } } }, 400, 1000],
      [{ ...transfer('0.1'), amount: { n: 1 } }, 400, 1000],
      [{ ...transfer('0.1'), operation: 'MINT' }, 400, 1000],
      ['{"operation": "TRANSFER",', 400, 1000],
      ['null', 400, 1000],
    ];
    for (const [body, status, code] of cases) {
      const r = await signedFetch(c, signer, 'POST', '/v1/transactions', body);
      expect([r.status, r.json?.code], JSON.stringify(body)).to.deep.equal([status, code]);
      expect(typeof r.json.message).to.equal('string');
    }
    const huge = await signedFetch(c, signer, 'POST', '/v1/transactions', transfer('0.1', { note: 'x'.repeat(300_000) }));
    expect([huge.status, huge.json.code]).to.deep.equal([413, 1413]);
    expect(await txCount()).to.equal(before);
    const missing = await signedFetch(c, signer, 'GET', '/v1/transactions/does-not-exist');
    expect([missing.status, missing.json.code]).to.deep.equal([404, 1404]);
  });

  it('serves the OpenAPI document with every route, our approval endpoint included', async () => {
    const doc = (await (await fetch(`${c.baseUrl}/docs/json`)).json()) as { paths: Record<string, unknown> };
    for (const p of ['/v1/transactions', '/v1/transactions/{txId}', '/v1/transactions/{txId}/approvals', '/v1/tap/policy', '/v1/vault/accounts', '/v1/supported_assets']) {
      expect(doc.paths, p).to.have.property(p);
    }
  });
});
