// Webhooks v2 through the ts-sdk, and delivery to a real local receiver: signed so it can verify
// them, retried with backoff after a failure, never blocking the transaction that caused them.
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { verify } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';

describe('coordinator webhooks', function () {
  this.timeout(60_000);
  let c: TestCoordinator;
  let admin: TestUser;
  let receiver: Server | undefined;
  const got: Array<{ body: string; signature: string }> = [];
  let failFirst = 1;

  before(async () => {
    c = await startCoordinator({ webhookIntervalMs: 50 });
    admin = await c.user('ADMIN');
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        if (failFirst-- > 0) {
          res.writeHead(500).end();
          return;
        }
        got.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['fireblocks-signature']) });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', () => r()));
  });
  after(async () => {
    await c?.close();
    await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  });

  it('create, list, get, update and delete through the ts-sdk', async () => {
    const url = `http://127.0.0.1:${(receiver!.address() as AddressInfo).port}/hooks`;
    const created = (await admin.ts.webhooksV2.createWebhook({ createWebhookRequest: { url, events: ['transaction.created', 'transaction.status.updated'] as never, description: 'ops' } })).data;
    expect(created).to.include({ url, status: 'ENABLED', description: 'ops' });
    expect((await admin.ts.webhooksV2.getWebhook({ webhookId: created.id })).data.id).to.equal(created.id);
    const listed = (await admin.ts.webhooksV2.getWebhooks({})).data as unknown as { data: Array<{ id: string }> };
    expect(listed.data.map((w) => w.id)).to.deep.equal([created.id]);
    const off = (await admin.ts.webhooksV2.updateWebhook({ webhookId: created.id, updateWebhookRequest: { enabled: false } })).data;
    expect(off.status).to.equal('DISABLED');
    await admin.ts.webhooksV2.updateWebhook({ webhookId: created.id, updateWebhookRequest: { enabled: true } });
    const bad = await signedFetch(c, admin, 'POST', '/v1/webhooks', { url: 'ftp://x', events: ['transaction.created'] });
    expect(bad.status).to.equal(400);
    const other = (await admin.ts.webhooksV2.createWebhook({ createWebhookRequest: { url, events: ['transaction.created'] as never } })).data;
    await admin.ts.webhooksV2.deleteWebhook({ webhookId: other.id });
    expect((await signedFetch(c, admin, 'GET', `/v1/webhooks/${other.id}`)).status).to.equal(404);
  });

  it('delivers transaction.created and status updates, signed, retrying after a failure, without holding up the transaction', async () => {
    await signedFetch(c, admin, 'POST', '/v1/vault/accounts', { name: 'v' });
    await signedFetch(c, admin, 'POST', '/v1/tap/policy', { rules: [{ name: 'all', operations: '*', initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] });
    const tx = await admin.v5.createTransaction({ operation: 'TRANSFER', assetId: 'ETH_TEST5', amount: '0.1', source: { type: 'VAULT_ACCOUNT', id: '0' }, destination: { type: 'ONE_TIME_ADDRESS', oneTimeAddress: { address: '0x52908400098527886E0F7030069857D2E4169EE7' } } } as never);
    expect(got, 'the create returned before any delivery succeeded (the first one fails)').to.deep.equal([]);
    await admin.v5.cancelTransactionById(tx.id);
    for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    // The first delivery failed and is retried a second later, so the status update may arrive first:
    // receivers order events by their createdAt, not by arrival.
    got.sort((a, b) => JSON.parse(a.body).createdAt - JSON.parse(b.body).createdAt || (JSON.parse(a.body).eventType === 'transaction.created' ? -1 : 1));
    expect(got.map((g) => JSON.parse(g.body).eventType)).to.deep.equal(['transaction.created', 'transaction.status.updated']);
    const publicKey = (await signedFetch(c, admin, 'GET', '/v1/webhooks/public_key')).json.publicKey as string;
    for (const g of got) {
      expect(verify('sha512', Buffer.from(g.body), publicKey, Buffer.from(g.signature, 'base64')), 'signature verifies').to.equal(true);
      expect(verify('sha512', Buffer.from(g.body + ' '), publicKey, Buffer.from(g.signature, 'base64'))).to.equal(false);
    }
    const created = JSON.parse(got[0]!.body);
    expect(created.data).to.include({ id: tx.id, status: 'QUEUED' });
    expect(JSON.parse(got[1]!.body).data).to.include({ id: tx.id, status: 'CANCELLED', previousStatus: 'QUEUED' });
    const rows = await c.db.selectFrom('webhook_deliveries').selectAll().execute();
    expect(rows.map((r) => [r.event_type, r.state, r.attempts]).sort()).to.deep.equal([['transaction.created', 'DELIVERED', 2], ['transaction.status.updated', 'DELIVERED', 1]]);
  });
});
