// The enclave's side of a CONFIG_CHANGE_APPROVAL work item (shared/cosigner-api/config-change.ts):
// check the item and the initiator's signed request (config-change-check.ts), ask the initiator's
// callback handler at `{base}/v2/config_change_sign_request` with a request JWT the enclave signs
// (APPROVE, REJECT, IGNORE, RETRY as for signing; DESIGN.md "Callback handler"), and on APPROVE
// sign the change with the Configuration Change Key. A change of the enclave's own policy is also
// sealed: its result goes out only with the state change that makes it true (the parent stores and
// confirms `toStore` before it reports), so the coordinator never shows a policy the enclave lacks.
//
// Refusals (CONFIG_CHANGE_REFUSED, a REJECT) are results, not errors: the coordinator records them
// and applies nothing. Failures to decide (callback unreachable, a malformed answer) are errors:
// nothing is signed, and the parent reports a REJECT with the reason (nothing may stay half-done).
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CosignerError, isCosignerError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { SealedFile } from '../../shared/messages.js';
import type { CallbackHttpOutcome } from '../../shared/callback/claims.js';
import { signRequestJwt } from '../../shared/callback/request-jwt.js';
import { changeApproval, parseConfigChangePayload, signChangeApproval, type ConfigChangeResult } from '../../shared/cosigner-api/config-change.js';
import { decide, interpretAnswer, DEFAULT_MAX_RETRIES, DEFAULT_RETRY_INTERVAL_MS, NO_CALLBACK_REASON } from '../callback/approval.js';
import { checkWorkItem, type ConsumedRequests, type CheckedWorkItem } from '../signing/work-item-check.js';
import { activePairing } from '../pairing.js';
import { ed25519FromSeed, type EnclaveState } from '../state.js';
import type { SealedStateHolder } from '../state-changes.js';
import { callbackTypeOf, checkConfigChange } from './config-change-check.js';
import { approvalDigest, setPolicy } from './policy-change.js';

const PENDING_TTL_MS = 2 * 3600_000;
const MAX_PENDING = 64;

export interface ConfigApprovalNeeded {
  requestId: string;
  url: string;
  allowPlainHttp: boolean;
  kind: 'config_change_sign_request';
  jwt: string;
}

/** Either the callback must be asked (approval), or the enclave decided (result, maybe with a state change to store first). */
export interface ConfigChangeStep {
  approval: ConfigApprovalNeeded | null;
  result: ConfigChangeResult | null;
  toStore: SealedFile | null;
  retryAfterMs: number | null;
}

type ConfigItem = CheckedWorkItem & { kind: 'CONFIG_CHANGE_APPROVAL' };

interface Pending {
  item: ConfigItem;
  coordinator: string;
  handlerKey: KeyObject;
  attempts: number;
  createdAt: number;
}

export interface ConfigChangesOptions {
  holder: () => SealedStateHolder;
  consumed: ConsumedRequests;
  log: Logger;
  callbackRetryIntervalMs?: number;
  now?: () => number;
}

function cckOf(state: EnclaveState): KeyObject {
  if (!state.cckSeed) throw new CosignerError('PAIRING_INVALID', 'this enclave has no Configuration Change Key yet');
  return ed25519FromSeed(state.cckSeed);
}

export class ConfigChanges {
  private readonly pending = new Map<string, Pending>();
  private readonly options: { retryIntervalMs: number; maxRetries: number };

