// Work items as the coordinator delivers them, signed with its service key (Ed25519) over the
// canonical JSON of {id, workspaceId, kind, payload, attempt, leaseExpiresAt} under a domain tag.
// The enclave verifies with the key whose SPKI SHA-256 it pinned from the pairing token, so a
// parent cannot invent, alter or re-target work.
import { sign, verify, type KeyObject } from 'node:crypto';
import { CosignerError } from '../errors.js';
import { signingBytes } from './canonical-json.js';
import { pinnedServiceKey } from './keys.js';

export const WORK_ITEM_DOMAIN = 'nitro-cosigner/work-item/v1';

export interface SignableWorkItem {
  id: string;
  workspaceId: string;
  kind: string;
  payload: unknown;
  attempt: number;
  leaseExpiresAt: number;
}

export function workItemSigningBytes(item: SignableWorkItem): Uint8Array {
  const { id, workspaceId, kind, payload, attempt, leaseExpiresAt } = item;
  return signingBytes(WORK_ITEM_DOMAIN, { id, workspaceId, kind, payload, attempt, leaseExpiresAt });
}

/** base64 Ed25519 signature. */
export function signWorkItem(item: SignableWorkItem, serviceKey: KeyObject): string {
  return sign(null, workItemSigningBytes(item), serviceKey).toString('base64');
}

/**
 * Whether `signature` is the service key's over `item`, where the service key (DER SPKI) must have
 * the pinned fingerprint. Never throws for a bad signature: returns false.
 */
export function verifyWorkItem(item: SignableWorkItem, signature: string, serviceKeySpki: Uint8Array, pinnedSha256: string): boolean {
  const key = pinnedServiceKey(serviceKeySpki, pinnedSha256);
  if (!key) return false;
  const sig = Buffer.from(signature, 'base64');
  if (sig.length !== 64) return false;
  try {
    return verify(null, workItemSigningBytes(item), key, sig);
  } catch (e) {
    if (e instanceof CosignerError) throw e; // a payload that is not canonical JSON
    return false;
  }
}
