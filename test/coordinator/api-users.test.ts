// API users from a CSR, as the official SDKs create them; the new user signs requests at once.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FireblocksSDK } from 'fireblocks-sdk';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';

function csr(bits: number, dir: string): { csrPem: string; keyPem: string } {
  execFileSync('openssl', ['req', '-new', '-newkey', `rsa:${bits}`, '-nodes', '-keyout', join(dir, `k${bits}.pem`), '-out', join(dir, `c${bits}.csr`), '-subj', '/CN=integration'], { stdio: 'ignore' });
  return { csrPem: readFileSync(join(dir, `c${bits}.csr`), 'utf8'), keyPem: readFileSync(join(dir, `k${bits}.pem`), 'utf8') };
}

describe('coordinator API users', function () {
  this.timeout(60_000);
  let c: TestCoordinator;
  let admin: TestUser;
  let dir: string | undefined;
  before(async () => {
    c = await startCoordinator();
    admin = await c.user('ADMIN');
    dir = mkdtempSync(join(tmpdir(), 'csr-'));
  });
  after(async () => {
    await c?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('creates an API user from a CSR with v5 (and with the ts-sdk field names); the new key signs requests', async () => {
    const { csrPem, keyPem } = csr(2048, dir!);
    const created = (await admin.v5.createApiUser('integration', 'SIGNER', csrPem, 'SGX' as never, false)) as unknown as { success: boolean; apiKey: string };
    expect(created.success).to.equal(true);
    const sdk = new FireblocksSDK(keyPem, created.apiKey, c.baseUrl);
    expect((await sdk.getApiUsers()).users.map((u) => u.name)).to.include.members(['integration', admin.row.name]);
    const ts = await admin.ts.apiUser.createApiUser({ createAPIUser: { name: 'ts-made', role: 'VIEWER', csrPem: csr(3072, dir!).csrPem, coSignerSetupIsFirstUser: false } as never });
    expect(ts.statusCode).to.equal(200);
  });

  it('refuses a CSR with a short key, a tampered CSR, an unknown role, and a caller without users:manage', async () => {
    const short = csr(1024, dir!).csrPem;
    expect((await signedFetch(c, admin, 'POST', '/v1/management/api_users', { name: 'x', role: 'SIGNER', csrPem: short })).json.message).to.match(/at least 2048 bits/);
    const good = csr(2048, dir!).csrPem;
    const body = good.split('\n');
    body[3] = body[3]!.slice(0, 10) + (body[3]![10] === 'A' ? 'B' : 'A') + body[3]!.slice(11);
    const tampered = await signedFetch(c, admin, 'POST', '/v1/management/api_users', { name: 'x', role: 'SIGNER', csrPem: body.join('\n') });
    expect(tampered.status).to.equal(400);
    expect((await signedFetch(c, admin, 'POST', '/v1/management/api_users', { name: 'x', role: 'GOD', csrPem: good })).json.message).to.match(/unknown role/);
    const signer = await c.user('SIGNER', 'plain-signer');
    expect((await signedFetch(c, signer, 'POST', '/v1/management/api_users', { name: 'x', role: 'ADMIN', csrPem: good })).json.code).to.equal(-8);
  });
});
