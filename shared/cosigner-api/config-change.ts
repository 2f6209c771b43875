// Configuration changes approved by the co-signer's Configuration Change Key (DESIGN.md "The trust
// boundary is the design": "the initiating API user is paired and has the role — Admin for
// configuration changes"). The coordinator queues a CONFIG_CHANGE_APPROVAL work item carrying the
// REST request exactly as the initiating API user sent and signed it (its JWT, method, path and
// body). The enclave believes nothing else about the change: it verifies the JWT under the API
// user's key sealed at pairing, checks the user's sealed role, asks the callback handler, and
// signs `changeApprovalBytes` with the CCK. The coordinator verifies that signature under the CCK
// it pinned at pairing and applies the change from the same signed body, so a payload changed after
// approval, or a signature by another co-signer's CCK, changes nothing.
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { CosignerError } from '../errors.js';
import * as s from '../schema.js';
import { signingBytes } from './canonical-json.js';

export const CONFIG_CHANGE_DOMAIN = 'nitro-cosigner/config-change-approval/v1';

/** The changes the CCK approves, and the REST request each one is (method and path template). */
export const CONFIG_CHANGE_TYPES = ['ADD_WHITELISTED_ADDRESS', 'PUBLISH_TAP', 'SET_ENCLAVE_POLICY'] as const;
export type ConfigChangeType = (typeof CONFIG_CHANGE_TYPES)[number];

/** Roles that may initiate a configuration change (DESIGN.md: "Admin for configuration changes"). */
export const ADMIN_ROLES: readonly string[] = ['OWNER', 'ADMIN', 'NON_SIGNING_ADMIN'];

const ID = /^[A-Za-z0-9-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The largest request body a change may carry (a TAP or enclave policy document). */
export const MAX_CHANGE_BODY_BYTES = 64 * 1024;

export const InitiatorRequestSchema = s.struct({
  method: s.text({ oneOf: ['POST', 'PUT', 'PATCH', 'DELETE'] }),
  /** The request-target as received and signed (the JWT's `uri`). */
  path: s.text({ min: 1, max: 512, pattern: /^\/[\x21-\x7e]*$/ }),
  /** The body exactly as received (UTF-8 text; its SHA-256 is the JWT's `bodyHash`). */
  body: s.text({ max: MAX_CHANGE_BODY_BYTES }),
  /** The compact RS256 JWT from the request's Authorization header. */
  jwt: s.text({ min: 1, max: 8192, pattern: /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/ }),
});
export type InitiatorRequest = s.Infer<typeof InitiatorRequestSchema>;

export const ConfigChangePayloadSchema = s.struct({
  changeId: s.text({ pattern: UUID }),
  type: s.text({ oneOf: CONFIG_CHANGE_TYPES }) as s.Schema<ConfigChangeType>,
  /** The API user who sent the request. */
  initiatorId: s.text({ pattern: ID }),
  request: InitiatorRequestSchema,
  /** For the callback handler's `extraInfo` only (e.g. the wallet's name); never decides anything. */
  displayInfo: s.text({ max: 512 }),
});
export type ConfigChangePayload = s.Infer<typeof ConfigChangePayloadSchema>;

export const parseConfigChangePayload = (v: unknown): ConfigChangePayload => ConfigChangePayloadSchema.parse(v, 'payload');

/** What the CCK signs: the item, the change and the request's digest, under a domain of its own. */
export interface ChangeApproval {
  itemId: string;
  workspaceId: string;
  changeId: string;
  type: ConfigChangeType;
  initiatorId: string;
  method: string;
  path: string;
  bodySha256: string;
}

export function changeApproval(item: { id: string; workspaceId: string }, p: ConfigChangePayload): ChangeApproval {
  return {
    itemId: item.id, workspaceId: item.workspaceId, changeId: p.changeId, type: p.type, initiatorId: p.initiatorId,
    method: p.request.method, path: p.request.path, bodySha256: createHash('sha256').update(p.request.body, 'utf8').digest('hex'),
  };
}

export function changeApprovalBytes(a: ChangeApproval): Uint8Array {
  return signingBytes(CONFIG_CHANGE_DOMAIN, a);
}

export function signChangeApproval(a: ChangeApproval, cck: KeyObject): string {
  return sign(null, changeApprovalBytes(a), cck).toString('base64');
}

/** True only for a valid Ed25519 signature of `a` by `cckSpki` (DER). Never throws. */
export function verifyChangeApproval(a: ChangeApproval, signature: string, cck: KeyObject): boolean {
  try {
    return /^[A-Za-z0-9+/]{86}==$/.test(signature) && verify(null, changeApprovalBytes(a), cck, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * The co-signer's result for a CONFIG_CHANGE_APPROVAL item. APPROVE carries the CCK signature;
 * REJECT (the callback handler said so, or the enclave refused: a non-Admin initiator, a request
 * that does not verify), IGNORE (the handler chose not to decide) and FAILED (no decision: the
 * handler unreachable, silent or answering what does not verify) carry none and apply nothing.
 */
export const CONFIG_CHANGE_ACTIONS = ['APPROVE', 'REJECT', 'IGNORE', 'FAILED'] as const;
export const ConfigChangeResultSchema = s.struct({
  action: s.text({ oneOf: CONFIG_CHANGE_ACTIONS }) as s.Schema<(typeof CONFIG_CHANGE_ACTIONS)[number]>,
  signature: s.optional(s.text({ min: 88, max: 88, pattern: /^[A-Za-z0-9+/]{86}==$/ })),
  rejectionReason: s.optional(s.text({ max: 500 })),
});
export type ConfigChangeResult = s.Infer<typeof ConfigChangeResultSchema>;

export function parseConfigChangeResult(v: unknown): ConfigChangeResult {
  const r = ConfigChangeResultSchema.parse(v, 'result');
  if ((r.action === 'APPROVE') !== (r.signature !== undefined)) {
    throw new CosignerError('SCHEMA_VIOLATION', 'result: an APPROVE carries the CCK signature, and only an APPROVE does');
  }
  return r;
}

/** The JSON body of a change request, parsed; SCHEMA_VIOLATION when it is not a JSON object. */
export function changeBody(p: ConfigChangePayload): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(p.request.body);
  } catch {
    throw new CosignerError('SCHEMA_VIOLATION', 'the change request body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CosignerError('SCHEMA_VIOLATION', 'the change request body is not a JSON object');
  return v as Record<string, unknown>;
}

/**
 * Which REST request each change type is. The enclave refuses a change whose signed request is
 * not this route (so an Admin's signed "publish TAP" cannot be presented as a new API user).
 */
export function expectedRoute(type: ConfigChangeType): { method: string; path: RegExp } {
  switch (type) {
    case 'ADD_WHITELISTED_ADDRESS':
      return { method: 'POST', path: /^\/v1\/external_wallets\/[A-Za-z0-9-]{1,64}\/[A-Za-z0-9_.-]{1,64}$/ };
    case 'PUBLISH_TAP':
      return { method: 'POST', path: /^\/v1\/tap\/policy$/ };
    case 'SET_ENCLAVE_POLICY':
      return { method: 'POST', path: /^\/v1\/cosigner_policy$/ };
  }
}
