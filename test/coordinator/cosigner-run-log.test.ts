// PUT /cosigner/v1/run-log and GET /v1/cosigners/:id/run_log: only a paired co-signer's access
// token replaces its copy, at most 1 MiB of text/plain, and only an admin of its own workspace
// reads it (with the time it arrived).
import { expect } from 'chai';
import { createApiUser, createWorkspace } from '../../coordinator/workspaces/workspaces.js';
import { MAX_RUN_LOG_BYTES, RUN_LOG_PATH } from '../../shared/cosigner-api/run-log.js';
import { CosignerApiCode } from '../../shared/cosigner-api/error-codes.js';
import { rsaKeyPair, signedFetch, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';
import { EmulatedEnclave, TestCosigner, pairingTokenFor } from './support/cosigner.js';

describe('co-signer API: run.log', function () {
  this.timeout(60_000);
  let enclave: EmulatedEnclave;
  let c: TestCoordinator;
  let admin: TestUser;
  let signer: TestUser;
  let a: TestCosigner;
  let b: TestCosigner;

  before(async () => {
    enclave = EmulatedEnclave.create();
    c = await startCoordinator({ attestationRoot: enclave.rootPem });
    admin = await c.user('ADMIN');
    signer = await c.user('SIGNER', 'signer');
    await signedFetch(c, admin, 'PUT', '/v1/cosigner-attestation-policy', { pcr0: enclave.pcr(0) });
    a = await new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, signer.row.id));
    b = await new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, signer.row.id));
  });
  after(async () => {
    await c?.close();
    enclave?.close();
  });

  const put = async (body: string | Buffer, token: string | null, contentType = 'text/plain; charset=utf-8') => {
    const res = await fetch(c.baseUrl + RUN_LOG_PATH, { method: 'PUT', headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  };
  const read = (who: TestUser, id: string) => signedFetch(c, who, 'GET', `/v1/cosigners/${id}/run_log`);

  it('needs the co-signer\'s access token', async () => {
    for (const token of [null, 'csa_' + 'A'.repeat(43), a.refreshToken]) {
      const r = await put('cosigner:1 INFO 03/12/2026 11:02:03,045 CosignerService ::request - setup: paired\n', token);
      expect(r.status, String(token)).to.equal(401);
      expect(r.json.code).to.equal(CosignerApiCode.ACCESS_TOKEN_INVALID);
    }
    expect((await read(admin, a.cosignerId)).status, 'nothing was stored').to.equal(404);
  });

  it('keeps the latest copy per co-signer with the time it arrived; an admin of the workspace reads it', async () => {
    const first = 'cosigner:1 INFO 03/12/2026 11:02:03,045 CosignerService ::request - setup: paired — ✓\n';
    const t0 = Date.now();
    const r1 = await put(first, a.accessToken);
    expect(r1.status, JSON.stringify(r1.json)).to.equal(200);
    expect(r1.json.sizeBytes).to.equal(Buffer.byteLength(first));
    expect(r1.json.receivedAt).to.be.within(t0, Date.now());
    const second = first + 'cosigner:2 INFO 03/12/2026 11:03:00,000 CosignerService ::request - add-user: paired\n';
    expect((await put(second, a.accessToken)).status).to.equal(200);
    const got = await read(admin, a.cosignerId);
    expect(got.status).to.equal(200);
    expect(got.json).to.deep.include({ cosignerId: a.cosignerId, runLog: second, sizeBytes: Buffer.byteLength(second) });
    expect(got.json.receivedAt).to.be.at.least(r1.json.receivedAt);
    // Each co-signer has its own copy.
    expect((await read(admin, b.cosignerId)).status).to.equal(404);
    expect((await put('b\n', b.accessToken)).status).to.equal(200);
    expect((await read(admin, b.cosignerId)).json.runLog).to.equal('b\n');
    expect((await read(admin, a.cosignerId)).json.runLog).to.equal(second);
  });

  it('takes at most 1 MiB, and only text/plain', async () => {
    const exact = 'x'.repeat(MAX_RUN_LOG_BYTES - 1) + '\n';
    expect((await put(exact, a.accessToken)).status).to.equal(200);
    const over = await put(exact + 'y', a.accessToken);
    expect(over.status).to.equal(413);
    expect(over.json.code).to.be.a('number');
    expect((await put('{"runLog":"x"}', a.accessToken, 'application/json')).status).to.equal(415);
    expect((await put('"x"', a.accessToken, 'application/json')).status).to.equal(415);
    expect((await read(admin, a.cosignerId)).json.sizeBytes, 'the refused copies changed nothing').to.equal(MAX_RUN_LOG_BYTES);
  });

  it('is read only by an admin of the co-signer\'s own workspace', async () => {
    const denied = await read(signer, a.cosignerId);
    expect(denied.status).to.equal(401);
    expect(denied.json.code).to.equal(-8);
    const other = await createWorkspace(c.db, 'other-workspace');
    const keys = rsaKeyPair();
    const row = await createApiUser(c.db, { workspaceId: other.id, name: 'other-admin', role: 'ADMIN', publicKeyPem: keys.publicKeyPem });
    const outsider = { row, privateKeyPem: keys.privateKeyPem } as TestUser;
    expect((await read(outsider, a.cosignerId)).status).to.equal(404);
    expect((await read(admin, 'no-such-cosigner')).status).to.equal(404);
    expect((await read(admin, 'bad%20id')).status).to.equal(400);
  });

  it('a revoked co-signer can no longer send one; its last copy stays readable for support', async () => {
    expect((await signedFetch(c, admin, 'DELETE', `/v1/cosigner-pairings/${b.cosignerId}`)).status).to.equal(200);
    expect((await put('after revocation\n', b.accessToken)).status).to.equal(401);
    expect((await read(admin, b.cosignerId)).json.runLog).to.equal('b\n');
  });
});
