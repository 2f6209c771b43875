// What the enclave checks on a work item before it takes part in key generation or a signature
// (DESIGN.md, "The trust boundary is the design": "the request really comes from the coordinator
// — the coordinator's service key, pinned at pairing"; "a request id is consumed once"). The parent
// hands over the item and its signature as it got them; nothing in them is trusted until:
//   1. the item has the signed envelope's shape (closed: unsigned extra fields are refused);
//   2. the service key offered has the SHA-256 pinned at pairing          SERVICE_KEY_NOT_PINNED
//   3. the signature is that key's over the canonical item               WORK_ITEM_SIGNATURE_INVALID
//   4. the kind is one the enclave takes part in (KEYGEN, SIGN,
//      CONFIG_CHANGE_APPROVAL)                                          WORK_ITEM_KIND_UNKNOWN
//   5. the payload matches its closed schema (shared/cosigner-api/sign-item.ts,
//      config-change.ts)                                                 SCHEMA_VIOLATION
//   6. the workspace is one this enclave is paired with                  WORKSPACE_NOT_PAIRED
//   7. the lease has not expired (leaseExpiresAt > now)                  LEASE_LOST
//   8. nothing in it was consumed in this boot: the item id, its MPC session ids, and (SIGN) each
//      (transactionId, message index), (CONFIG_CHANGE_APPROVAL) its change id   REQUEST_REPLAYED
// and only then is it consumed (all at once, so a refused item consumes nothing). Pure apart from
// the ConsumedRequests it is given: no I/O, the clock is `ctx.now`. Messages never echo untrusted
// content beyond short, bounded identifiers.
import { CosignerError } from '../../shared/errors.js';
import { serviceKeyFingerprint } from '../../shared/cosigner-api/keys.js';
import { verifyWorkItem, type SignableWorkItem } from '../../shared/cosigner-api/work-item-signature.js';
import {
  parseKeygenItemPayload, parseSignItemPayload, WORK_ITEM_KINDS,
  type KeygenItemPayload, type SignItemPayload, type SigningWorkItemKind,
} from '../../shared/cosigner-api/sign-item.js';
import { parseConfigChangePayload, type ConfigChangePayload } from '../../shared/cosigner-api/config-change.js';
import { struct, text, uint, type Schema } from '../../shared/schema.js';

/** Consumed ids are kept for the boot; past this many the enclave refuses new work rather than forget. */
export const MAX_CONSUMED_PER_BOOT = 1_000_000;

/**
 * The per-boot record of consumed requests. Keys are namespaced strings; nothing here is sealed,
 * so a reboot forgets them (a replay across boots must be stopped elsewhere: the lease, the
 * coordinator's own records, the callback's requestId).
 */
export class ConsumedRequests {
  readonly #keys = new Set<string>();
  readonly #max: number;

