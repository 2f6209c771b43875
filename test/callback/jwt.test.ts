// The callback JWTs (shared/callback/): the request the enclave signs, and every way a response can
// fail to be the handler's RS256 answer to this exact request (DESIGN.md "Callback handler").
import { expect } from 'chai';
import { generateKeyPairSync, verify as rsaVerify, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { signRequestJwt, verifyRequestJwt } from '../../shared/callback/request-jwt.js';
import { CALLBACK_RESPONSE_MAX_BYTES, extractResponseToken, signResponseJwt, verifyResponseJwt } from '../../shared/callback/response-jwt.js';
import type { ConfigChangeRequestClaims, TxSignRequestClaims } from '../../shared/callback/claims.js';
import { expectCosignerError, expectCosignerRejection } from '../support/expect-error.js';
import { algNoneToken, hs256Token, rsaPair, type RsaPair } from './support.js';

const txClaims: TxSignRequestClaims = {
  requestId: 'req-1',
  txId: '9c794cee-7e27-46c9-9e9a-ed68295ff06b',
  operation: 'TRANSFER',
  sourceType: 'VAULT',
  sourceId: '0',
  destType: 'ONE_TIME_ADDRESS',
  destId: '',
  destAddress: '0x52908400098527886E0F7030069857D2E4169EE7',
  asset: 'ETH_TEST5',
  amountStr: '0.01',
  destinations: [{ amountNativeStr: '0.01', dstType: 'ONE_TIME_ADDRESS', displayDstAddress: '0x52908400098527886E0F7030069857D2E4169EE7' }],
  rawTx: [{ payload: 'ab'.repeat(32), derivationPath: [44, 60, 0, 0, 0] }],
  signerId: 'api-user-1',
  note: 'payout',
};

const decodePart = (token: string, i: number): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[i]!, 'base64url').toString('utf8'));

describe('callback request JWT', () => {
  let cosigner: RsaPair;
  before(() => {
    cosigner = rsaPair();
  });

  it('is a compact RS256 JWT of exactly the claims, verifiable with the co-signer public key, and deterministic', async () => {
    const jwt = signRequestJwt(txClaims, cosigner.privateKey);
    expect(jwt.split('.')).to.have.length(3);
    expect(decodePart(jwt, 0)).to.deep.equal({ alg: 'RS256', typ: 'JWT' });
    expect(decodePart(jwt, 1)).to.deep.equal(txClaims);
    const [h, p, s] = jwt.split('.');
    expect(rsaVerify('sha256', Buffer.from(`${h}.${p}`), cosigner.publicKey, Buffer.from(s!, 'base64url'))).to.equal(true);
    expect(await verifyRequestJwt(jwt, cosigner.publicKey)).to.deep.equal(txClaims);
    expect(signRequestJwt(txClaims, cosigner.privateKey), 'the same request signs to the same token (RETRY resends it)').to.equal(jwt);
    expect(signRequestJwt({ ...txClaims, requestId: 'req-2' }, cosigner.privateKey)).to.not.equal(jwt);
  });

  it('config-change claims sign too, and iat is added only when asked', async () => {
    const cc: ConfigChangeRequestClaims = { requestId: 'cc-1', type: 'UNMANAGED_WALLET', extraInfo: { walletName: 'cold', address: 'bc1q' } };
    expect(decodePart(signRequestJwt(cc, cosigner.privateKey), 1)).to.deep.equal(cc);
    expect(decodePart(signRequestJwt(cc, cosigner.privateKey, { issuedAtSeconds: 1_700_000_000 }), 1)).to.deep.equal({ ...cc, iat: 1_700_000_000 });
  });

  it('the handler side refuses a request signed by another key or tampered with', async () => {
    const jwt = signRequestJwt(txClaims, rsaPair().privateKey);
    const e = await expectCosignerRejection(verifyRequestJwt(jwt, cosigner.publicKey), 'TOKEN_INVALID');
    expect(e.details?.reason).to.equal('signature');
    const good = signRequestJwt(txClaims, cosigner.privateKey).split('.');
    const tampered = `${good[0]}.${Buffer.from(JSON.stringify({ ...txClaims, amountStr: '100' })).toString('base64url')}.${good[2]}`;
    await expectCosignerRejection(verifyRequestJwt(tampered, cosigner.publicKey), 'TOKEN_INVALID');
  });

  it('refuses to sign with anything but an RSA private key of 2048 bits or more, or without a requestId', () => {
    const short = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expectCosignerError(() => signRequestJwt(txClaims, short.privateKey), 'CONFIG_INVALID');
    expectCosignerError(() => signRequestJwt(txClaims, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), 'CONFIG_INVALID');
    expectCosignerError(() => signRequestJwt(txClaims, cosigner.publicKey), 'CONFIG_INVALID');
    expectCosignerError(() => signRequestJwt({ ...txClaims, requestId: '' }, cosigner.privateKey), 'SCHEMA_VIOLATION');
  });
});

