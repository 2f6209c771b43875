// Pairing a co-signer with a real attestation document from the NSM emulator, every way pairing
// must refuse (and store nothing, leaving the token usable), refresh and access tokens, revocation.
import { expect } from 'chai';
import { createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { openPairingRecord } from '../../shared/cosigner-api/pairing-record.js';
import { expectCosignerError } from '../support/expect-error.js';
import { decodePairingToken, encodePairingToken, pairingNonce } from '../../shared/cosigner-api/pairing-token.js';
import { issuePairingToken } from '../../coordinator/cosigners/pairing-tokens.js';
import { sha256Hex } from '../../coordinator/cosigners/token-secrets.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';
import { EmulatedEnclave, TestCosigner, pairingTokenFor } from './support/cosigner.js';

// Each refusal for its own reason, not for whichever check happened to come first.
const WHY: Record<string, RegExp> = {
  'wrong root': /pinned root/,
  'debug PCRs': /debug mode/,
  'wrong PCR0': /PCR0 does not match/,
  'stale document': /ms old/,
  'nonce of another token': /nonce does not match/,
  'wrong user_data': /user_data does not bind/,
  'keys other than the bound ones': /user_data does not bind/,
  'expired token': /expired/,
  'unknown token': /unknown pairing token/,
  'right token id, wrong secret': /unknown pairing token/,
  'not a token': /malformed/,
  'callback key not RSA': /callbackPublicKey: must be an RSA key/,
  'identity key of 31 bytes': /32 bytes/,
  'extra field': /additional properties/,
};

describe('co-signer API: pairing and tokens', function () {
  this.timeout(60_000);
  let enclave: EmulatedEnclave;
  let c: TestCoordinator;
  let admin: TestUser;
  let signer: TestUser;

  before(() => {
    enclave = EmulatedEnclave.create();
  });
  after(() => enclave?.close());
  beforeEach(async () => {
    c = await startCoordinator({ attestationRoot: enclave.rootPem });
    admin = await c.user('ADMIN');
    signer = await c.user('SIGNER', 'signer');
    const r = await signedFetch(c, admin, 'PUT', '/v1/cosigner-attestation-policy', { pcr0: enclave.pcr(0) });
    expect(r.status, JSON.stringify(r.json)).to.equal(200);
  });
  afterEach(async () => {
    await c?.close();
  });

  const count = async (table: 'cosigners' | 'cosigner_access_tokens') => Number((await c.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const tokenRow = (token: string) => c.db.selectFrom('cosigner_pairing_tokens').selectAll().where('id', '=', decodePairingToken(token).tokenId).executeTakeFirstOrThrow();
  const pair = (cs: TestCosigner, body: unknown) => cs.call('POST', '/cosigner/v1/pair', body, { token: null });

  it('pairs with a real emulator document: stores the co-signer, spends the token, returns a refresh token stored only as a hash', async () => {
    const token = await pairingTokenFor(c, admin, signer.row.id);
    const decoded = decodePairingToken(token);
    const sk = await (await fetch(`${c.baseUrl}/cosigner/v1/service-key`)).json() as { sha256: string; publicKeySpki: string };
    expect(decoded.serviceKeySha256).to.equal(sk.sha256);
    expect(decoded.url).to.equal(c.baseUrl);
    expect(sha256Hex(Buffer.from(sk.publicKeySpki, 'base64'))).to.equal(sk.sha256);
    const row = await tokenRow(token);
    expect(row.secret_sha256).to.not.include(decoded.secret);
    expect(row.used_at).to.equal(null);

    const cs = new TestCosigner(c, enclave);
    const r = await pair(cs, cs.pairRequest(token));
    expect(r.status, JSON.stringify(r.json)).to.equal(200);
    expect(r.json).to.include({ workspaceId: c.workspace.id, userId: signer.row.id });
    expect(r.json.refreshToken).to.match(/^csr_/);
    const stored = await c.db.selectFrom('cosigners').selectAll().where('id', '=', r.json.cosignerId).executeTakeFirstOrThrow();
    expect(stored.identity_public_key).to.equal(Buffer.from(cs.identityRaw).toString('base64'));
    expect(stored.refresh_token_sha256).to.equal(sha256Hex(r.json.refreshToken));
    expect(JSON.stringify(stored)).to.not.include(r.json.refreshToken);
    expect(JSON.parse(stored.pcrs)['0']).to.equal(enclave.pcr(0));
    expect((await tokenRow(token)).used_at).to.be.a('number');
    // The signed pairing record: the ids, the co-signer's identity and the API user's key, under the service key.
    const serviceKey = createPublicKey({ key: Buffer.from(sk.publicKeySpki, 'base64'), format: 'der', type: 'spki' });
    const claims = openPairingRecord(r.json.pairingRecord, serviceKey);
    expect(claims).to.deep.include({ tokenId: decoded.tokenId, cosignerId: r.json.cosignerId, workspaceId: c.workspace.id, userId: signer.row.id, identityPublicKey: stored.identity_public_key });
    expect(claims.userPublicKey).to.equal(createPublicKey(signer.row.public_key_pem).export({ format: 'der', type: 'spki' }).toString('base64'));
    expectCosignerError(() => openPairingRecord({ ...r.json.pairingRecord, claims: { ...claims, userId: admin.row.id } }, serviceKey), 'PAIRING_INVALID', /not signed/);

    const again = await pair(new TestCosigner(c, enclave), new TestCosigner(c, enclave).pairRequest(token));
    expect(again.status).to.equal(401);
    expect(again.json.code).to.equal(1602);
    expect(await count('cosigners')).to.equal(1);
  });

  it('refuses every bad pairing with a 4xx {message, code}, stores nothing, and the token still pairs afterwards', async () => {
    const token = await pairingTokenFor(c, admin, signer.row.id);
    const other = await pairingTokenFor(c, admin, signer.row.id);
    const cs = new TestCosigner(c, enclave);
    const foreign = EmulatedEnclave.create();
    const stale = enclave.variant({});
    stale.backdate(10 * 60_000);
    const secret = decodePairingToken(token).secret;
    const binding = cs.keyBinding();
    const { sha256 } = await c.app.cosignerServiceKey();
    const expired = await issuePairingToken(c.db, { workspaceId: c.workspace.id, user: signer.row.id, url: c.baseUrl, serviceKeySha256: sha256, createdBy: admin.row.id, ttlMs: 1000, now: Date.now() - 5000 });
    const unknown = encodePairingToken({ v: 1, url: c.baseUrl, serviceKeySha256: sha256, tokenId: randomUUID(), secret: randomBytes(32).toString('base64url') });
    const wrongSecret = encodePairingToken({ ...decodePairingToken(token), secret: randomBytes(32).toString('base64url') });
    try {
      const cases: Array<[string, Record<string, string>, number, number]> = [
        ['wrong root', cs.pairRequest(token, { document: foreign.attest(binding, pairingNonce(secret)) }), 403, 1604],
        ['debug PCRs', cs.pairRequest(token, { document: enclave.variant({ debug: true }).attest(binding, pairingNonce(secret)) }), 403, 1604],
        ['wrong PCR0', cs.pairRequest(token, { document: enclave.variant({ marker: 'other-image' }).attest(binding, pairingNonce(secret)) }), 403, 1604],
        ['stale document', cs.pairRequest(token, { document: stale.attest(binding, pairingNonce(secret)) }), 403, 1604],
        ['nonce of another token', cs.pairRequest(token, { nonce: pairingNonce(decodePairingToken(other).secret) }), 403, 1604],
        ['wrong user_data', cs.pairRequest(token, { userData: randomBytes(32) }), 403, 1604],
        ['keys other than the bound ones', { ...cs.pairRequest(token), cckPublicKey: new TestCosigner(c, enclave).cckPem }, 403, 1604],
        ['expired token', cs.pairRequest(expired.pairingToken), 401, 1603],
        ['unknown token', cs.pairRequest(unknown), 401, 1601],
        ['right token id, wrong secret', cs.pairRequest(wrongSecret), 401, 1601],
        ['not a token', { ...cs.pairRequest(token), pairingToken: 'bm90LWEtdG9rZW4' }, 401, 1601],
        ['callback key not RSA', { ...cs.pairRequest(token), callbackPublicKey: cs.cckPem }, 400, 1000],
        ['identity key of 31 bytes', { ...cs.pairRequest(token), identityPublicKey: Buffer.alloc(31, 1).toString('base64') }, 400, 1000],
        ['extra field', { ...cs.pairRequest(token), extra: 'x' }, 400, 1000],
      ];
      for (const [what, body, status, code] of cases) {
        const r = await pair(cs, body);
        expect(r.status, `${what}: ${JSON.stringify(r.json)}`).to.equal(status);
        expect(r.json.code, what).to.equal(code);
        expect(r.json.message, what).to.be.a('string');
        expect(JSON.stringify(r.json), what).to.not.include(secret);
        expect(r.json.message, what).to.match(WHY[what]!);
      }
      expect(await count('cosigners')).to.equal(0);
      expect((await tokenRow(token)).used_at).to.equal(null);
      const ok = await pair(cs, cs.pairRequest(token));
      expect(ok.status, JSON.stringify(ok.json)).to.equal(200);
    } finally {
      foreign.close();
    }
  });

  it('two pairings racing with one token: exactly one co-signer is stored', async () => {
    const token = await pairingTokenFor(c, admin, signer.row.id);
    const x = new TestCosigner(c, enclave);
    const y = new TestCosigner(c, enclave);
    const answers = await Promise.all([pair(x, x.pairRequest(token)), pair(y, y.pairRequest(token))]);
    expect(answers.map((r) => r.status).sort()).to.deep.equal([200, 401]);
    expect(answers.find((r) => r.status === 401)!.json.code).to.equal(1602);
    expect(await count('cosigners')).to.equal(1);
  });

  it('PCR8, when the workspace sets it, must match too', async () => {
    await signedFetch(c, admin, 'PUT', '/v1/cosigner-attestation-policy', { pcr0: enclave.pcr(0), pcr8: 'ab'.repeat(48) });
    const cs = new TestCosigner(c, enclave);
    const token = await pairingTokenFor(c, admin, signer.row.id);
    const r = await pair(cs, cs.pairRequest(token));
    expect(r.status).to.equal(403);
    expect(r.json.message).to.match(/PCR8 does not match/);
    await signedFetch(c, admin, 'PUT', '/v1/cosigner-attestation-policy', { pcr0: enclave.pcr(0), pcr8: enclave.pcr(8) });
    expect((await pair(cs, cs.pairRequest(token))).status).to.equal(200);
  });

  it('a workspace with no expected PCRs pairs only when allowAnyPcrs is set, and never a debug enclave', async () => {
    const shown = await signedFetch(c, admin, 'GET', '/v1/cosigner-attestation-policy');
    expect(shown.json).to.include({ pcr0: enclave.pcr(0), pcr8: null });
    const zeros = await signedFetch(c, admin, 'PUT', '/v1/cosigner-attestation-policy', { pcr0: '0'.repeat(96) });
    expect(zeros.status).to.equal(400);
    expect(zeros.json.message).to.match(/debug/);
    await c.db.deleteFrom('cosigner_attestation_policies').execute();
    const cs = new TestCosigner(c, enclave);
    const token = await pairingTokenFor(c, admin, signer.row.id);
    const refused = await pair(cs, cs.pairRequest(token));
    expect(refused.status).to.equal(403);
    expect(refused.json.message).to.match(/no expected PCR0/);
    const open = await startCoordinator({ attestationRoot: enclave.rootPem, allowAnyPcrs: true });
    try {
      const a = await open.user('ADMIN');
      const u = await open.user('SIGNER');
      const cs2 = new TestCosigner(open, enclave);
      const t2 = await pairingTokenFor(open, a, u.row.id);
      const secret = decodePairingToken(t2).secret;
      const debug = await cs2.call('POST', '/cosigner/v1/pair', cs2.pairRequest(t2, { document: enclave.variant({ debug: true }).attest(cs2.keyBinding(), pairingNonce(secret)) }), { token: null });
      expect(debug.status).to.equal(403);
      expect(debug.json.message).to.match(/debug/);
      expect((await cs2.call('POST', '/cosigner/v1/pair', cs2.pairRequest(t2), { token: null })).status).to.equal(200);
    } finally {
      await open.close();
    }
  });

  it('pairing tokens: only for users of the workspace, by an admin, with a lifetime, never with an Idempotency-Key', async () => {
    const viewer = await c.user('VIEWER', 'viewer');
    const byViewer = await signedFetch(c, viewer, 'POST', '/v1/cosigner-pairing-tokens', { userId: signer.row.id });
    expect(byViewer.status).to.equal(401);
    expect(byViewer.json.code).to.equal(-8);
    const unknownUser = await signedFetch(c, admin, 'POST', '/v1/cosigner-pairing-tokens', { userId: randomUUID() });
    expect(unknownUser.status).to.equal(404);
    const other = await startCoordinator();
    try {
      const foreignUser = await other.user('SIGNER');
      expect((await signedFetch(c, admin, 'POST', '/v1/cosigner-pairing-tokens', { userId: foreignUser.row.id })).status).to.equal(404);
    } finally {
      await other.close();
    }
    const t0 = Date.now();
    const short = await signedFetch(c, admin, 'POST', '/v1/cosigner-pairing-tokens', { userId: signer.row.id, ttlSeconds: 600 });
    expect(short.json.expiresAt).to.be.within(t0 + 599_000, Date.now() + 600_000);
    const dflt = await signedFetch(c, admin, 'POST', '/v1/cosigner-pairing-tokens', { userId: signer.row.api_key });
    expect(dflt.json.expiresAt).to.be.within(t0 + 24 * 3600_000 - 1000, Date.now() + 24 * 3600_000);
    expect(dflt.json.userId).to.equal(signer.row.id);
    const unauthenticated = await fetch(`${c.baseUrl}/v1/cosigner-pairing-tokens`, { method: 'POST' }).then((r) => r.status);
    expect(unauthenticated).to.equal(401);
    const withKey = await signedFetch(c, admin, 'POST', '/v1/cosigner-pairing-tokens', { userId: signer.row.id }, { 'idempotency-key': 'k1' });
    expect(withKey.status).to.equal(400);
    expect(withKey.json.message).to.match(/Idempotency-Key/);
    const rows = await c.db.selectFrom('idempotency_keys').selectAll().execute();
    expect(rows).to.deep.equal([]);
  });

  it('refresh token → access token; an unknown or expired access token is refused; revocation stops both', async () => {
    const cs = await new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, signer.row.id));
    expect(cs.accessToken).to.match(/^csa_/);
    expect((await cs.poll(0)).status).to.equal(200);
    const bogus = await cs.call('GET', cs.pollPath(0), undefined, { token: `csa_${randomBytes(32).toString('base64url')}` });
    expect(bogus.status).to.equal(401);
    expect(bogus.json.code).to.equal(1606);
    const none = await cs.call('GET', cs.pollPath(0), undefined, { token: null });
    expect(none.status).to.equal(401);
    const badRefresh = await cs.call('POST', '/cosigner/v1/token', { refreshToken: 'csr_nope' }, { token: null });
    expect(badRefresh.status).to.equal(401);
    expect(badRefresh.json.code).to.equal(1605);

    await c.db.updateTable('cosigner_access_tokens').set({ expires_at: Date.now() - 1 }).execute();
    const expired = await cs.poll(0);
    expect(expired.status).to.equal(401);
    expect(expired.json.code).to.equal(1607);
    expect((await cs.refresh()).status).to.equal(200);
    const fresh = await cs.poll(0);
    expect(fresh.status).to.equal(200);
    expect(await c.db.selectFrom('cosigner_access_tokens').select('token_sha256').execute()).to.deep.equal([{ token_sha256: sha256Hex(cs.accessToken) }]);

    await c.db.updateTable('api_users').set({ enabled: 0 }).where('id', '=', signer.row.id).execute();
    expect((await cs.poll(0)).status, 'its API user disabled').to.equal(401);
    expect((await cs.refresh()).status).to.equal(401);
    await c.db.updateTable('api_users').set({ enabled: 1 }).where('id', '=', signer.row.id).execute();
    expect((await cs.poll(0)).status, 'enabled again').to.equal(200);

    const revoke = await signedFetch(c, admin, 'DELETE', `/v1/cosigner-pairings/${cs.cosignerId}`);
    expect(revoke.status, JSON.stringify(revoke.json)).to.equal(200);
    const after = await cs.poll(0);
    expect(after.status).to.equal(401);
    expect(after.json.code).to.equal(1606);
    expect((await cs.refresh()).json.code).to.equal(1605);
    expect(await count('cosigner_access_tokens')).to.equal(0);
    expect((await signedFetch(c, admin, 'DELETE', `/v1/cosigner-pairings/${cs.cosignerId}`)).status).to.equal(404);
  });

  it('a co-signer whose API user is disabled while its poll is held gets no work from it', async () => {
    const cs = await new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, signer.row.id));
    const held = cs.poll(5_000);
    await new Promise((r) => setTimeout(r, 200));
    await c.db.updateTable('api_users').set({ enabled: 0 }).where('id', '=', signer.row.id).execute();
    try {
      const id = await c.db.transaction().execute((trx) => c.app.workQueue.enqueue(trx, c.workspace.id, 'CONFIG_CHANGE_APPROVAL', { note: 'after disabling' }));
      c.app.workQueue.wake(c.workspace.id);
      expect((await held).json.item).to.equal(null);
      expect(await c.db.selectFrom('work_items').select(['state', 'lease_owner']).where('id', '=', id).executeTakeFirstOrThrow()).to.deep.equal({ state: 'READY', lease_owner: null });
    } finally {
      await c.db.updateTable('api_users').set({ enabled: 1 }).where('id', '=', signer.row.id).execute();
    }
  });

  it('a co-signer revoked while its poll is held gets no work from it; the item stays for the others', async () => {
    const cs = await new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, signer.row.id));
    const held = cs.poll(5_000);
    await new Promise((r) => setTimeout(r, 200));
    expect((await signedFetch(c, admin, 'DELETE', `/v1/cosigner-pairings/${cs.cosignerId}`)).status).to.equal(200);
    const id = await c.db.transaction().execute((trx) => c.app.workQueue.enqueue(trx, c.workspace.id, 'CONFIG_CHANGE_APPROVAL', { note: 'after a revocation' }));
    c.app.workQueue.wake(c.workspace.id);
    const answer = await held;
    expect(answer.status).to.equal(200);
    expect(answer.json.item).to.equal(null);
    const row = await c.db.selectFrom('work_items').select(['state', 'lease_owner']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).to.deep.equal({ state: 'READY', lease_owner: null });
  });
});
