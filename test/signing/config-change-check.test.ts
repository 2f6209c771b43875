// What the enclave checks on a configuration change before its callback handler is asked
// (enclave/config/config-change-check.ts): the initiator is paired here and an Admin by its sealed
// role, the request's JWT verifies under the initiator's sealed key and names its API key, path and
// body, it is recent and not replayed, and it is the route of the change's type. Every refusal is
// CONFIG_CHANGE_REFUSED with its reason, and consumes nothing.
import { expect } from 'chai';
import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { checkConfigChange, MAX_REQUEST_AGE_MS } from '../../enclave/config/config-change-check.js';
import { ConsumedRequests } from '../../enclave/signing/work-item-check.js';
import { createInitialState, type EnclaveState, type Pairing } from '../../enclave/state.js';
import type { ConfigChangePayload, ConfigChangeType } from '../../shared/cosigner-api/config-change.js';
import { expectCosignerRejection } from '../support/expect-error.js';

const COORDINATOR = 'ab'.repeat(32);
const WORKSPACE = 'ws-1';
const NOW = 1_800_000_000_000;

interface User {
  id: string;
  apiKey: string;
  role: string;
  key: KeyObject;
  spki: Uint8Array;
}

function user(role: string): User {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { id: `u-${randomUUID().slice(0, 8)}`, apiKey: randomUUID(), role, key: privateKey, spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })) };
}

function pairing(u: User, o: Partial<Pairing> = {}): Pairing {
  return {
    tokenId: randomUUID(), coordinatorUrl: 'https://coordinator.example', serviceKeySha256: COORDINATOR, serviceKeySpki: new Uint8Array(44), status: 'active',
    cosignerId: 'cs-1', workspaceId: WORKSPACE, userId: u.id, createdAt: 1, userPublicKeySpki: u.spki, apiKey: u.apiKey, role: u.role, ...o,
  };
}

/** The request as the Fireblocks SDKs sign it (uri, nonce, iat, exp, sub, bodyHash; RS256). */
async function signed(u: User, method: string, path: string, body: unknown, o: { iat?: number; sub?: string; uri?: string; bodyHash?: string; nonce?: string; key?: KeyObject } = {}): Promise<ConfigChangePayload['request']> {
  const text = JSON.stringify(body);
  const iat = o.iat ?? Math.floor(NOW / 1000);
  const jwt = await new SignJWT({ uri: o.uri ?? path, nonce: o.nonce ?? randomUUID(), iat, exp: iat + 55, sub: o.sub ?? u.apiKey, bodyHash: o.bodyHash ?? createHash('sha256').update(text).digest('hex') })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .sign(o.key ?? u.key);
  return { method: method as ConfigChangePayload['request']['method'], path, body: text, jwt };
}

const change = (type: ConfigChangeType, initiator: User, request: ConfigChangePayload['request']): ConfigChangePayload =>
  ({ changeId: randomUUID(), type, initiatorId: initiator.id, request, displayInfo: 'wallet cold' });