describe('callback response JWT', () => {
  let handler: RsaPair;
  let other: RsaPair;
  const ok = { expectedRequestId: 'req-1', allowIgnore: false };
  before(() => {
    handler = rsaPair();
    other = rsaPair();
  });

  async function refused(body: Uint8Array | string, reason: string, opts: Partial<typeof ok> & { nowMs?: number } = {}): Promise<void> {
    const e = await expectCosignerRejection(verifyResponseJwt(body, { publicKey: handler.publicKey, ...ok, ...opts }), 'CALLBACK_RESPONSE_INVALID');
    expect(e.details?.reason, e.message).to.equal(reason);
  }

  it('accepts APPROVE, REJECT with its reason and RETRY, with no iat or exp', async () => {
    const approve = signResponseJwt({ action: 'APPROVE', requestId: 'req-1' }, handler.privateKey);
    expect(decodePart(approve, 1), 'the token really carries no iat/exp').to.deep.equal({ action: 'APPROVE', requestId: 'req-1' });
    expect(await verifyResponseJwt(approve, { publicKey: handler.publicKey, ...ok })).to.deep.equal({ action: 'APPROVE', requestId: 'req-1' });
    const reject = signResponseJwt({ action: 'REJECT', requestId: 'req-1', rejectionReason: 'over the daily limit' }, handler.privateKey);
    expect(await verifyResponseJwt(reject, { publicKey: handler.publicKey, ...ok })).to.deep.equal({ action: 'REJECT', requestId: 'req-1', rejectionReason: 'over the daily limit' });
    const retry = signResponseJwt({ action: 'RETRY', requestId: 'req-1' }, handler.privateKey);
    expect((await verifyResponseJwt(retry, { publicKey: handler.publicKey, ...ok })).action).to.equal('RETRY');
  });

  it('accepts a token made by jose with iat and a future exp, as handlers using a JWT library send', async () => {
    const jwt = await new SignJWT({ action: 'APPROVE', requestId: 'req-1' }).setProtectedHeader({ alg: 'RS256' }).setIssuedAt().setExpirationTime('2m').sign(handler.privateKey);
    expect((await verifyResponseJwt(jwt, { publicKey: handler.publicKey, ...ok })).action).to.equal('APPROVE');
  });

  it('accepts the body as bare text or as a JSON string, in bytes or text, with whitespace around either', async () => {
    const jwt = signResponseJwt({ action: 'APPROVE', requestId: 'req-1' }, handler.privateKey);
    for (const body of [jwt, `  ${jwt}\r\n`, JSON.stringify(jwt), ` ${JSON.stringify(` ${jwt}\n`)}\n`, new TextEncoder().encode(`${jwt}\n`), new TextEncoder().encode(JSON.stringify(jwt))]) {
      expect((await verifyResponseJwt(body, { publicKey: handler.publicKey, ...ok })).action).to.equal('APPROVE');
    }
    expect(extractResponseToken(` "${jwt}" `)).to.equal(jwt);
  });

  it('refuses a JWT signed by another key, and a tampered one', async () => {
    await refused(signResponseJwt({ action: 'APPROVE', requestId: 'req-1' }, other.privateKey), 'signature');
    const [h, , s] = signResponseJwt({ action: 'REJECT', requestId: 'req-1' }, handler.privateKey).split('.');
    await refused(`${h}.${Buffer.from(JSON.stringify({ action: 'APPROVE', requestId: 'req-1' })).toString('base64url')}.${s}`, 'signature');
  });

  it('refuses alg none, HS256 keyed with the public key, and RS512/PS256 under the right key', async () => {
    await refused(algNoneToken({ action: 'APPROVE', requestId: 'req-1' }), 'algorithm');
    await refused(`${algNoneToken({ action: 'APPROVE', requestId: 'req-1' })}AAAA`, 'algorithm');
    await refused(hs256Token({ action: 'APPROVE', requestId: 'req-1' }, handler.publicKey), 'algorithm');
    for (const alg of ['RS512', 'PS256']) {
      const jwt = await new SignJWT({ action: 'APPROVE', requestId: 'req-1' }).setProtectedHeader({ alg }).sign(handler.privateKey);
      await refused(jwt, 'algorithm');
    }
  });

  it('refuses an answer to another request, and actions outside the allowed set', async () => {
    await refused(signResponseJwt({ action: 'APPROVE', requestId: 'req-2' }, handler.privateKey), 'request-id');
    await refused(signResponseJwt({ action: 'APPROVE', requestId: '' }, handler.privateKey), 'request-id');
    const sign = (c: unknown) => signResponseJwt(c as never, handler.privateKey);
    await refused(sign({ action: 'APPROVE' }), 'claims');
    await refused(sign({ action: 'APPROVE', requestId: 1 }), 'claims');
    for (const action of ['ALLOW', 'approve', '', null, 1]) await refused(sign({ action, requestId: 'req-1' }), 'action');
    await refused(sign({ requestId: 'req-1' }), 'action');
    const ignore = sign({ action: 'IGNORE', requestId: 'req-1' });
    await refused(ignore, 'action');
    expect((await verifyResponseJwt(ignore, { publicKey: handler.publicKey, expectedRequestId: 'req-1', allowIgnore: true })).action).to.equal('IGNORE');
    await refused(sign({ action: 'REJECT', requestId: 'req-1', rejectionReason: { why: 1 } }), 'claims');
    expect(await verifyResponseJwt(sign({ action: 'REJECT', requestId: 'req-1', rejectionReason: null }), { publicKey: handler.publicKey, ...ok })).to.deep.equal({ action: 'REJECT', requestId: 'req-1' });
  });

  it('enforces exp and nbf against the given clock', async () => {
    const now = 1_800_000_000_000;
    const jwt = signResponseJwt({ action: 'APPROVE', requestId: 'req-1' }, handler.privateKey, { issuedAtSeconds: now / 1000 - 10, expiresAtSeconds: now / 1000 + 60 });
    expect((await verifyResponseJwt(jwt, { publicKey: handler.publicKey, ...ok, nowMs: now })).action).to.equal('APPROVE');
    await refused(jwt, 'expired', { nowMs: now + 60_000 });
    await refused(jwt, 'expired', { nowMs: now + 3_600_000 });
    await refused(signResponseJwt({ action: 'APPROVE', requestId: 'req-1', nbf: now / 1000 + 30 } as never, handler.privateKey), 'not-yet-valid', { nowMs: now });
    await refused(signResponseJwt({ action: 'APPROVE', requestId: 'req-1', exp: 'soon' } as never, handler.privateKey), 'claims');
  });

  it('refuses garbage bodies with a typed error, never an untyped throw', async () => {
    const sig = signResponseJwt({ action: 'APPROVE', requestId: 'req-1' }, handler.privateKey).split('.')[2]!;
    const cases: Array<Uint8Array | string> = [
      '', '   ', 'hello', 'OK', '<html>approved</html>', '{"action":"APPROVE","requestId":"req-1"}', '"', '""', '"a.b.c', '42', '"x.y"', 'a.b', 'a.b.c.d',
      `${Buffer.from('not json').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.${sig}`,
      `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('[1,2]').toString('base64url')}.${sig}`,
      new Uint8Array([0xff, 0xfe, 0x00, 0x80]),
      new Uint8Array(randomBytes(512)),
    ];
    for (const body of cases) {
      const e = await expectCosignerRejection(verifyResponseJwt(body, { publicKey: handler.publicKey, ...ok }), 'CALLBACK_RESPONSE_INVALID');
      expect(['malformed', 'algorithm', 'signature']).to.include(e.details?.reason);
    }
    await refused('a.b.c', 'malformed');
    await refused(new Uint8Array([0xff, 0xfe]), 'malformed');
  });

  it('refuses a body over 1 MiB before parsing it', async () => {
    expect(CALLBACK_RESPONSE_MAX_BYTES).to.equal(1024 * 1024);
    await refused(new Uint8Array(CALLBACK_RESPONSE_MAX_BYTES + 1).fill(0x41), 'too-large');
    await refused('A'.repeat(CALLBACK_RESPONSE_MAX_BYTES + 1), 'too-large');
    await refused(new Uint8Array(CALLBACK_RESPONSE_MAX_BYTES).fill(0x41), 'malformed');
  });
});
