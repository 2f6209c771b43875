// The parent's callback HTTP client (parent/callback/callback-client.ts) against real servers on
// 127.0.0.1: paths, headers, the 30 s deadline (shortened here), the 1 MiB cap, statuses, TLS with a
// pinned CA; and end to end with the enclave's approval machine and a handler signing real JWTs.
import { expect } from 'chai';
import type { Socket } from 'node:net';
import {
  CallbackClient, callbackEndpoint, CALLBACK_MAX_RESPONSE_BYTES, CALLBACK_REQUEST_CONTENT_TYPE, CALLBACK_TIMEOUT_MS,
} from '../../parent/callback/callback-client.js';
import { runApproval, realClock } from '../../enclave/callback/approval.js';
import { signRequestJwt, verifyRequestJwt } from '../../shared/callback/request-jwt.js';
import { signResponseJwt, verifyResponseJwt } from '../../shared/callback/response-jwt.js';
import type { CallbackHttpOutcome } from '../../shared/callback/claims.js';
import { expectCosignerError } from '../support/expect-error.js';
import { makePki, rsaPair, startHttpServer, startHttpsServer, type RsaPair, type TestPki, type TestServer } from './support.js';

function expectFailure(out: CallbackHttpOutcome, code: string, status?: number): void {
  expect(out.ok, JSON.stringify(out)).to.equal(false);
  if (out.ok) return;
  expect(out.code, out.message).to.equal(code);
  if (status !== undefined) expect(out.status).to.equal(status);
}

