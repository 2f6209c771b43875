// The parent's part in a CONFIG_CHANGE_APPROVAL work item (shared/cosigner-api/config-change.ts):
// hand the item to the enclave as delivered, POST the callback request the enclave signed to
// `{base}/v2/config_change_sign_request` and hand each answer back as received, store any state
// change the enclave made (a new enclave policy) before the result goes out, and report the
// enclave's result. It decides nothing: the enclave checks the initiator and signs with the CCK.
import { CosignerError, isCosignerError } from '../../shared/errors.js';
import type { RpcClient } from '../../shared/channel/rpc.js';
import type { EnclaveMessages } from '../../shared/messages.js';
import type { Logger } from '../../shared/log.js';
import type { ConfigChangeResult } from '../../shared/cosigner-api/config-change.js';
import type { SealedStore } from '../sealed-store.js';
import { storeStateChange } from '../state-sync.js';
import type { WorkContext } from '../coordinator/long-poll-loop.js';
import type { WorkItem } from '../coordinator/cosigner-api-client.js';
import { CallbackClient, callbackAnswerOf } from '../callback/callback-client.js';
import { abortableSleep } from '../abortable-sleep.js';
import type { CustomerLog } from '../logs/customer-log.js';

/** The callback gave no decision: reported as FAILED (final), never as an approval. */
const NO_DECISION = new Set(['CALLBACK_URL_INVALID', 'CALLBACK_UNREACHABLE', 'CALLBACK_TIMEOUT', 'CALLBACK_HTTP_STATUS', 'CALLBACK_RESPONSE_TOO_LARGE', 'CALLBACK_RESPONSE_INVALID', 'CALLBACK_RETRIES_EXHAUSTED']);
/** The enclave gives up after 20 resends (DESIGN.md); this only bounds a misbehaving one. */
const MAX_RETRIES = 64;

export interface ConfigChangeWorkDeps {
  enclave: RpcClient<typeof EnclaveMessages>;
  store: SealedStore;
  cosignerId: string;
  customerLog?: CustomerLog;
}

const CLASS = 'ConfigChangeHandler';
const SAFE = /^[A-Za-z0-9_-]{1,64}$/;

/** `configuration change <changeId> (PUBLISH_TAP by <user>, work item <id>)`, from fields of the expected shape only. */
function describeChange(item: WorkItem): string {
  const p = (item.payload ?? {}) as { changeId?: unknown; type?: unknown; initiatorId?: unknown };
  const safe = (v: unknown) => (typeof v === 'string' && SAFE.test(v) ? v : '(malformed)');
  return `configuration change ${safe(p.changeId)} (${safe(p.type)} by ${safe(p.initiatorId)}, work item ${safe(item.id)})`;
}

/** POST the enclave's request to the handler once and hand the answer back to the enclave. */
async function ask(d: ConfigChangeWorkDeps, a: { requestId: string; url: string; allowPlainHttp: boolean; jwt: string }, ctx: WorkContext, log: Logger) {
  const outcome = await new CallbackClient({ baseUrl: a.url, allowPlainHttp: a.allowPlainHttp }).post('config_change_sign_request', a.jwt);
  if (ctx.signal.aborted) throw new CosignerError('ABORTED', 'the lease was lost during the callback');
  log.info({ requestId: a.requestId, status: outcome.ok ? outcome.status : (outcome.status ?? null), ...(outcome.ok ? {} : { code: outcome.code }) }, 'callback handler answered the configuration change request');
  return d.enclave.call('ConfigChangeAnswer', { requestId: a.requestId, answer: callbackAnswerOf(outcome) }, { timeoutMs: 60_000 });
}

export async function handleConfigChange(d: ConfigChangeWorkDeps, item: WorkItem, signature: string, ctx: WorkContext): Promise<ConfigChangeResult> {
  const log: Logger = ctx.log.child({ itemId: item.id, kind: item.kind });
  const what = describeChange(item);
  try {
    let step = await d.enclave.call('ConfigChangeStart', { cosignerId: d.cosignerId, itemJson: JSON.stringify(item), signature }, { timeoutMs: 60_000 });
    if (step.approval) {
      const a = step.approval;
      d.customerLog?.info(CLASS, 'approve', `approval request ${a.requestId} for ${what}: sending it to the callback handler`);
      step = await ask(d, a, ctx, log);
      for (let i = 0; step.retryAfterMs !== null; i++) {
        if (i >= MAX_RETRIES) throw new CosignerError('INTERNAL', `the enclave asked for more than ${MAX_RETRIES} resends`);
        log.info({ requestId: a.requestId, retryInMs: step.retryAfterMs }, 'callback handler said RETRY');
        await abortableSleep(step.retryAfterMs, ctx.signal);
        step = await ask(d, a, ctx, log);
      }
    }
    if (!step.result) throw new CosignerError('INTERNAL', 'the enclave neither decided nor asked for an approval');
    // A new enclave policy counts before the coordinator hears it was approved.
    if (step.toStore) await storeStateChange(d.enclave, d.store, step.toStore, log);
    log.info({ action: step.result.action }, 'configuration change decided');
    const reason = step.result.rejectionReason ? `: ${step.result.rejectionReason.slice(0, 300)}` : '';
    if (step.result.action === 'APPROVE') d.customerLog?.info(CLASS, 'handle', `${what}: APPROVE, signed with the Configuration Change Key`);
    else d.customerLog?.warn(CLASS, 'handle', `${what}: ${step.result.action}${reason}`);
    return step.result;
  } catch (e) {
    if (ctx.signal.aborted || !isCosignerError(e) || !NO_DECISION.has(e.code)) throw e; // reported by nobody: the lease expires, the item is issued again
    log.warn({ code: e.code }, `no decision on the configuration change: ${e.message}`);
    d.customerLog?.error(CLASS, 'handle', `${what}: FAILED, no decision from the callback handler: ${e.code}`);
    return { action: 'FAILED', rejectionReason: `${e.code}: ${e.message}`.slice(0, 500) };
  }
}
