// REST authentication exactly as the official SDKs sign requests (reference §1), and every way a
// request can fail it, each with Fireblocks' documented negative code and nothing stored.
import { expect } from 'chai';
import { createHash, createPrivateKey, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { rsaKeyPair, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';

interface Claims {
  uri?: string;
  nonce?: string;
  iat?: number;
  exp?: number;
  sub?: string;
  bodyHash?: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('coordinator REST authentication', function () {
  this.timeout(60_000);
  let c: TestCoordinator;
  let admin: TestUser;

  before(async () => {
    c = await startCoordinator();
    admin = await c.user('ADMIN');
  });
  after(async () => {
    await c?.close();
  });

  /** A request with a hand-made token: the claims a correct SDK sends, then `edit`ed. */
  async function call(method: 'GET' | 'POST', path: string, opts: { body?: string; edit?: (c: Claims) => void; user?: TestUser; key?: string; alg?: string; headers?: Record<string, string>; token?: string } = {}) {
    const user = opts.user ?? admin;
    const now = Math.floor(Date.now() / 1000);
    const claims: Claims = { uri: path, nonce: randomUUID(), iat: now, exp: now + 55, sub: user.row.api_key, bodyHash: sha256(opts.body ?? '') };
    opts.edit?.(claims);
    const token = opts.token ?? await new SignJWT(claims as Record<string, unknown>).setProtectedHeader({ alg: opts.alg ?? 'RS256', typ: 'JWT' }).sign(createPrivateKey(opts.key ?? user.privateKeyPem));
    const res = await fetch(c.baseUrl + path, {
      method,
      headers: { 'x-api-key': user.row.api_key, authorization: `Bearer ${token}`, ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      body: opts.body,
    });
    return { status: res.status, body: (await res.json()) as { message: string; code: number }, token };
  }

  const vaultCount = async () => (await c.db.selectFrom('vault_accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;

  it('accepts both official SDKs (v5 and ts-sdk v18), GET and POST', async () => {
    const v = await admin.v5.createVaultAccount('from v5');
    expect(v.id).to.equal('0');
    expect((await admin.v5.getVaultAccountById(v.id)).name).to.equal('from v5');
    const t = await admin.ts.vaults.createVaultAccount({ createVaultAccountRequest: { name: 'from ts' } });
    expect(t.data.id).to.equal('1');
    expect((await admin.ts.vaults.getVaultAccount({ vaultAccountId: '1' })).data.name).to.equal('from ts');
  });

  it('accepts a hand-made token: both empty-body hashes on a GET', async () => {
    expect((await call('GET', '/v1/vault/accounts/0')).status).to.equal(200);
    expect((await call('GET', '/v1/vault/accounts/0', { edit: (x) => (x.bodyHash = sha256('""')) })).status).to.equal(200);
  });

  const refusals: Array<[string, number, Parameters<typeof call>[2]]> = [
    ['expired', -10, { edit: (x) => { x.iat = Math.floor(Date.now() / 1000) - 120; x.exp = x.iat + 55; } }],
    ['issued in the future', -12, { edit: (x) => { x.iat = Math.floor(Date.now() / 1000) + 120; x.exp = x.iat + 55; } }],
    ['a lifetime over 60 s', -10, { edit: (x) => (x.exp = x.iat! + 600) }],
    ['a wrong body hash', -1, { edit: (x) => (x.bodyHash = sha256('{"name":"other"}')) }],
    ['a wrong uri', -4, { edit: (x) => (x.uri = '/v1/vault/accounts/1') }],
    ['the uri without its query', -4, { edit: (x) => (x.uri = '/v1/vault/accounts/0') }],
    ['another API key as sub', -6, { edit: (x) => (x.sub = randomUUID()) }],
    ['a token signed by another key', -1, { key: rsaKeyPair().privateKeyPem }],
    ['missing claims', -5, { edit: (x) => delete x.nonce }],
  ];
  for (const [what, code, opts] of refusals) {
    it(`refuses ${what} with 401 code ${code}, storing nothing`, async () => {
      const before = await vaultCount();
      const path = what.includes('query') ? '/v1/vault/accounts/0?x=1' : '/v1/vault/accounts/0';
      const r = what.includes('body') ? await call('POST', '/v1/vault/accounts', { body: '{"name":"x"}', ...opts }) : await call('GET', path, opts);
      expect(r.status, JSON.stringify(r.body)).to.equal(401);
      expect(r.body.code).to.equal(code);
      expect(r.body.message).to.match(/^Unauthorized: /);
      expect(await vaultCount()).to.equal(before);
    });
  }

  it('refuses a replayed token (its nonce is used once) with -7', async () => {
    const first = await call('POST', '/v1/vault/accounts', { body: '{"name":"once"}' });
    expect(first.status).to.equal(200);
    const before = await vaultCount();
    const again = await call('POST', '/v1/vault/accounts', { body: '{"name":"once"}', token: first.token });
    expect(again.status).to.equal(401);
    expect(again.body.code).to.equal(-7);
    expect(await vaultCount()).to.equal(before);
  });

  it('refuses alg none, HS256 and a malformed token with -5; a missing key -2; a missing token -3; an unknown key -7', async () => {
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: admin.row.api_key })).toString('base64url')}.`;
    expect((await call('GET', '/v1/vault/accounts/0', { token: none })).body.code).to.equal(-5);
    const hs = await new SignJWT({ sub: admin.row.api_key }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(admin.row.public_key_pem));
    expect((await call('GET', '/v1/vault/accounts/0', { token: hs })).body.code).to.equal(-5);
    expect((await call('GET', '/v1/vault/accounts/0', { token: 'a.b' })).body.code).to.equal(-5);
    const noKey = await fetch(`${c.baseUrl}/v1/vault/accounts/0`, { headers: { authorization: 'Bearer x.y.z' } });
    expect([noKey.status, ((await noKey.json()) as { code: number }).code]).to.deep.equal([401, -2]);
    const noToken = await fetch(`${c.baseUrl}/v1/vault/accounts/0`, { headers: { 'x-api-key': admin.row.api_key } });
    expect([noToken.status, ((await noToken.json()) as { code: number }).code]).to.deep.equal([401, -3]);
    expect((await call('GET', '/v1/vault/accounts/0', { headers: { 'x-api-key': randomUUID() } })).body.code).to.equal(-7);
  });

  it('refuses a role without the permission (-8): a VIEWER cannot create a vault account', async () => {
    const viewer = await c.user('VIEWER');
    const before = await vaultCount();
    const r = await call('POST', '/v1/vault/accounts', { body: '{"name":"nope"}', user: viewer });
    expect([r.status, r.body.code]).to.deep.equal([401, -8]);
    expect((await call('GET', '/v1/vault/accounts/0', { user: viewer })).status).to.equal(200);
    expect(await vaultCount()).to.equal(before);
  });

  it('v5 signs unencoded path ids while sending them encoded; both forms compare equal after decoding', async () => {
    const r = await call('GET', '/v1/vault/accounts/%30', { edit: (x) => (x.uri = '/v1/vault/accounts/0') });
    expect(r.status).to.equal(200);
  });
});