describe('callback HTTP client', function () {
  this.timeout(30_000);
  const servers: TestServer[] = [];
  const serve = async (s: Promise<TestServer>): Promise<TestServer> => {
    const started = await s;
    servers.push(started);
    return started;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('defaults: 30 s total deadline, 1 MiB body cap, text/plain body', () => {
    expect(CALLBACK_TIMEOUT_MS).to.equal(30_000);
    expect(CALLBACK_MAX_RESPONSE_BYTES).to.equal(1_048_576);
    expect(CALLBACK_REQUEST_CONTENT_TYPE).to.equal('text/plain; charset=utf-8');
  });

  it('appends /v2/<endpoint> to the base URL and its own path, with no double slashes', () => {
    const ep = (base: string, kind: 'tx_sign_request' | 'config_change_sign_request' = 'tx_sign_request') => callbackEndpoint(base, kind).href;
    expect(ep('https://h.example')).to.equal('https://h.example/v2/tx_sign_request');
    expect(ep('https://h.example/')).to.equal('https://h.example/v2/tx_sign_request');
    expect(ep('https://h.example/hooks/acme')).to.equal('https://h.example/hooks/acme/v2/tx_sign_request');
    expect(ep('https://h.example/hooks/acme//', 'config_change_sign_request')).to.equal('https://h.example/hooks/acme/v2/config_change_sign_request');
    expect(ep('https://h.example:8443/a')).to.equal('https://h.example:8443/a/v2/tx_sign_request');
    expect(callbackEndpoint('http://127.0.0.1:9/x', 'tx_sign_request', { allowPlainHttp: true }).href).to.equal('http://127.0.0.1:9/x/v2/tx_sign_request');
  });

  it('refuses plain http without allowPlainHttp, other schemes, credentials, queries, fragments and non-URLs', () => {
    const reason = (base: string) => expectCosignerError(() => new CallbackClient({ baseUrl: base }), 'CALLBACK_URL_INVALID').details?.reason;
    expect(reason('http://h.example/hooks')).to.equal('plain-http');
    expect(reason('ftp://h.example')).to.equal('scheme');
    expect(reason('file:///etc/passwd')).to.equal('scheme');
    expect(reason('https://u:p@h.example')).to.equal('credentials');
    expect(reason('https://h.example/hooks?x=1')).to.equal('query');
    expect(reason('https://h.example/hooks?')).to.equal('query');
    expect(reason('https://h.example/hooks#f')).to.equal('query');
    expect(reason('h.example/hooks')).to.equal('malformed');
    expect(reason('')).to.equal('malformed');
  });

  it('plain http is refused before any connection unless allowPlainHttp is set', async () => {
    const s = await serve(startHttpServer((_r, res) => void res.end('x')));
    expectCosignerError(() => new CallbackClient({ baseUrl: s.url }), 'CALLBACK_URL_INVALID');
    expect(s.requests).to.have.length(0);
    const out = await new CallbackClient({ baseUrl: s.url, allowPlainHttp: true }).post('tx_sign_request', 'a.b.c');
    expect(out.ok).to.equal(true);
    expect(s.requests).to.have.length(1);
  });

  it('POSTs the JWT as text/plain to the path under a base URL that has a path, and returns the raw 200 body', async () => {
    const s = await serve(startHttpServer((_r, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('  the.raw.answer\n')));
    const client = new CallbackClient({ baseUrl: `${s.url}/hooks/acme/`, allowPlainHttp: true });
    const out = await client.post('tx_sign_request', 'eyJ.request.jwt');
    expect(out).to.deep.equal({ ok: true, status: 200, contentType: 'text/plain', body: new Uint8Array(Buffer.from('  the.raw.answer\n')) });
    const out2 = await client.post('config_change_sign_request', 'eyJ.cc.jwt');
    expect(out2.ok).to.equal(true);
    expect(s.requests.map((r) => [r.method, r.url, r.body])).to.deep.equal([
      ['POST', '/hooks/acme/v2/tx_sign_request', 'eyJ.request.jwt'],
      ['POST', '/hooks/acme/v2/config_change_sign_request', 'eyJ.cc.jwt'],
    ]);
    expect(s.requests[0]!.headers['content-type']).to.equal('text/plain; charset=utf-8');
    expect(s.requests[0]!.headers['content-length']).to.equal(String('eyJ.request.jwt'.length));
  });

  it('returns text/plain and application/json answers unchanged; the enclave verifies both', async () => {
    const handler = rsaPair();
    const jwt = signResponseJwt({ action: 'APPROVE', requestId: 'r1' }, handler.privateKey);
    const s = await serve(startHttpServer((r, res) => {
      if (r.url.includes('tx_sign')) res.writeHead(200, { 'content-type': 'text/plain' }).end(jwt);
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwt));
    }));
    const client = new CallbackClient({ baseUrl: s.url, allowPlainHttp: true });
    for (const [kind, ct] of [['tx_sign_request', 'text/plain'], ['config_change_sign_request', 'application/json']] as const) {
      const out = await client.post(kind, 'x.y.z');
      if (!out.ok) throw new Error(out.message);
      expect(out.contentType).to.equal(ct);
      expect((await verifyResponseJwt(out.body, { publicKey: handler.publicKey, expectedRequestId: 'r1', allowIgnore: false })).action).to.equal('APPROVE');
    }
  });

  it('a non-200 is a failure carrying the status; redirects are not followed', async () => {
    const s = await serve(startHttpServer((r, res) => {
      if (r.url.endsWith('tx_sign_request')) res.writeHead(500).end('boom');
      else res.writeHead(302, { location: '/elsewhere' }).end();
    }));
    const client = new CallbackClient({ baseUrl: s.url, allowPlainHttp: true });
    expectFailure(await client.post('tx_sign_request', 'a.b.c'), 'CALLBACK_HTTP_STATUS', 500);
    expectFailure(await client.post('config_change_sign_request', 'a.b.c'), 'CALLBACK_HTTP_STATUS', 302);
    expect(s.requests.map((r) => r.url)).to.deep.equal(['/v2/tx_sign_request', '/v2/config_change_sign_request']);
  });

  it('a body of exactly 1 MiB is returned; a 10 MB body is refused from its Content-Length without reading it', async () => {
    let wroteBig = false;
    const s = await serve(startHttpServer((r, res) => {
      if (r.url.endsWith('tx_sign_request')) {
        res.writeHead(200, { 'content-length': String(CALLBACK_MAX_RESPONSE_BYTES) }).end(Buffer.alloc(CALLBACK_MAX_RESPONSE_BYTES, 0x41));
        return;
      }
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write(Buffer.alloc(1024, 0x41), () => { wroteBig = true; });
      // the rest is never sent: the client must decide from the header alone
    }));
    const client = new CallbackClient({ baseUrl: s.url, allowPlainHttp: true, timeoutMs: 5_000 });
    const exact = await client.post('tx_sign_request', 'a.b.c');
    expect(exact.ok && exact.body.length).to.equal(CALLBACK_MAX_RESPONSE_BYTES);
    expect(exact.ok && exact.contentType, 'no Content-Type sent, none reported').to.equal(undefined);
    const t0 = Date.now();
    expectFailure(await client.post('config_change_sign_request', 'a.b.c'), 'CALLBACK_RESPONSE_TOO_LARGE');
    expect(Date.now() - t0, 'refused at once, not after the deadline').to.be.below(2_000);
    expect(wroteBig).to.equal(true);
  });

  it('a 10 MB chunked body is refused once it passes 1 MiB, and the rest is not read', async () => {
    const total = 10 * 1024 * 1024;
    let written = 0;
    let closedEarly: Promise<void> = Promise.resolve();
    const s = await serve(startHttpServer((_r, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }); // no Content-Length: chunked
      closedEarly = new Promise<void>((resolve) => res.on('close', () => resolve()));
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = (): void => {
        while (written < total && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (written >= total) res.end();
      };
      pump();
    }));
    const out = await new CallbackClient({ baseUrl: s.url, allowPlainHttp: true, timeoutMs: 10_000 }).post('tx_sign_request', 'a.b.c');
    expectFailure(out, 'CALLBACK_RESPONSE_TOO_LARGE');
    await closedEarly;
    expect(written, 'the server could not push all 10 MB into a client that stopped reading').to.be.below(total);
  });

  it('no answer within the deadline is CALLBACK_TIMEOUT', async () => {
    const s = await serve(startHttpServer(() => { /* never answers */ }));
    const t0 = Date.now();
    expectFailure(await new CallbackClient({ baseUrl: s.url, allowPlainHttp: true, timeoutMs: 300 }).post('tx_sign_request', 'a.b.c'), 'CALLBACK_TIMEOUT');
    const took = Date.now() - t0;
    expect(took).to.be.at.least(290);
    expect(took).to.be.below(3_000);
  });

  it('a slow drip that has not finished by the deadline is CALLBACK_TIMEOUT, although bytes keep coming', async () => {
    const timers: NodeJS.Timeout[] = [];
    let dripped = 0;
    const s = await serve(startHttpServer((_r, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const t = setInterval(() => {
        if (res.destroyed) return clearInterval(t);
        dripped++;
        res.write('A');
      }, 20);
      timers.push(t);
      res.on('close', () => clearInterval(t));
    }));
    try {
      const t0 = Date.now();
      expectFailure(await new CallbackClient({ baseUrl: s.url, allowPlainHttp: true, timeoutMs: 400 }).post('tx_sign_request', 'a.b.c'), 'CALLBACK_TIMEOUT');
      expect(Date.now() - t0).to.be.below(3_000);
      expect(dripped, 'bytes were arriving all along').to.be.above(5);
    } finally {
      timers.forEach(clearInterval);
    }
  });

  it('a refused connection and a connection cut mid-body are CALLBACK_UNREACHABLE', async () => {
    const s = await serve(startHttpServer((_r, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part', () => (res.socket as Socket).destroy());
    }));
    expectFailure(await new CallbackClient({ baseUrl: s.url, allowPlainHttp: true }).post('tx_sign_request', 'a.b.c'), 'CALLBACK_UNREACHABLE');
    const gone = await startHttpServer(() => undefined);
    await gone.close();
    expectFailure(await new CallbackClient({ baseUrl: gone.url, allowPlainHttp: true }).post('tx_sign_request', 'a.b.c'), 'CALLBACK_UNREACHABLE');
  });

  describe('over HTTPS', () => {
    let pki: TestPki;
    before(function () {
      this.timeout(30_000);
      pki = makePki();
    });

    it('works with the pinned CA, and fails against the default trust store or another pinned CA', async () => {
      const s = await serve(startHttpsServer({ key: pki.leafKey, cert: pki.leafCert }, (_r, res) => void res.writeHead(200).end('tls.ok.jwt')));
      const pinned = await new CallbackClient({ baseUrl: `${s.url}/hooks`, caPem: pki.caPem }).post('tx_sign_request', 'a.b.c');
      expect(pinned.ok && Buffer.from(pinned.body).toString()).to.equal('tls.ok.jwt');
      expect(s.requests.map((r) => r.url)).to.deep.equal(['/hooks/v2/tx_sign_request']);
      expectFailure(await new CallbackClient({ baseUrl: s.url }).post('tx_sign_request', 'a.b.c'), 'CALLBACK_UNREACHABLE');
      expectFailure(await new CallbackClient({ baseUrl: s.url, caPem: pki.otherCaPem }).post('tx_sign_request', 'a.b.c'), 'CALLBACK_UNREACHABLE');
      expect(s.requests, 'nothing reached the handler over an untrusted connection').to.have.length(1);
    });

    it('works with a pinned self-signed certificate; the host name is still checked', async () => {
      const s = await serve(startHttpsServer({ key: pki.selfSignedKey, cert: pki.selfSignedCert }, (_r, res) => void res.writeHead(200).end('ss.ok.jwt')));
      const out = await new CallbackClient({ baseUrl: s.url, caPem: pki.selfSignedCert }).post('tx_sign_request', 'a.b.c');
      expect(out.ok && Buffer.from(out.body).toString()).to.equal('ss.ok.jwt');
      const byName = await new CallbackClient({ baseUrl: `https://localhost:${s.port}`, caPem: pki.selfSignedCert }).post('tx_sign_request', 'a.b.c');
      expectFailure(byName, 'CALLBACK_UNREACHABLE');
      expect(!byName.ok && byName.message).to.match(/ALTNAME|altname|Hostname/i);
    });
  });

  describe('end to end with the approval machine and a signing handler', () => {
    let cosigner: RsaPair;
    let handler: RsaPair;
    before(() => {
      cosigner = rsaPair();
      handler = rsaPair();
    });

    /** A handler that verifies the co-signer's JWT, then answers from a script of actions. */
    function signingHandler(actions: Array<'APPROVE' | 'REJECT' | 'RETRY'>, contentType = 'text/plain') {
      return startHttpServer(async (r, res) => {
        const claims = await verifyRequestJwt(r.body, cosigner.publicKey).catch(() => undefined);
        if (!claims) return void res.writeHead(401).end();
        const action = actions.length > 1 ? actions.shift()! : actions[0]!;
        const jwt = signResponseJwt({ action, requestId: String(claims.requestId), ...(action === 'REJECT' ? { rejectionReason: 'policy' } : {}) }, handler.privateKey);
        res.writeHead(200, { 'content-type': contentType }).end(contentType === 'application/json' ? JSON.stringify(jwt) : jwt);
      });
    }

    const request = (requestId: string) => ({
      callbackPublicKey: handler.publicKey,
      requestJwt: signRequestJwt({ requestId, type: 'UNMANAGED_WALLET', extraInfo: { address: '0xabc' } }, cosigner.privateKey),
      requestId,
      allowIgnore: false,
    });

    it('RETRY, RETRY, APPROVE with a real 60 ms interval: the same JWT three times, then approved', async () => {
      const s = await serve(signingHandler(['RETRY', 'RETRY', 'APPROVE'], 'application/json'));
      const client = new CallbackClient({ baseUrl: `${s.url}/cb`, allowPlainHttp: true });
      const req = request('e2e-1');
      const t0 = Date.now();
      const out = await runApproval(req, { send: (jwt) => client.post('config_change_sign_request', jwt), ...realClock }, { retryIntervalMs: 60 });
      expect(out).to.deep.equal({ decision: 'APPROVED', attempts: 3 });
      expect(Date.now() - t0).to.be.at.least(110);
      expect(s.requests.map((r) => r.body)).to.deep.equal([req.requestJwt, req.requestJwt, req.requestJwt]);
      expect(new Set(s.requests.map((r) => r.url))).to.deep.equal(new Set(['/cb/v2/config_change_sign_request']));
    });

    it('REJECT comes back with the reason; a handler that does not know the co-signer key fails the request', async () => {
      const s = await serve(signingHandler(['REJECT']));
      const client = new CallbackClient({ baseUrl: s.url, allowPlainHttp: true });
      expect(await runApproval(request('e2e-2'), { send: (jwt) => client.post('tx_sign_request', jwt), ...realClock })).to.deep.equal({ decision: 'REJECTED', attempts: 1, reason: 'policy' });
      const forged = { ...request('e2e-3'), requestJwt: signRequestJwt({ requestId: 'e2e-3', type: 'X', extraInfo: {} }, rsaPair().privateKey) };
      expect(await runApproval(forged, { send: (jwt) => client.post('tx_sign_request', jwt), ...realClock })).to.include({ decision: 'FAILED', code: 'CALLBACK_HTTP_STATUS', status: 401 });
    });

    it('a handler that never answers fails the request after the deadline, with exactly one POST', async () => {
      const s = await serve(startHttpServer(() => { /* hangs */ }));
      const client = new CallbackClient({ baseUrl: s.url, allowPlainHttp: true, timeoutMs: 250 });
      const out = await runApproval(request('e2e-4'), { send: (jwt) => client.post('tx_sign_request', jwt), ...realClock }, { retryIntervalMs: 10 });
      expect(out).to.include({ decision: 'FAILED', code: 'CALLBACK_TIMEOUT', attempts: 1 });
      expect(s.requests).to.have.length(1);
    });
  });
});
