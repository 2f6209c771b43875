// The parent's WorkHandler for KEYGEN and SIGN items (CONFIG_CHANGE_APPROVAL: config-changes/) (DESIGN.md "The trust boundary is the design"):
// it hands the item to the enclave exactly as the long poll delivered it, POSTs the callback request
// the enclave signed (and hands the answer back as received), then ferries each session's channel
// hellos and encrypted MPC frames between the enclave and the coordinator's relay until both sides
// are done. It decides nothing and reads nothing: the enclave checks the item, approves, signs and
// encrypts its messages; the coordinator's party checks them.
// A key generation's sealed share is stored and confirmed before anything else goes out, and
// GENERATED is reported only after that: the coordinator keeps its own share PENDING until then,
// so no address is derived from a key whose other share a crash could still lose.
import { CosignerError, isCosignerError } from '../../shared/errors.js';
import type { RpcClient } from '../../shared/channel/rpc.js';
import type { EnclaveMessages } from '../../shared/messages.js';
import type { Logger } from '../../shared/log.js';
import type { MpcWorkResult } from '../../shared/cosigner-api/mpc-work-result.js';
import type { SealedStore } from '../sealed-store.js';
import { storeStateChange } from '../state-sync.js';
import type { WorkHandler, WorkContext } from '../coordinator/long-poll-loop.js';
import type { MpcMessageJson, WorkItem } from '../coordinator/cosigner-api-client.js';
import type { MpcHelloJson } from '../../shared/cosigner-api/mpc-channel.js';
import { CallbackClient, callbackAnswerOf } from '../callback/callback-client.js';
import { abortableSleep } from '../abortable-sleep.js';
import { handleConfigChange } from '../config-changes/config-change-work.js';
import type { ConfigChangeResult } from '../../shared/cosigner-api/config-change.js';
import type { CallbackKind } from '../../shared/callback/claims.js';
import type { CustomerLog } from '../logs/customer-log.js';
import { WorkItemLog } from '../logs/work-item-log.js';

/** Refusals that are the enclave's decision about this request (final), not a failure to take part. */
const REFUSALS = new Set(['POLICY_VIOLATION', 'MPC_KEY_HELD', 'CALLBACK_REJECTED', 'EVM_TX_NOT_APPROVED', 'SIGNING_HASH_MISMATCH', 'RAW_CONTENT_NOT_APPROVED', 'EVM_TX_INVALID', 'EVM_TX_TYPE_UNSUPPORTED', 'RAW_CONTENT_INVALID']);
/** The callback gave no approval: the request fails (final), it is not issued again. */
const NO_APPROVAL = new Set(['CALLBACK_URL_INVALID', 'CALLBACK_UNREACHABLE', 'CALLBACK_TIMEOUT', 'CALLBACK_HTTP_STATUS', 'CALLBACK_RESPONSE_TOO_LARGE', 'CALLBACK_RESPONSE_INVALID', 'CALLBACK_RETRIES_EXHAUSTED']);
const MAX_ROUNDS = 32;
const MPC_KINDS = new Set(['KEYGEN', 'SIGN']);

export interface EnclaveWorkHandlerDeps {
  enclave: RpcClient<typeof EnclaveMessages>;
  store: SealedStore;
  cosignerId: string;
  log: Logger;
  /** customer_cosigner.log: approval requests and their outcome, signings, key generations. */
  customerLog?: CustomerLog;
}

export class EnclaveWorkHandler implements WorkHandler {
  constructor(private readonly d: EnclaveWorkHandlerDeps) {}

  async handle(item: WorkItem, signature: string, ctx: WorkContext): Promise<MpcWorkResult | ConfigChangeResult> {
    if (item.kind === 'CONFIG_CHANGE_APPROVAL') return handleConfigChange(this.d, item, signature, ctx);
    if (!MPC_KINDS.has(item.kind)) throw new CosignerError('CONFIG_INVALID', `work of kind ${item.kind.slice(0, 32)} is not handled here`);
    const log = ctx.log.child({ itemId: item.id, kind: item.kind });
    const ops = new WorkItemLog(this.d.customerLog, item);
    let started;
    try {
      // The MPC start may generate ring-Pedersen parameters (seconds) before it answers.
      started = await this.d.enclave.call('MpcStart', { cosignerId: this.d.cosignerId, itemJson: JSON.stringify(item), signature }, { timeoutMs: 120_000 });
    } catch (e) {
      return ops.done(this.refusal(e, log));
    }
    let sessions = started.sessions;
    ops.started(started.approval);
    let toStore = started.toStore;
    if (started.approval) {
      try {
        ({ sessions, toStore } = await this.approve(started.approval, ctx, log, ops));
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        return ops.done(this.refusal(e, log));
      }
    }
    try {
      // A transfer counted against an enclave policy window: the count is stored before any signing step.
      if (toStore) await storeStateChange(this.d.enclave, this.d.store, toStore, log);
      for (const s of sessions) await this.run(s.sessionId, s.hello, ctx, log);
    } catch (e) {
      if (ctx.signal.aborted) throw e; // lease lost or stopping: report nothing
      log.warn({ code: isCosignerError(e) ? e.code : 'INTERNAL' }, `MPC session failed: ${isCosignerError(e) ? e.message : (e as Error).message}`);
      return ops.done({ outcome: 'FAILED', reason: reason(e) });
    }
    log.info('MPC work done');
    return ops.done({ outcome: item.kind === 'KEYGEN' ? 'GENERATED' : 'SIGNED' });
  }

