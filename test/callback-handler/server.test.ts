// The handler over real HTTP on 127.0.0.1 with real RSA keys: what the co-signer sends, what it gets
// back, and that nothing but a request signed by the co-signer's key obtains a signed answer.
import { expect } from 'chai';
import { request } from 'node:http';
import { importSPKI, jwtVerify, SignJWT, decodeProtectedHeader } from 'jose';
import { loadCosignerPublicKey, loadHandlerPrivateKey, verifyAnswer } from '../../callback-handler/protocol.js';
import { allowlistRule, amountLimitRule, composeRules, fixedConfigChangeRule, type ConfigChangeRule, type Rule } from '../../callback-handler/rules.js';
import { startHandler, type RunningHandler } from '../../callback-handler/server.js';
import { b64url, captureLogger, post, rsaPems, signRequest, txClaims, type Pems } from './helpers.js';

const ALLOWED = '0x' + 'aB'.repeat(20);

describe('callback handler server', function () {
  this.timeout(30_000);
  let cosigner: Pems;
  let handlerKeys: Pems;
  let stranger: Pems;
  let running: RunningHandler | undefined;
  let logs: string[];

  before(() => {
    cosigner = rsaPems();
    handlerKeys = rsaPems();
    stranger = rsaPems();
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function start(opts: { rules?: Rule[]; configChangeRule?: ConfigChangeRule; basePath?: string; bodyLimit?: number } = {}): Promise<string> {
    const cap = captureLogger();
    logs = cap.lines;
    running = await startHandler({
      cosignerPublicKey: await loadCosignerPublicKey(cosigner.publicPem),
      handlerPrivateKey: await loadHandlerPrivateKey(handlerKeys.privatePem),
      txRule: composeRules(opts.rules ?? [amountLimitRule({ ETH: '1' }), allowlistRule([ALLOWED])]),
      configChangeRule: opts.configChangeRule ?? fixedConfigChangeRule('APPROVE'),
      logger: cap.logger,
      ...(opts.basePath ? { basePath: opts.basePath } : {}),
      ...(opts.bodyLimit ? { bodyLimit: opts.bodyLimit } : {}),
    });
    expect(running.url).to.match(/^http:\/\/127\.0\.0\.1:\d+/);
    return running.url;
  }

  // What a co-signer does with the answer: verify under the handler's public key with no claim
  // requirements (no iat, no exp), and check it answers this request.
  async function answerOf(res: { status: number; text: string; contentType: string | null }, requestId: string) {
    expect(res.status, res.text).to.equal(200);
    expect(res.contentType).to.match(/^text\/plain/);
    const key = await importSPKI(handlerKeys.publicPem, 'RS256');
    const { payload, protectedHeader } = await jwtVerify(res.text, key, { algorithms: ['RS256'] });
    expect(protectedHeader.alg).to.equal('RS256');
    expect(payload.requestId).to.equal(requestId);
    expect(Object.keys(payload).sort()).to.satisfy((k: string[]) => k.every((x) => ['action', 'requestId', 'rejectionReason'].includes(x)));
    return payload as { action: string; requestId: string; rejectionReason?: string };
  }

  async function send(url: string, claims: Record<string, unknown>, key = cosigner.privatePem) {
    return post(`${url}/v2/tx_sign_request`, await signRequest(claims, key));
  }

  it('approves a transfer under the limit to an allowlisted address; the answer verifies and names the request', async () => {
    const url = await start();
    const claims = txClaims({ asset: 'ETH', amountStr: '0.999999999999999999', destAddress: ALLOWED.toLowerCase() });
    const a = await answerOf(await send(url, claims), claims.requestId as string);
    expect(a).to.deep.equal({ action: 'APPROVE', requestId: claims.requestId });
    // The protocol helper a co-signer would use agrees, and a foreign key does not verify it.
    const res = await send(url, claims);
    expect(await verifyAnswer(res.text, await importSPKI(handlerKeys.publicPem, 'RS256'))).to.deep.equal(a);
    let foreign: unknown;
    await verifyAnswer(res.text, await importSPKI(stranger.publicPem, 'RS256')).catch((e: unknown) => (foreign = e));
    expect(foreign).to.be.instanceOf(Error);
    // One decision line, with the requestId and action, and neither JWT.
    const line = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'decision');
    expect(line).to.include({ requestId: claims.requestId, action: 'APPROVE', kind: 'tx_sign_request' });
    expect(logs.join('')).to.not.include(res.text.split('.')[2]);
    expect(logs.join('')).to.not.include('BEGIN');
  });

  it('rejects a transfer over the limit by the smallest unit: "1.000000000000000001" against "1"', async () => {
    const url = await start();
    const claims = txClaims({ asset: 'ETH', amountStr: '1.000000000000000001', destAddress: ALLOWED });
    const a = await answerOf(await send(url, claims), claims.requestId as string);
    expect(a.action).to.equal('REJECT');
    expect(a.rejectionReason).to.equal('amount 1.000000000000000001 ETH is over the limit 1');
    const exact = txClaims({ asset: 'ETH', amountStr: '1', destAddress: ALLOWED });
    expect((await answerOf(await send(url, exact), exact.requestId as string)).action).to.equal('APPROVE');
    const line = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === claims.requestId);
    expect(line).to.include({ action: 'REJECT', reason: 'amount 1.000000000000000001 ETH is over the limit 1' });
  });

  it('allowlist: a listed address (any case, EVM) is approved, an unlisted one rejected', async () => {
    const url = await start();
    const hit = txClaims({ destAddress: ALLOWED.toUpperCase().replace('0X', '0x'), amountStr: '0.1' });
    expect((await answerOf(await send(url, hit), hit.requestId as string)).action).to.equal('APPROVE');
    const miss = txClaims({ destAddress: '0x' + '99'.repeat(20), amountStr: '0.1' });
    const a = await answerOf(await send(url, miss), miss.requestId as string);
    expect(a.action).to.equal('REJECT');
    expect(a.rejectionReason).to.match(/not on the allowlist/);
  });

  it('a rule can ask for RETRY; a REJECT from another rule still wins', async () => {
    const retry: Rule = (c) => (c.note === 'later' ? { action: 'RETRY', reason: 'policy engine busy' } : { action: 'APPROVE' });
    const url = await start({ rules: [retry, amountLimitRule({ ETH: '1' })] });
    const later = txClaims({ note: 'later', amountStr: '0.1' });
    const a = await answerOf(await send(url, later), later.requestId as string);
    expect(a).to.deep.equal({ action: 'RETRY', requestId: later.requestId });
    const both = txClaims({ note: 'later', amountStr: '2' });
    expect((await answerOf(await send(url, both), both.requestId as string)).action).to.equal('REJECT');
    const now = txClaims({ note: 'now', amountStr: '0.1' });
    expect((await answerOf(await send(url, now), now.requestId as string)).action).to.equal('APPROVE');
  });

  it('a request signed by another RSA key gets 401 and no JWT, and the log says why', async () => {
    const url = await start();
    const claims = txClaims({ destAddress: ALLOWED });
    const res = await send(url, claims, stranger.privatePem);
    expect(res.status).to.equal(401);
    expect(res.text).to.equal('unauthorized\n');
    expect(logs.join('')).to.include('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    expect(logs.join('')).to.not.include(claims.requestId as string);
  });

  it('alg "none" tokens get 401, with or without a signature part', async () => {
    const url = await start();
    const claims = txClaims({ destAddress: ALLOWED });
    const unsigned = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`;
    const withSig = unsigned + 'AAAA';
    for (const body of [unsigned, withSig]) {
      const res = await post(`${url}/v2/tx_sign_request`, body);
      expect(res.status, body).to.equal(401);
      expect(res.text).to.not.match(/\./);
    }
    expect(logs.join('')).to.include('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('HS256 tokens get 401, including one keyed with the co-signer public key PEM (key confusion)', async () => {
    const url = await start();
    const claims = txClaims({ destAddress: ALLOWED });
    for (const secret of [cosigner.publicPem, 'shared-secret-shared-secret-shared']) {
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
      expect(decodeProtectedHeader(token).alg).to.equal('HS256');
      const res = await post(`${url}/v2/tx_sign_request`, token);
      expect(res.status).to.equal(401);
    }
    // Also RS512 under the right key: only RS256 is accepted.
    const { importPKCS8 } = await import('jose');
    const rs512 = await new SignJWT(claims).setProtectedHeader({ alg: 'RS512' }).sign(await importPKCS8(cosigner.privatePem, 'RS512'));
    expect((await post(`${url}/v2/tx_sign_request`, rs512)).status).to.equal(401);
  });

  it('garbage bodies get 401; a signed request without requestId gets 400; an expired one 401', async () => {
    const url = await start();
    for (const body of ['', 'hello', '{"requestId":"x"}', 'a.b', 'a.b.c.d', Buffer.from([0xff, 0x00, 0xfe]) as Buffer | string]) {
      const res = await post(`${url}/v2/tx_sign_request`, body);
      expect(res.status, String(body)).to.equal(401);
    }
    const noId = await send(url, { asset: 'ETH', amountStr: '0.1' });
    expect(noId.status).to.equal(400);
    expect(noId.text).to.equal('bad request\n');
    const numId = await send(url, { requestId: 7 });
    expect(numId.status).to.equal(400);
    const expired = txClaims({ destAddress: ALLOWED, exp: Math.floor(Date.now() / 1000) - 3600 });
    expect((await send(url, expired)).status).to.equal(401);
    expect(logs.join('')).to.include('ERR_JWT_EXPIRED');
    // exp in the future is fine, and no iat is needed.
    const fresh = txClaims({ destAddress: ALLOWED, amountStr: '0.1', exp: Math.floor(Date.now() / 1000) + 60 });
    expect((await answerOf(await send(url, fresh), fresh.requestId as string)).action).to.equal('APPROVE');
  });

  it('bodies over the limit get 413, declared or streamed, and the server keeps serving', async () => {
    const url = await start({ bodyLimit: 64 * 1024 });
    const big = 'A'.repeat(64 * 1024 + 1);
    expect((await post(`${url}/v2/tx_sign_request`, big)).status).to.equal(413);
    // Chunked, with no Content-Length: the limit applies while reading.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${url}/v2/tx_sign_request`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('B'.repeat(10 * 1024));
      req.end();
    });
    expect(status).to.equal(413);
    // Exactly at the limit is read (and then refused as not a JWT).
    expect((await post(`${url}/v2/tx_sign_request`, 'A'.repeat(64 * 1024))).status).to.equal(401);
    const ok = txClaims({ destAddress: ALLOWED, amountStr: '0.1' });
    expect((await answerOf(await send(url, ok), ok.requestId as string)).action).to.equal('APPROVE');
  });

  it('serves under a base path: only {base}/v2/... answers, everything else is 404; GET is 405', async () => {
    const url = await start({ basePath: '/hooks/acme/' });
    expect(url).to.match(/\/hooks\/acme$/);
    const origin = new URL(url).origin;
    const claims = txClaims({ destAddress: ALLOWED, amountStr: '0.1' });
    const token = await signRequest(claims, cosigner.privatePem);
    expect((await answerOf(await post(`${origin}/hooks/acme/v2/tx_sign_request`, token), claims.requestId as string)).action).to.equal('APPROVE');
    expect((await answerOf(await post(`${origin}/hooks/acme/v2/tx_sign_request?x=1`, token), claims.requestId as string)).action).to.equal('APPROVE');
    for (const p of ['/v2/tx_sign_request', '/hooks/v2/tx_sign_request', '/hooks/acme/v2/tx_sign_request/', '/hooks/acme/v2/other', '/hooks/acmex/v2/tx_sign_request', '/']) {
      const res = await post(origin + p, token);
      expect(res.status, p).to.equal(404);
    }
    const get = await fetch(`${origin}/hooks/acme/v2/tx_sign_request`);
    expect(get.status).to.equal(405);
    expect(get.headers.get('allow')).to.equal('POST');
  });

  it('config-change requests: approved by default, or as the configured rule says', async () => {
    let url = await start();
    const cc = { requestId: 'cc-1', type: 'ADD_WHITELISTED_ADDRESS', extraInfo: { address: '0x' + '11'.repeat(20) } };
    let res = await post(`${url}/v2/config_change_sign_request`, await signRequest(cc, cosigner.privatePem));
    expect(await answerOf(res, 'cc-1')).to.deep.equal({ action: 'APPROVE', requestId: 'cc-1' });
    // The config-change endpoint verifies as strictly as the other.
    res = await post(`${url}/v2/config_change_sign_request`, await signRequest(cc, stranger.privatePem));
    expect(res.status).to.equal(401);
    await running!.close();

    url = await start({ configChangeRule: fixedConfigChangeRule('REJECT') });
    res = await post(`${url}/v2/config_change_sign_request`, await signRequest({ ...cc, requestId: 'cc-2' }, cosigner.privatePem));
    const a = await answerOf(res, 'cc-2');
    expect(a.action).to.equal('REJECT');
    expect(a.rejectionReason).to.be.a('string').and.not.empty;
    await running!.close();

    url = await start({ configChangeRule: (c) => (c.type === 'SKIP' ? { action: 'IGNORE' } : { action: 'APPROVE' }) });
    res = await post(`${url}/v2/config_change_sign_request`, await signRequest({ requestId: 'cc-3', type: 'SKIP' }, cosigner.privatePem));
    expect(await answerOf(res, 'cc-3')).to.deep.equal({ action: 'IGNORE', requestId: 'cc-3' });
  });

  it('refuses to start with a key that is not RSA-2048', async () => {
    const small = rsaPems(1024);
    let err: unknown;
    await loadCosignerPublicKey(small.publicPem).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/RSA-1024/);
    const { generateKeyPairSync } = await import('node:crypto');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    err = undefined;
    await loadHandlerPrivateKey(ec).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/not an RSA key/);
  });
});