  constructor(opts: { maxEntries?: number } = {}) {
    this.#max = opts.maxEntries ?? MAX_CONSUMED_PER_BOOT;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** The first of `keys` already consumed, or undefined. */
  firstConsumed(keys: readonly string[]): string | undefined {
    return keys.find((k) => this.#keys.has(k));
  }

  /** Consumes all of `keys` or none (REQUEST_REPLAYED if one is consumed, REPLAY_STORE_FULL if no room). */
  consumeAll(keys: readonly string[]): void {
    const seen = this.firstConsumed(keys);
    if (seen !== undefined) throw new CosignerError('REQUEST_REPLAYED', `already consumed in this boot: ${seen}`);
    if (new Set(keys).size !== keys.length) throw new CosignerError('REQUEST_REPLAYED', 'one request names the same id twice');
    if (this.#keys.size + keys.length > this.#max) {
      throw new CosignerError('REPLAY_STORE_FULL', `more than ${this.#max} requests consumed in this boot; restart the enclave to take more work`);
    }
    for (const k of keys) this.#keys.add(k);
  }

  /**
   * Gives back keys whose request ended without this enclave's contribution (a signing session
   * that aborted before its last message), so the coordinator's re-issue of that transaction
   * message can be signed. Item and session ids are never given back.
   */
  release(keys: readonly string[]): void {
    for (const k of keys) if (k.startsWith('tx-message:')) this.#keys.delete(k);
  }
}

export interface WorkItemCheckContext {
  /** DER SubjectPublicKeyInfo of the coordinator's service key, as the parent offers it. */
  serviceKeySpki: Uint8Array;
  /** Hex SHA-256 of the service key's DER SPKI, pinned from the pairing token (sealed state). */
  pinnedServiceKeySha256: string;
  /** Workspaces this enclave is paired with (sealed state). */
  pairedWorkspaces: ReadonlySet<string>;
  /** Milliseconds since the epoch. */
  now: number;
  consumed: ConsumedRequests;
}

interface Envelope {
  id: string;
  workspaceId: string;
  kind: string;
  attempt: number;
  leaseExpiresAt: number;
}
export type CheckedWorkItem =
  | (Envelope & { kind: 'KEYGEN'; payload: KeygenItemPayload })
  | (Envelope & { kind: 'SIGN'; payload: SignItemPayload })
  | (Envelope & { kind: 'CONFIG_CHANGE_APPROVAL'; payload: ConfigChangePayload });

const anything: Schema<unknown> = { kind: 'unknown', parse: (v) => v };
const ID = /^[A-Za-z0-9-]+$/;
const EnvelopeSchema = struct({
  id: text({ min: 1, max: 64, pattern: ID }),
  workspaceId: text({ min: 1, max: 64, pattern: ID }),
  kind: text({ min: 1, max: 64 }),
  payload: anything,
  attempt: uint(),
  leaseExpiresAt: uint(),
});

/** The keys an item consumes: its id, its sessions, and (SIGN) its transaction's messages. */
export function consumptionKeys(item: CheckedWorkItem): string[] {
  const keys = [`item:${item.id}`];
  if (item.kind === 'KEYGEN') {
    keys.push(`session:${item.payload.sessionId}`);
  } else if (item.kind === 'CONFIG_CHANGE_APPROVAL') {
    keys.push(`config-change:${item.payload.changeId}`);
  } else {
    for (const m of item.payload.messages) keys.push(`session:${m.sessionId}`, `tx-message:${item.payload.transactionId}#${m.index}`);
  }
  return keys;
}

/**
 * Checks a work item and its base64 signature as delivered; returns the typed item and consumes
 * it, or throws the CosignerError of the first check that fails (see the header).
 */
export function checkWorkItem(item: unknown, signature: unknown, ctx: WorkItemCheckContext): CheckedWorkItem {
  const env = EnvelopeSchema.parse(item, 'item');
  if (typeof signature !== 'string' || signature.length > 128 || !/^[A-Za-z0-9+/]*={0,2}$/.test(signature)) {
    throw new CosignerError('WORK_ITEM_SIGNATURE_INVALID', 'the work item signature is not base64 of at most 128 characters');
  }
  if (serviceKeyFingerprint(ctx.serviceKeySpki) !== ctx.pinnedServiceKeySha256) {
    throw new CosignerError('SERVICE_KEY_NOT_PINNED', 'the service key offered is not the one pinned at pairing (SHA-256 of its SPKI differs)');
  }
  let valid: boolean;
  try {
    valid = verifyWorkItem(env as SignableWorkItem, signature, ctx.serviceKeySpki, ctx.pinnedServiceKeySha256);
  } catch (e) {
    // A payload canonical JSON cannot carry (undefined, NaN, class instances) was never signed.
    throw new CosignerError('WORK_ITEM_SIGNATURE_INVALID', `work item ${env.id} cannot carry a signature: its payload is not canonical JSON`, { itemId: env.id }, { cause: e });
  }
  if (!valid) {
    throw new CosignerError('WORK_ITEM_SIGNATURE_INVALID', `work item ${env.id} is not signed by the pinned service key`, { itemId: env.id });
  }
  if (!(WORK_ITEM_KINDS as readonly string[]).includes(env.kind)) {
    throw new CosignerError('WORK_ITEM_KIND_UNKNOWN', `work item ${env.id} is of a kind the enclave does not take part in (${JSON.stringify(env.kind.slice(0, 32))})`, { itemId: env.id });
  }
  const kind = env.kind as SigningWorkItemKind;
  const checked: CheckedWorkItem = kind === 'KEYGEN' ? { ...env, kind, payload: parseKeygenItemPayload(env.payload) }
    : kind === 'SIGN' ? { ...env, kind, payload: parseSignItemPayload(env.payload) }
    : { ...env, kind, payload: parseConfigChangePayload(env.payload) };
  if (!ctx.pairedWorkspaces.has(checked.workspaceId)) {
    throw new CosignerError('WORKSPACE_NOT_PAIRED', `work item ${env.id} is for workspace ${checked.workspaceId}, which this enclave is not paired with`, { itemId: env.id });
  }
  if (!(checked.leaseExpiresAt > ctx.now)) {
    throw new CosignerError('LEASE_LOST', `the lease of work item ${env.id} expired ${ctx.now - checked.leaseExpiresAt} ms ago`, { itemId: env.id });
  }
  const keys = consumptionKeys(checked);
  const seen = ctx.consumed.firstConsumed(keys);
  if (seen !== undefined) {
    throw new CosignerError('REQUEST_REPLAYED', `work item ${env.id} repeats a request already consumed in this boot (${seen})`, { itemId: env.id, key: seen });
  }
  ctx.consumed.consumeAll(keys);
  return checked;
}