  /**
   * The callback exchange the enclave asked for: POST its request JWT, hand the answer back as
   * received, and on RETRY send the identical request again when the enclave says.
   */
  private async approve(a: { requestId: string; url: string; allowPlainHttp: boolean; kind: string; jwt: string }, ctx: WorkContext, log: Logger, ops?: WorkItemLog) {
    const client = new CallbackClient({ baseUrl: a.url, allowPlainHttp: a.allowPlainHttp });
    for (;;) {
      const outcome = await client.post(a.kind as CallbackKind, a.jwt);
      if (ctx.signal.aborted) throw new CosignerError('ABORTED', 'the lease was lost during the callback');
      log.info({ requestId: a.requestId, status: outcome.ok ? outcome.status : (outcome.status ?? null), ...(outcome.ok ? {} : { code: outcome.code }) }, 'callback handler answered');
      ops?.answered(a.requestId, outcome);
      const r = await this.d.enclave.call('MpcApprovalAnswer', { requestId: a.requestId, answer: callbackAnswerOf(outcome) }, { timeoutMs: 60_000 });
      if (r.retryAfterMs === null) {
        ops?.approved(a.requestId);
        return r;
      }
      log.info({ requestId: a.requestId, retryInMs: r.retryAfterMs }, 'callback handler said RETRY');
      ops?.retry(a.requestId, r.retryAfterMs);
      await abortableSleep(r.retryAfterMs, ctx.signal);
    }
  }

  /** One session: the enclave's hello to the coordinator's opening, its answer (hello and first frames) into the first step, then rounds. */
  private async run(sessionId: string, hello: string, ctx: WorkContext, log: Logger): Promise<void> {
    const opened = await ctx.client.mpcOpening(sessionId, JSON.parse(hello) as MpcHelloJson, { signal: ctx.signal });
    let peerHello: string | null = JSON.stringify(opened.hello);
    let inbound = opened.messages;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let outbound: MpcMessageJson[] = [];
      if (peerHello !== null || inbound.length > 0) {
        const step = await this.d.enclave.call('MpcStep', { sessionId, peerHello, inbound: inbound.map((m) => JSON.stringify(m)) }, { timeoutMs: 120_000 });
        peerHello = null;
        outbound = step.outbound.map((t) => JSON.parse(t) as MpcMessageJson);
        if (step.toStore) await storeStateChange(this.d.enclave, this.d.store, step.toStore, log);
      }
      if (outbound.length === 0) return;
      inbound = (await ctx.client.mpcMessages(sessionId, outbound, { signal: ctx.signal })).messages;
    }
    throw new CosignerError('MPC_STATE', `session ${sessionId.slice(0, 12)}… did not finish in ${MAX_ROUNDS} rounds`);
  }

  /** The enclave refused to start: REJECTED when it is a decision about the request, else FAILED. */
  private refusal(e: unknown, log: Logger): MpcWorkResult {
    const code = isCosignerError(e) ? e.code : 'INTERNAL';
    // The enclave sealed this key generation's share before (the report of it was lost).
    if (code === 'KEYGEN_ALREADY_DONE') {
      log.info('the enclave already holds the share of this key generation: reporting GENERATED again');
      return { outcome: 'GENERATED' };
    }
    log.warn({ code }, `the enclave refused the work item: ${isCosignerError(e) ? e.message : 'error'}`);
    if (REFUSALS.has(code)) return { outcome: 'REJECTED', reason: reason(e) };
    return { outcome: 'FAILED', reason: reason(e), ...(NO_APPROVAL.has(code) ? { final: true } : {}) };
  }
}

function reason(e: unknown): string {
  return (isCosignerError(e) ? `${e.code}: ${e.message}` : 'internal error').slice(0, 500);
}
