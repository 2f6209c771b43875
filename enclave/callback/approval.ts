// The enclave's decision for one request (DESIGN.md "Callback handler"; "The trust boundary is the
// design": the enclave signs the request JWT and verifies the answer itself, the parent only
// carries bytes). The parent does the HTTP: the caller injects `send`, which resolves to the raw
// answer or a plain-data failure (a throw is treated as a transport failure too). Time is injected
// (`sleep`, `now`), so the machine is deterministic under test.
//
//   no callback configured          -> APPROVED, reason 'no callback configured' (the caller logs it)
//   APPROVE                         -> APPROVED
//   REJECT                          -> REJECTED (final), with the handler's rejectionReason
//   IGNORE (only if allowIgnore)    -> IGNORED
//   RETRY                           -> the same JWT again after retryIntervalMs (3 min), at most
//                                      maxRetries (20) resends; one more RETRY -> FAILED
//   transport error, timeout,       -> FAILED with code and reason; never retried (no answer in
//   non-200, invalid response          30 s fails the request)
import type { KeyObject } from 'node:crypto';
import { CosignerError, type ErrorCode } from '../../shared/errors.js';
import { CALLBACK_TRANSPORT_CODES, type CallbackHttpOutcome, type CallbackResponseClaims } from '../../shared/callback/claims.js';
import { verifyResponseJwt } from '../../shared/callback/response-jwt.js';

export const DEFAULT_RETRY_INTERVAL_MS = 3 * 60_000;
export const DEFAULT_MAX_RETRIES = 20;
export const NO_CALLBACK_REASON = 'no callback configured';

export type ApprovalOutcome =
  | { decision: 'APPROVED'; attempts: number; reason?: typeof NO_CALLBACK_REASON }
  | { decision: 'REJECTED'; attempts: number; reason: string }
  | { decision: 'IGNORED'; attempts: number }
  | { decision: 'FAILED'; attempts: number; code: ErrorCode; reason: string; status?: number };

export interface ApprovalRequest {
  /** The handler's public key for this API user; null when no callback is configured. */
  callbackPublicKey: KeyObject | null;
  /** The signed request JWT (shared/callback/request-jwt.ts), resent unchanged on RETRY. */
  requestJwt: string;
  requestId: string;
  allowIgnore: boolean;
}

export interface ApprovalDeps {
  send(jwt: string): Promise<CallbackHttpOutcome>;
  sleep(ms: number): Promise<void>;
  now(): number;
}

export interface ApprovalOptions {
  retryIntervalMs?: number;
  maxRetries?: number;
}

/** What to do after one answer: the pure transition of the machine. */
export type ApprovalStep = { next: 'done'; outcome: ApprovalOutcome } | { next: 'retry'; afterMs: number };

function failed(attempts: number, code: ErrorCode, reason: string, status?: number): ApprovalStep {
  const outcome: ApprovalOutcome = { decision: 'FAILED', attempts, code, reason };
  if (status !== undefined) outcome.status = status;
  return { next: 'done', outcome };
}

/**
 * One transition: given the verified claims (or the failure) of attempt number `attempts`
 * (1-based), decide. Pure: no clock, no I/O.
 */
export function decide(
  answer: { claims: CallbackResponseClaims } | { error: { code: ErrorCode; message: string; status?: number } },
  attempts: number,
  opts: Required<ApprovalOptions>,
): ApprovalStep {
  if ('error' in answer) return failed(attempts, answer.error.code, answer.error.message, answer.error.status);
  const { claims } = answer;
  switch (claims.action) {
    case 'APPROVE':
      return { next: 'done', outcome: { decision: 'APPROVED', attempts } };
    case 'REJECT':
      return { next: 'done', outcome: { decision: 'REJECTED', attempts, reason: claims.rejectionReason ?? 'rejected by the callback handler' } };
    case 'IGNORE':
      return { next: 'done', outcome: { decision: 'IGNORED', attempts } };
    case 'RETRY':
      if (attempts - 1 >= opts.maxRetries) {
        return failed(attempts, 'CALLBACK_RETRIES_EXHAUSTED', `the callback handler answered RETRY ${attempts} times; giving up after ${opts.maxRetries} resends`);
      }
      return { next: 'retry', afterMs: opts.retryIntervalMs };
  }
}

/** Runs the callback exchange for one request to its decision. Never throws. */
export async function runApproval(req: ApprovalRequest, deps: ApprovalDeps, options: ApprovalOptions = {}): Promise<ApprovalOutcome> {
  const opts: Required<ApprovalOptions> = {
    retryIntervalMs: options.retryIntervalMs ?? DEFAULT_RETRY_INTERVAL_MS,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
  };
  if (req.callbackPublicKey === null) return { decision: 'APPROVED', attempts: 0, reason: NO_CALLBACK_REASON };
  const publicKey = req.callbackPublicKey;

  for (let attempts = 1; ; attempts++) {
    let got: CallbackHttpOutcome | null = null;
    try {
      got = await deps.send(req.requestJwt);
    } catch {
      got = null;
    }
    const answer = await interpretAnswer(got, { publicKey, requestId: req.requestId, allowIgnore: req.allowIgnore, nowMs: deps.now() });
    const step = decide(answer, attempts, opts);
    if (step.next === 'done') return step.outcome;
    await deps.sleep(step.afterMs);
  }
}

/**
 * What one POST's outcome, as the untrusted parent reports it (null: the transport threw), means:
 * verified response claims, or a typed failure. Never throws.
 */
export async function interpretAnswer(
  got: CallbackHttpOutcome | null,
  o: { publicKey: KeyObject; requestId: string; allowIgnore: boolean; nowMs: number },
): Promise<Parameters<typeof decide>[0]> {
  try {
    if (got === null) return { error: { code: 'CALLBACK_UNREACHABLE', message: 'the callback transport failed' } };
    if (!got.ok) {
      // The parent is untrusted: keep only a known code, a bounded message, an integer status.
      const code: ErrorCode = (CALLBACK_TRANSPORT_CODES as readonly string[]).includes(got.code) ? got.code : 'CALLBACK_UNREACHABLE';
      const status = Number.isInteger(got.status) ? got.status : undefined;
      return { error: { code, message: String(got.message).slice(0, 300), ...(status !== undefined ? { status } : {}) } };
    }
    if ((got.status as number) !== 200) {
      const status = Number(got.status);
      return { error: { code: 'CALLBACK_HTTP_STATUS', message: `the callback handler answered HTTP ${String(status)}`, status } };
    }
    const claims = await verifyResponseJwt(got.body, { publicKey: o.publicKey, expectedRequestId: o.requestId, allowIgnore: o.allowIgnore, nowMs: o.nowMs });
    return { claims };
  } catch (e) {
    return e instanceof CosignerError
      ? { error: { code: e.code, message: e.message } }
      : { error: { code: 'CALLBACK_UNREACHABLE', message: 'the callback transport failed' } };
  }
}

/** The real clock, for production use. */
export const realClock: Pick<ApprovalDeps, 'sleep' | 'now'> = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
};
