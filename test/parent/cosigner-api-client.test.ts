// The parent's co-signer API client against a real coordinator (paired through the real pairing
// route): access tokens taken again on 1607 (expired by the coordinator's clock, not ours) and 1606
// (revoked), a revoked pairing's 1605, every refusal typed with its HTTP status and 16xx code,
// timeouts (the poll's is waitMs plus a margin), aborts, an unreachable coordinator, and no token
// in any log line or error.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { toHex } from '../../shared/bytes.js';
import { signStateReport } from '../../shared/cosigner-api/state-report.js';
import { EmulatedEnclave } from '../coordinator/support/cosigner.js';
import { CosignerApiClient, CosignerApiError, isRevokedPairing, isTransientApiError } from '../../parent/coordinator/cosigner-api-client.js';
import { sleep, startHarness, type Harness } from './support/paired-parent.js';

async function refusal(p: Promise<unknown>): Promise<CosignerApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(CosignerApiError);
    const err = e as CosignerApiError;
    expect(`${err.message} ${JSON.stringify(err.details)}`, 'no token in an error').to.not.match(/csa_|csr_/);
    return err;
  }
  throw new Error('expected the call to fail');
}

describe('parent: co-signer API client against the coordinator', function () {
  this.timeout(30_000);
  let enclave: EmulatedEnclave;
  let h: Harness | undefined;

  before(() => {
    enclave = EmulatedEnclave.create();
  });
  after(() => enclave?.close());
  afterEach(async () => {
    if (h) {
      const leaked = h.logs.raw.filter((l) => /csa_|csr_/.test(l));
      await h.close();
      h = undefined;
      expect(leaked, 'no token in any log line').to.deep.equal([]);
    }
  });
  const setup = async (opts: Parameters<typeof startHarness>[1] = {}) => (h = await startHarness(enclave, opts));
  const tokens = (hh: Harness) => hh.proxy.requestsMatching(/^POST \/cosigner\/v1\/token$/).length;

  it('takes one access token for many calls, and names the co-signer it belongs to', async () => {
    const hh = await setup();
    const k = hh.client();
    for (let i = 0; i < 3; i++) expect(await k.poll(0, await hh.stateReport('poll'))).to.deep.equal({ item: null, signature: null });
    expect(tokens(hh)).to.equal(1);
    expect(k.cosignerId).to.equal(hh.cosigner.cosignerId);
  });

  it('an access token the coordinator calls expired (1607) though our clock does not is replaced once, and the call goes through', async () => {
    const hh = await setup({ cosignerAccessTokenTtlMs: 500 });
    const k = hh.client({ now: () => Date.now() - 120_000 }); // our clock two minutes behind
    await k.poll(0, await hh.stateReport('poll'));
    await sleep(700);
    expect((await k.poll(0, await hh.stateReport('poll'))).item).to.equal(null);
    expect(tokens(hh)).to.equal(2);
    expect(hh.logs.find(/access token refused/).map((l) => l.apiCode)).to.deep.equal([1607]);
  });

  it('renews ahead of expiry by its own clock (no 401 at all)', async () => {
    const hh = await setup({ cosignerAccessTokenTtlMs: 500 });
    const k = hh.client();
    await k.poll(0, await hh.stateReport('poll'));
    await sleep(450); // within the last fifth of the lifetime
    await k.poll(0, await hh.stateReport('poll'));
    expect(tokens(hh)).to.equal(2);
    expect(hh.logs.find(/access token refused/)).to.deep.equal([]);
  });

  it('an access token the coordinator no longer knows (1606) is replaced once', async () => {
    const hh = await setup();
    const k = hh.client();
    await k.poll(0, await hh.stateReport('poll'));
    await hh.c.db.deleteFrom('cosigner_access_tokens').execute();
    expect((await k.poll(0, await hh.stateReport('poll'))).item).to.equal(null);
    expect(hh.logs.find(/access token refused/).map((l) => l.apiCode)).to.deep.equal([1606]);
    expect(tokens(hh)).to.equal(2);
  });

  it('a revoked pairing: 401 with 1605 from the token exchange, typed, and recognised as revoked', async () => {
    const hh = await setup();
    const k = hh.client();
    await k.poll(0, await hh.stateReport('poll'));
    await hh.revoke();
    const e = await refusal(k.poll(0, await hh.stateReport('poll')));
    expect(e).to.include({ code: 'TOKEN_INVALID', status: 401, apiCode: 1605 });
    expect(e.details).to.include({ reason: 'refresh' });
    expect(isRevokedPairing(e)).to.equal(true);
    expect(isTransientApiError(e)).to.equal(false);
    expect(tokens(hh), 'access refused (1606), then the refresh refused: no more').to.equal(2);
  });

  it('types each refusal with its HTTP status and the coordinator code', async () => {
    const hh = await setup();
    const k = hh.client();
    const noSuch = '00000000-0000-0000-0000-000000000000';
    expect(await refusal(k.heartbeat(noSuch))).to.include({ code: 'LEASE_LOST', status: 409, apiCode: 1610 });
    expect(await refusal(k.result(noSuch, { result: { signature: 'x' }, state: await hh.stateReport(`result:${noSuch}`) }))).to.include({ code: 'NOT_FOUND', status: 404 });
    expect(await refusal(k.mpcOpening(toHex(randomBytes(32)), { ephemeralPublicKey: randomBytes(32).toString('base64'), signature: randomBytes(64).toString('base64') }))).to.include({ code: 'COORDINATOR_REFUSED', status: 503, apiCode: 1611 });

    hh.cosigner.stateVersion = 7;
    await k.poll(0, hh.cosigner.state('poll'));
    const older = await refusal(k.poll(0, hh.cosigner.state('poll', 6)));
    expect(older).to.include({ code: 'STATE_ROLLBACK', status: 409, apiCode: 1608 });
    const other = await hh.another();
    const forged = signStateReport({ stateVersion: 7, stateDigest: hh.cosigner.stateDigest, at: Date.now() }, { cosignerId: hh.cosigner.cosignerId, purpose: 'poll' }, other.identity);
    expect(await refusal(k.poll(0, forged))).to.include({ code: 'COORDINATOR_REFUSED', status: 400, apiCode: 1609 });

    const id = await hh.add({ n: 1 }, 'KEYGEN');
    expect((await k.poll(1_000, hh.cosigner.state('poll'))).item?.id).to.equal(id);
    const noHandler = await refusal(k.result(id, { result: { x: 1 }, state: hh.cosigner.state(`result:${id}`) }));
    expect(noHandler).to.include({ code: 'COORDINATOR_REFUSED', status: 501, apiCode: 1615 });
    expect(isTransientApiError(noHandler), '501 is not worth retrying').to.equal(false);
    const badId = await k.heartbeat('../token').then(() => null, (err: Error) => err);
    expect(badId?.message).to.match(/work item id/);
  });

  it('times out a poll that gets no answer after waitMs plus its margin, and other calls after their timeout', async () => {
    const hh = await setup();
    const k = hh.client({ pollMarginMs: 200, requestTimeoutMs: 300 });
    await k.poll(0, await hh.stateReport('poll'));
    hh.proxy.stall(/^GET \/cosigner\/v1\/work$/);
    const t = Date.now();
    const e = await refusal(k.poll(300, await hh.stateReport('poll')));
    const took = Date.now() - t;
    expect(e).to.include({ code: 'COORDINATOR_UNREACHABLE', status: 0 });
    expect(e.details).to.include({ reason: 'timeout' });
    expect(took).to.be.within(450, 2_000);
    expect(isTransientApiError(e)).to.equal(true);

    hh.proxy.stall(/heartbeat$/);
    const t2 = Date.now();
    expect((await refusal(k.heartbeat('abc'))).details).to.include({ reason: 'timeout' });
    expect(Date.now() - t2).to.be.within(250, 1_500);
  });

  it('an abort ends a held poll at once (ABORTED), and an unreachable coordinator is COORDINATOR_UNREACHABLE', async () => {
    const hh = await setup();
    const k = hh.client();
    const ac = new AbortController();
    const held = refusal(k.poll(20_000, await hh.stateReport('poll'), { signal: ac.signal }));
    await sleep(300);
    const t = Date.now();
    ac.abort();
    expect(await held).to.include({ code: 'ABORTED' });
    expect(Date.now() - t).to.be.lessThan(200);

    await hh.proxy.down();
    const down = await refusal(k.poll(0, await hh.stateReport('poll')));
    expect(down).to.include({ code: 'COORDINATOR_UNREACHABLE', status: 0 });
    expect(down.details).to.include({ reason: 'network' });
    expect(isTransientApiError(down)).to.equal(true);
  });

  it('refuses a refresh token or URL that cannot be right before any call', () => {
    expect(() => new CosignerApiClient({ baseUrl: 'http://127.0.0.1:1', refreshToken: 'csa_notrefresh' })).to.throw(/refresh token/);
    expect(() => new CosignerApiClient({ baseUrl: 'ftp://x', refreshToken: 'csr_abc' })).to.throw(/https/);
  });
});
