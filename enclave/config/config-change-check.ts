// What the enclave checks on a configuration change before its callback handler is asked
// (shared/cosigner-api/config-change.ts; DESIGN.md "The trust boundary is the design": "the
// initiating API user is paired and has the role — Admin for configuration changes"). The work
// item's service-key signature was checked already (work-item-check.ts); the coordinator is still
// not believed about who asked for what:
//   1. the initiator is an API user paired here, with this coordinator and workspace   CONFIG_CHANGE_REFUSED (not-paired)
//   2. its sealed role (from the signed pairing record) is an Admin role                CONFIG_CHANGE_REFUSED (not-admin)
//   3. the request's JWT verifies RS256 under the initiator's sealed API key, names its
//      API key (`sub`), the request's path (`uri`) and body (`bodyHash`)                 CONFIG_CHANGE_REFUSED (request-signature)
//   4. it was issued at most MAX_REQUEST_AGE_MS ago (a hostile coordinator cannot replay
//      an old signed request after the change was undone) and its nonce is new in this boot  CONFIG_CHANGE_REFUSED (request-age, replayed)
//   5. the request is the route of the change's type, and its body is that change         CONFIG_CHANGE_REFUSED (route, body)
// Pure apart from the ConsumedRequests it is given; time is `now`.
import { createHash, createPublicKey } from 'node:crypto';
import { compactVerify } from 'jose';
import { CosignerError } from '../../shared/errors.js';
import { ADMIN_ROLES, changeBody, expectedRoute, type ConfigChangePayload } from '../../shared/cosigner-api/config-change.js';
import { parseEnclavePolicy, type EnclavePolicy } from '../../shared/cosigner-api/enclave-policy.js';
import type { EnclaveState, Pairing } from '../state.js';
import type { ConsumedRequests } from '../signing/work-item-check.js';

/** How old the initiator's signed request may be when the enclave first sees it. */
export const MAX_REQUEST_AGE_MS = 24 * 3600_000;
const CLOCK_SKEW_MS = 5 * 60_000;

function refused(reason: string, message: string): CosignerError {
  return new CosignerError('CONFIG_CHANGE_REFUSED', message, { reason });
}

export interface CheckedChange {
  initiator: Pairing;
  /** SET_ENCLAVE_POLICY: the policy the initiator signed, parsed. */
  policy: EnclavePolicy | null;
  /** What the callback handler is shown as `extraInfo` (from the signed body, plus display text). */
  extraInfo: Record<string, unknown>;
}

export async function checkConfigChange(
  state: EnclaveState,
  o: { serviceKeySha256: string; workspaceId: string; payload: ConfigChangePayload; now: number; consumed: ConsumedRequests },
): Promise<CheckedChange> {
  const p = o.payload;
  const initiator = state.pairings.find((x) => x.status === 'active' && x.serviceKeySha256 === o.serviceKeySha256 && x.workspaceId === o.workspaceId && x.userId === p.initiatorId);
  if (!initiator) throw refused('not-paired', `the initiator ${p.initiatorId} is not an API user paired with this co-signer in workspace ${o.workspaceId}`);
  if (initiator.role === undefined || !ADMIN_ROLES.includes(initiator.role)) {
    throw refused('not-admin', `the initiator ${p.initiatorId} is not an Admin (role ${initiator.role ?? 'unknown'} at pairing); only an Admin may change the configuration`);
  }
  if (!initiator.userPublicKeySpki || !initiator.apiKey) throw refused('not-admin', `the pairing of ${p.initiatorId} carries no API key: pair it again to let it change the configuration`);

  const key = createPublicKey({ key: Buffer.from(initiator.userPublicKeySpki), format: 'der', type: 'spki' });
  let claims: Record<string, unknown>;
  try {
    const { payload, protectedHeader } = await compactVerify(p.request.jwt, key, { algorithms: ['RS256'] });
    if (protectedHeader.alg !== 'RS256') throw new Error('alg');
    claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
    if (typeof claims !== 'object' || claims === null) throw new Error('claims');
  } catch {
    throw refused('request-signature', `the change request is not signed by the initiator's API key (sealed at pairing)`);
  }
  const bodySha256 = createHash('sha256').update(p.request.body, 'utf8').digest('hex');
  if (claims.sub !== initiator.apiKey || claims.uri !== p.request.path || claims.bodyHash !== bodySha256) {
    throw refused('request-signature', 'the initiator\'s signed request is for another API key, path or body');
  }
  const iatMs = Number(claims.iat) * 1000;
  if (!Number.isSafeInteger(claims.iat) || iatMs < o.now - MAX_REQUEST_AGE_MS || iatMs > o.now + CLOCK_SKEW_MS) {
    throw refused('request-age', 'the initiator\'s signed request was not issued within the last 24 hours');
  }
  if (typeof claims.nonce !== 'string' || claims.nonce.length === 0 || claims.nonce.length > 256) throw refused('request-signature', 'the initiator\'s signed request has no nonce');
  const nonceKey = `request-nonce:${initiator.apiKey}:${claims.nonce}`;
  if (o.consumed.firstConsumed([nonceKey])) throw refused('replayed', 'the initiator\'s signed request was presented before');

  const route = expectedRoute(p.type);
  if (p.request.method !== route.method || !route.path.test(p.request.path)) {
    throw refused('route', `a ${p.type} change is ${route.method} ${route.path.source}, not the request the initiator signed`);
  }
  const body = changeBody(p);
  const extraInfo = { change: p.type, ...describe(p, body), initiatorId: p.initiatorId, changeId: p.changeId, displayInfo: p.displayInfo };
  const policy = p.type === 'SET_ENCLAVE_POLICY' ? asPolicy(body) : null;
  o.consumed.consumeAll([nonceKey]);
  return { initiator, policy, extraInfo };
}

function asPolicy(body: Record<string, unknown>): EnclavePolicy {
  try {
    return parseEnclavePolicy(body);
  } catch (e) {
    throw refused('body', `the enclave policy the initiator signed is not valid: ${(e as Error).message.slice(0, 200)}`);
  }
}

/** The change as the signed body states it (shown to the callback handler; nothing is decided on it). */
function describe(p: ConfigChangePayload, body: Record<string, unknown>): Record<string, unknown> {
  const str = (k: string): string => {
    const v = body[k];
    if (typeof v !== 'string') throw refused('body', `the ${p.type} request body has no ${k}`);
    return v;
  };
  switch (p.type) {
    case 'ADD_WHITELISTED_ADDRESS': {
      const [, , , walletId, assetId] = p.request.path.split('/');
      return { walletId, assetId, address: str('address'), tag: typeof body.tag === 'string' ? body.tag : '' };
    }
    case 'PUBLISH_TAP':
      return { rules: Array.isArray(body.rules) ? body.rules.length : 0, policySha256: createHash('sha256').update(p.request.body).digest('hex') };
    case 'SET_ENCLAVE_POLICY':
      return { policy: body };
  }
}

/** The callback `type` Fireblocks handlers know for each change (DESIGN.md "Callback handler"). */
export function callbackTypeOf(type: ConfigChangePayload['type']): string {
  switch (type) {
    case 'ADD_WHITELISTED_ADDRESS':
      return 'UNMANAGED_WALLET';
    case 'PUBLISH_TAP':
    case 'SET_ENCLAVE_POLICY':
      return 'POLICY_APPROVAL';
  }
}
