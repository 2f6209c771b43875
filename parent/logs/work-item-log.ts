// What customer_cosigner.log says about one KEYGEN or SIGN work item: the approval request sent to
// the callback handler and each answer, and the item's outcome (signed, generated, rejected,
// failed, with the enclave's reason). Lines name the item by its ids, algorithm and transaction;
// never the request or response JWT, nor anything the enclave keeps. The payload is the
// coordinator's (signed, but read here only for names), so each field is shape-checked first.
import type { MpcWorkResult } from '../../shared/cosigner-api/mpc-work-result.js';
import type { CallbackHttpOutcome } from '../../shared/callback/claims.js';
import type { WorkItem } from '../coordinator/cosigner-api-client.js';
import type { CustomerLog } from './customer-log.js';

const CLASS = 'EnclaveWorkHandler';
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const ALGORITHM = /^[A-Z0-9_]{1,40}$/;

/** `SIGN work item <id> (transaction <tx>, MPC_ECDSA_SECP256K1, 2 messages)`, from the fields that have the expected shape. */
export function describeWorkItem(item: WorkItem): string {
  const p = (item.payload ?? {}) as { transactionId?: unknown; algorithm?: unknown; messages?: unknown };
  const parts: string[] = [];
  if (typeof p.transactionId === 'string' && ID.test(p.transactionId)) parts.push(`transaction ${p.transactionId}`);
  if (typeof p.algorithm === 'string' && ALGORITHM.test(p.algorithm)) parts.push(p.algorithm);
  if (Array.isArray(p.messages)) parts.push(`${p.messages.length} message${p.messages.length === 1 ? '' : 's'}`);
  const id = ID.test(item.id) ? item.id : '(malformed id)';
  return `${item.kind.slice(0, 32)} work item ${id}${item.attempt > 1 ? ` attempt ${item.attempt}` : ''}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}

export class WorkItemLog {
  private readonly what: string;

  constructor(private readonly log: CustomerLog | undefined, private readonly item: WorkItem) {
    this.what = describeWorkItem(item);
  }

  /** The enclave's answer to the item: an approval to ask for, or none (a SIGN then goes on unasked). */
  started(approval: { requestId: string; url: string } | null): void {
    if (approval) this.log?.info(CLASS, 'approve', `approval request ${approval.requestId} for ${this.what}: sending it to the callback handler at ${originOf(approval.url)}`);
    else if (this.item.kind === 'SIGN') this.log?.info(CLASS, 'handle', `${this.what}: no callback handler applies; approved without asking`);
  }

  /** One POST of the approval request and what came back (the enclave verifies the answer). */
  answered(requestId: string, outcome: CallbackHttpOutcome): void {
    if (outcome.ok) this.log?.info(CLASS, 'approve', `approval request ${requestId}: the callback handler answered HTTP ${outcome.status}; the enclave verifies the answer`);
    else this.log?.warn(CLASS, 'approve', `approval request ${requestId}: no answer from the callback handler: ${outcome.code}${outcome.status !== undefined ? ` (HTTP ${outcome.status})` : ''}`);
  }

  retry(requestId: string, retryInMs: number): void {
    this.log?.info(CLASS, 'approve', `approval request ${requestId}: the callback handler said RETRY; sending it again in ${Math.round(retryInMs / 1000)} s`);
  }

  approved(requestId: string): void {
    this.log?.info(CLASS, 'approve', `approval request ${requestId} for ${this.what}: APPROVE, verified by the enclave`);
  }

  /** The item's outcome, as reported to the coordinator; returns it. */
  done(result: MpcWorkResult): MpcWorkResult {
    const reason = result.reason ? `: ${result.reason}` : '';
    switch (result.outcome) {
      case 'SIGNED':
        this.log?.info(CLASS, 'handle', `${this.what}: signed`);
        break;
      case 'GENERATED':
        this.log?.info(CLASS, 'handle', `${this.what}: key share generated, sealed and stored`);
        break;
      case 'REJECTED':
        this.log?.warn(CLASS, 'handle', `${this.what}: rejected${reason}`);
        break;
      default:
        this.log?.error(CLASS, 'handle', `${this.what}: ${result.outcome.toLowerCase()}${reason}`);
    }
    return result;
  }
}