describe('enclave: configuration change checks (initiator, signed request, route)', function () {
  this.timeout(30_000);
  const admin = user('ADMIN');
  const signer = user('SIGNER');
  const stranger = user('ADMIN');
  let state: EnclaveState;
  let consumed: ConsumedRequests;
  const WALLET_PATH = '/v1/external_wallets/7f1c5d1e-0000-4000-8000-000000000001/ETH_TEST5';
  const ADDRESS = { address: '0x52908400098527886e0f7030069857d2e4169ee7' };

  before(() => {
    state = { ...createInitialState(), pairings: [pairing(admin), pairing(signer)] };
  });
  beforeEach(() => {
    consumed = new ConsumedRequests();
  });
  const check = (p: ConfigChangePayload, o: { st?: EnclaveState; now?: number; workspaceId?: string } = {}) =>
    checkConfigChange(o.st ?? state, { serviceKeySha256: COORDINATOR, workspaceId: o.workspaceId ?? WORKSPACE, payload: p, now: o.now ?? NOW, consumed });
  const refused = async (p: Promise<unknown>, reason: string, message?: RegExp) => {
    const e = await expectCosignerRejection(p, 'CONFIG_CHANGE_REFUSED', message);
    expect(e.details?.reason).to.equal(reason);
    expect(consumed.size, 'a refusal consumes nothing').to.equal(0);
  };

  it('an Admin paired here, with a fresh request signed by its own key for this route: accepted, described for the handler, its nonce consumed', async () => {
    const r = await check(change('ADD_WHITELISTED_ADDRESS', admin, await signed(admin, 'POST', WALLET_PATH, ADDRESS)));
    expect(r.initiator.userId).to.equal(admin.id);
    expect(r.policy).to.equal(null);
    expect(r.extraInfo).to.include({ change: 'ADD_WHITELISTED_ADDRESS', assetId: 'ETH_TEST5', address: ADDRESS.address, initiatorId: admin.id, displayInfo: 'wallet cold' });
    expect(consumed.size).to.equal(1);
    const policy = { assets: [{ assetId: 'ETH_TEST5', maxAmountPerTransaction: '10' }], users: [] };
    const p = await check(change('SET_ENCLAVE_POLICY', admin, await signed(admin, 'POST', '/v1/cosigner_policy', policy)));
    expect(p.policy).to.deep.equal(policy);
  });

  it('refuses a non-Admin initiator (its sealed role), even with a valid signed request', async () => {
    await refused(check(change('PUBLISH_TAP', signer, await signed(signer, 'POST', '/v1/tap/policy', { rules: [] }))), 'not-admin', /not an Admin \(role SIGNER/);
  });

  it('refuses an initiator not paired here: another user, another workspace, a pending pairing, a pairing of another coordinator', async () => {
    await refused(check(change('PUBLISH_TAP', stranger, await signed(stranger, 'POST', '/v1/tap/policy', { rules: [] }))), 'not-paired');
    await refused(check(change('PUBLISH_TAP', admin, await signed(admin, 'POST', '/v1/tap/policy', { rules: [] })), { workspaceId: 'ws-2' }), 'not-paired');
    const pending = { ...state, pairings: [pairing(admin, { status: 'pending' })] };
    await refused(check(change('PUBLISH_TAP', admin, await signed(admin, 'POST', '/v1/tap/policy', { rules: [] })), { st: pending }), 'not-paired');
    const elsewhere = { ...state, pairings: [pairing(admin, { serviceKeySha256: 'cd'.repeat(32) })] };
    await refused(check(change('PUBLISH_TAP', admin, await signed(admin, 'POST', '/v1/tap/policy', { rules: [] })), { st: elsewhere }), 'not-paired');
    const unrecorded = { ...state, pairings: [pairing(admin, { role: undefined, apiKey: undefined })] };
    await refused(check(change('PUBLISH_TAP', admin, await signed(admin, 'POST', '/v1/tap/policy', { rules: [] })), { st: unrecorded }), 'not-admin');
  });

  it('refuses a request not signed by the initiator\'s sealed key, or for another API key, path or body', async () => {
    const tap = { rules: [] };
    await refused(check(change('PUBLISH_TAP', admin, await signed(admin, 'POST', '/v1/tap/policy', tap, { key: stranger.key }))), 'request-signature');
    await refused(check(change('PUBLISH_TAP', admin, await signed(admin, 'POST', '/v1/tap/policy', tap, { sub: signer.apiKey }))), 'request-signature');
    await refused(check(change('PUBLISH_TAP', admin, await signed(admin, 'POST', '/v1/tap/policy', tap, { uri: '/v1/tap/policy?x=1' }))), 'request-signature');
    // The coordinator swaps the body under a genuine signature.
    const genuine = await signed(admin, 'POST', '/v1/tap/policy', tap);
    await refused(check(change('PUBLISH_TAP', admin, { ...genuine, body: JSON.stringify({ rules: [{ name: 'all' }] }) })), 'request-signature');
    // A JWT that is not RS256 (alg none) or is junk.
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${genuine.jwt.split('.')[1]}.x`;
    await refused(check(change('PUBLISH_TAP', admin, { ...genuine, jwt: none })), 'request-signature');
  });

  it('refuses a request older than 24 h or from the future, and one presented twice in a boot', async () => {
    const old = Math.floor((NOW - MAX_REQUEST_AGE_MS - 1000) / 1000);
    await refused(check(change('PUBLISH_TAP', admin, await signed(admin, 'POST', '/v1/tap/policy', { rules: [] }, { iat: old }))), 'request-age');
    await refused(check(change('PUBLISH_TAP', admin, await signed(admin, 'POST', '/v1/tap/policy', { rules: [] }, { iat: Math.floor(NOW / 1000) + 3600 }))), 'request-age');
    const once = await signed(admin, 'POST', '/v1/tap/policy', { rules: [] });
    await check(change('PUBLISH_TAP', admin, once));
    const e = await expectCosignerRejection(check(change('PUBLISH_TAP', admin, once)), 'CONFIG_CHANGE_REFUSED', /presented before/);
    expect(e.details?.reason).to.equal('replayed');
  });

  it('refuses a signed request presented as a change of another type (route), and a body that is not that change', async () => {
    // An Admin's signed TAP publication presented as a whitelisting or an enclave policy.
    const tap = await signed(admin, 'POST', '/v1/tap/policy', { rules: [] });
    await refused(check(change('ADD_WHITELISTED_ADDRESS', admin, tap)), 'route');
    await refused(check(change('SET_ENCLAVE_POLICY', admin, tap)), 'route');
    await refused(check(change('PUBLISH_TAP', admin, { ...tap, method: 'PUT' })), 'route');
    await refused(check(change('ADD_WHITELISTED_ADDRESS', admin, await signed(admin, 'POST', WALLET_PATH, { tag: 'no address' }))), 'body');
    await refused(check(change('SET_ENCLAVE_POLICY', admin, await signed(admin, 'POST', '/v1/cosigner_policy', { assets: [{ assetId: 'ETH', maxAmountPerTransaction: '-1' }], users: [] }))), 'body');
  });
});