  constructor(private readonly o: ConfigChangesOptions) {
    this.options = { retryIntervalMs: o.callbackRetryIntervalMs ?? DEFAULT_RETRY_INTERVAL_MS, maxRetries: DEFAULT_MAX_RETRIES };
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  async start(req: { cosignerId: string; itemJson: string; signature: string }): Promise<ConfigChangeStep> {
    this.expire();
    const state = this.o.holder().state;
    const pairing = activePairing(state, req.cosignerId);
    let raw: unknown;
    try {
      raw = JSON.parse(req.itemJson);
    } catch {
      throw new CosignerError('SCHEMA_VIOLATION', 'the work item is not JSON');
    }
    if (this.pending.size >= MAX_PENDING) throw new CosignerError('MPC_STATE', `${MAX_PENDING} configuration changes already wait for their callback`);
    const ctx = {
      serviceKeySpki: pairing.serviceKeySpki,
      pinnedServiceKeySha256: pairing.serviceKeySha256,
      pairedWorkspaces: new Set(state.pairings.filter((p) => p.status === 'active' && p.cosignerId === req.cosignerId).map((p) => p.workspaceId!)),
      now: this.now(),
      consumed: this.o.consumed,
    };
    let checked: CheckedWorkItem;
    try {
      checked = checkWorkItem(raw, req.signature, ctx);
    } catch (e) {
      // An approved policy change whose report was lost (the parent died after storing it): the
      // re-delivered item is answered with the same approval, not asked again.
      const again = isCosignerError(e, 'REQUEST_REPLAYED') ? this.alreadySealed(state, raw, pairing.serviceKeySha256) : null;
      if (again) return again;
      throw e;
    }
    if (checked.kind !== 'CONFIG_CHANGE_APPROVAL') throw new CosignerError('WORK_ITEM_KIND_UNKNOWN', `work item ${checked.id} is not a configuration change`);
    const item = checked as ConfigItem;
    const log = { itemId: item.id, changeId: item.payload.changeId, type: item.payload.type, initiatorId: item.payload.initiatorId };
    let change;
    try {
      change = await checkConfigChange(state, { serviceKeySha256: pairing.serviceKeySha256, workspaceId: item.workspaceId, payload: item.payload, now: this.now(), consumed: this.o.consumed });
    } catch (e) {
      if (!isCosignerError(e, 'CONFIG_CHANGE_REFUSED')) throw e;
      this.o.log.warn({ ...log, reason: e.details?.reason }, `configuration change refused: ${e.message}`);
      return { approval: null, result: { action: 'REJECT', rejectionReason: `${e.code}: ${e.message}`.slice(0, 500) }, toStore: null, retryAfterMs: null };
    }
    const cb = change.initiator.callback;
    if (!cb) {
      this.o.log.info(log, `${NO_CALLBACK_REASON} for the initiating API user: configuration change approved`);
      return this.approve(item, pairing.serviceKeySha256);
    }
    const jwt = signRequestJwt(
      { requestId: item.id, type: callbackTypeOf(item.payload.type), extraInfo: change.extraInfo },
      createPrivateKey({ key: Buffer.from(this.o.holder().state.callbackSigningKey), format: 'der', type: 'pkcs8' }),
    );
    this.pending.set(item.id, { item, coordinator: pairing.serviceKeySha256, handlerKey: createPublicKey({ key: Buffer.from(cb.handlerPublicKeySpki), format: 'der', type: 'spki' }), attempts: 0, createdAt: this.now() });
    this.o.log.info(log, 'asking the callback handler to approve the configuration change');
    return { approval: { requestId: item.id, url: cb.url, allowPlainHttp: cb.allowPlainHttp, kind: 'config_change_sign_request', jwt }, result: null, toStore: null, retryAfterMs: null };
  }

  /** The parent's report of one POST to the callback handler; IGNORE is a valid answer here. */
  async answer(req: { requestId: string; answer: CallbackHttpOutcome | null }): Promise<ConfigChangeStep> {
    this.expire();
    const p = this.pending.get(req.requestId);
    if (!p) throw new CosignerError('MPC_STATE', 'no configuration change approval is pending for that request id');
    this.pending.delete(req.requestId);
    p.attempts++;
    const step = decide(await interpretAnswer(req.answer, { publicKey: p.handlerKey, requestId: req.requestId, allowIgnore: true, nowMs: this.now() }), p.attempts, this.options);
    const log = { itemId: p.item.id, changeId: p.item.payload.changeId, type: p.item.payload.type, attempts: p.attempts };
    if (step.next === 'retry') {
      this.pending.set(req.requestId, p);
      this.o.log.info(log, 'the callback handler answered RETRY; the same configuration change request goes again');
      return { approval: null, result: null, toStore: null, retryAfterMs: step.afterMs };
    }
    const o = step.outcome;
    switch (o.decision) {
      case 'APPROVED':
        this.o.log.info(log, 'the callback handler approved the configuration change');
        return this.approve(p.item, p.coordinator);
      case 'REJECTED':
        this.o.log.warn(log, `the callback handler rejected the configuration change: ${o.reason.slice(0, 200)}`);
        return { approval: null, result: { action: 'REJECT', rejectionReason: o.reason.slice(0, 500) }, toStore: null, retryAfterMs: null };
      case 'IGNORED':
        this.o.log.info(log, 'the callback handler ignored the configuration change: nothing is signed');
        return { approval: null, result: { action: 'IGNORE' }, toStore: null, retryAfterMs: null };
      case 'FAILED':
        this.o.log.warn({ ...log, code: o.code }, `no decision on the configuration change: ${o.reason.slice(0, 200)}`);
        throw new CosignerError(o.code, `no approval: ${o.reason.slice(0, 300)}`);
    }
  }

  /** CCK-sign the change; a policy change is sealed, and the signature goes out only with it. */
  private approve(item: ConfigItem, coordinator: string): ConfigChangeStep {
    const h = this.o.holder();
    const approval = changeApproval(item, item.payload);
    const signature = signChangeApproval(approval, cckOf(h.state));
    let toStore: SealedFile | null = null;
    if (item.payload.type === 'SET_ENCLAVE_POLICY') {
      toStore = h.propose(`enclave-policy:${item.payload.changeId}`, setPolicy({ serviceKeySha256: coordinator, workspaceId: item.workspaceId, payload: item.payload, approval, now: this.now() }));
      this.o.log.info({ itemId: item.id, changeId: item.payload.changeId, workspaceId: item.workspaceId }, 'enclave policy changed (CCK-approved); sealed state to be stored');
    }
    return { approval: null, result: { action: 'APPROVE', signature }, toStore, retryAfterMs: null };
  }

  /**
   * A re-delivered SET_ENCLAVE_POLICY whose policy is sealed already: the same approval again, and
   * only for the very approval sealed (its SHA-256), never for another body under the same ids.
   */
  private alreadySealed(state: EnclaveState, raw: unknown, coordinator: string): ConfigChangeStep | null {
    const r = raw as { id?: unknown; workspaceId?: unknown; kind?: unknown; payload?: unknown };
    if (r.kind !== 'CONFIG_CHANGE_APPROVAL' || typeof r.id !== 'string' || typeof r.workspaceId !== 'string') return null;
    const approval = changeApproval({ id: r.id, workspaceId: r.workspaceId }, parseConfigChangePayload(r.payload));
    const digest = approvalDigest(approval);
    const sealed = (state.policies ?? []).find((x) => x.serviceKeySha256 === coordinator && x.workspaceId === r.workspaceId && x.approvalSha256 === digest);
    if (!sealed) return null;
    this.o.log.info({ itemId: r.id, changeId: sealed.changeId }, 'this enclave policy change is sealed already: approving it again');
    return { approval: null, result: { action: 'APPROVE', signature: signChangeApproval(approval, cckOf(state)) }, toStore: null, retryAfterMs: null };
  }

  private expire(): void {
    const now = this.now();
    for (const [id, p] of this.pending) if (now - p.createdAt > PENDING_TTL_MS) this.pending.delete(id);
  }
}
