// The enclave's per-request decision (enclave/callback/approval.ts) under a fake clock: every
// action, RETRY's interval and limit, and every way of getting no valid answer.
import { expect } from 'chai';
import {
  decide, runApproval, DEFAULT_MAX_RETRIES, DEFAULT_RETRY_INTERVAL_MS, NO_CALLBACK_REASON,
  type ApprovalDeps, type ApprovalRequest,
} from '../../enclave/callback/approval.js';
import { signRequestJwt } from '../../shared/callback/request-jwt.js';
import { signResponseJwt } from '../../shared/callback/response-jwt.js';
import type { CallbackHttpOutcome, CallbackResponseClaims } from '../../shared/callback/claims.js';
import { rsaPair, type RsaPair } from './support.js';

interface FakeClock {
  nowMs: number;
  sleeps: number[];
}

/** Deps whose `send` answers from a script, recording what it was sent; sleeping advances the fake clock. */
function scripted(answers: Array<CallbackHttpOutcome | (() => Promise<CallbackHttpOutcome>)>, clock: FakeClock = { nowMs: 1_800_000_000_000, sleeps: [] }) {
  const sent: string[] = [];
  const deps: ApprovalDeps = {
    send: async (jwt) => {
      sent.push(jwt);
      const next = answers.length > 1 ? answers.shift()! : answers[0]!;
      return typeof next === 'function' ? next() : next;
    },
    sleep: async (ms) => {
      clock.sleeps.push(ms);
      clock.nowMs += ms;
    },
    now: () => clock.nowMs,
  };
  return { deps, sent, clock };
}

describe('callback approval state machine', () => {
  let cosigner: RsaPair;
  let handler: RsaPair;
  let req: ApprovalRequest;
  const answer = (claims: CallbackResponseClaims, key = handler.privateKey, opts = {}): CallbackHttpOutcome => ({
    ok: true, status: 200, contentType: 'text/plain', body: new TextEncoder().encode(signResponseJwt(claims, key, opts)),
  });

  before(() => {
    cosigner = rsaPair();
    handler = rsaPair();
    const requestJwt = signRequestJwt({ requestId: 'req-7', type: 'UNMANAGED_WALLET', extraInfo: {} }, cosigner.privateKey);
    req = { callbackPublicKey: handler.publicKey, requestJwt, requestId: 'req-7', allowIgnore: false };
  });

  it('defaults: RETRY every 3 minutes, at most 20 resends', () => {
    expect(DEFAULT_RETRY_INTERVAL_MS).to.equal(180_000);
    expect(DEFAULT_MAX_RETRIES).to.equal(20);
  });

  it('with no callback configured approves at once and says why, sending nothing', async () => {
    const { deps, sent } = scripted([answer({ action: 'REJECT', requestId: 'req-7' })]);
    expect(await runApproval({ ...req, callbackPublicKey: null }, deps)).to.deep.equal({ decision: 'APPROVED', attempts: 0, reason: NO_CALLBACK_REASON });
    expect(NO_CALLBACK_REASON).to.equal('no callback configured');
    expect(sent).to.deep.equal([]);
  });

  it('APPROVE approves after one exchange carrying the request JWT', async () => {
    const { deps, sent, clock } = scripted([answer({ action: 'APPROVE', requestId: 'req-7' })]);
    expect(await runApproval(req, deps)).to.deep.equal({ decision: 'APPROVED', attempts: 1 });
    expect(sent).to.deep.equal([req.requestJwt]);
    expect(clock.sleeps).to.deep.equal([]);
  });

  it('REJECT is final and carries the handler reason (or a default one)', async () => {
    const a = scripted([answer({ action: 'REJECT', requestId: 'req-7', rejectionReason: 'unknown destination' }), answer({ action: 'APPROVE', requestId: 'req-7' })]);
    expect(await runApproval(req, a.deps)).to.deep.equal({ decision: 'REJECTED', attempts: 1, reason: 'unknown destination' });
    expect(a.sent).to.have.length(1);
    const b = scripted([answer({ action: 'REJECT', requestId: 'req-7' })]);
    expect(await runApproval(req, b.deps)).to.deep.equal({ decision: 'REJECTED', attempts: 1, reason: 'rejected by the callback handler' });
  });

  it('IGNORE is IGNORED where allowed and a failure where not', async () => {
    expect(await runApproval({ ...req, allowIgnore: true }, scripted([answer({ action: 'IGNORE', requestId: 'req-7' })]).deps)).to.deep.equal({ decision: 'IGNORED', attempts: 1 });
    const out = await runApproval(req, scripted([answer({ action: 'IGNORE', requestId: 'req-7' })]).deps);
    expect(out).to.include({ decision: 'FAILED', code: 'CALLBACK_RESPONSE_INVALID' });
  });

  it('RETRY resends the identical JWT after the interval, then takes the next answer', async () => {
    const retry = answer({ action: 'RETRY', requestId: 'req-7' });
    const { deps, sent, clock } = scripted([retry, retry, retry, answer({ action: 'APPROVE', requestId: 'req-7' })]);
    const start = clock.nowMs;
    expect(await runApproval(req, deps)).to.deep.equal({ decision: 'APPROVED', attempts: 4 });
    expect(sent).to.deep.equal([req.requestJwt, req.requestJwt, req.requestJwt, req.requestJwt]);
    expect(clock.sleeps).to.deep.equal([180_000, 180_000, 180_000]);
    expect(clock.nowMs - start).to.equal(540_000);
  });

  it('RETRY then REJECT rejects; the interval is configurable', async () => {
    const { deps, clock } = scripted([answer({ action: 'RETRY', requestId: 'req-7' }), answer({ action: 'REJECT', requestId: 'req-7', rejectionReason: 'no' })]);
    expect(await runApproval(req, deps, { retryIntervalMs: 5_000 })).to.deep.equal({ decision: 'REJECTED', attempts: 2, reason: 'no' });
    expect(clock.sleeps).to.deep.equal([5_000]);
  });

  it('RETRY forever fails after the 20th resend (21 sends, 20 waits)', async () => {
    const { deps, sent, clock } = scripted([answer({ action: 'RETRY', requestId: 'req-7' })]);
    const out = await runApproval(req, deps);
    expect(out).to.include({ decision: 'FAILED', code: 'CALLBACK_RETRIES_EXHAUSTED', attempts: 21 });
    expect(sent).to.have.length(21);
    expect(clock.sleeps).to.deep.equal(new Array(20).fill(180_000));
    const two = scripted([answer({ action: 'RETRY', requestId: 'req-7' })]);
    expect(await runApproval(req, two.deps, { maxRetries: 2 })).to.include({ decision: 'FAILED', attempts: 3 });
    expect(two.sent).to.have.length(3);
  });

  it('the pure transition: RETRY after attempts 1..20 resends; after attempt 21 (the 20th resend) it ends', () => {
    const opts = { retryIntervalMs: 1, maxRetries: 20 };
    const retry = { claims: { action: 'RETRY' as const, requestId: 'r' } };
    expect(decide(retry, 1, opts)).to.deep.equal({ next: 'retry', afterMs: 1 });
    expect(decide(retry, 20, opts)).to.deep.equal({ next: 'retry', afterMs: 1 });
    expect(decide(retry, 21, opts)).to.have.nested.property('outcome.code', 'CALLBACK_RETRIES_EXHAUSTED');
    expect(decide(retry, 1, { ...opts, maxRetries: 0 })).to.have.nested.property('outcome.decision', 'FAILED');
  });

  it('a timeout fails the request at once: no retry, no wait', async () => {
    const { deps, sent, clock } = scripted([{ ok: false, code: 'CALLBACK_TIMEOUT', message: 'no answer within 30000 ms' }, answer({ action: 'APPROVE', requestId: 'req-7' })]);
    expect(await runApproval(req, deps)).to.deep.equal({ decision: 'FAILED', attempts: 1, code: 'CALLBACK_TIMEOUT', reason: 'no answer within 30000 ms' });
    expect(sent).to.have.length(1);
    expect(clock.sleeps).to.deep.equal([]);
  });

  it('transport errors, HTTP failures and a throwing send all fail with their reason', async () => {
    const http500 = await runApproval(req, scripted([{ ok: false, code: 'CALLBACK_HTTP_STATUS', message: 'HTTP 500', status: 500 }]).deps);
    expect(http500).to.deep.equal({ decision: 'FAILED', attempts: 1, code: 'CALLBACK_HTTP_STATUS', reason: 'HTTP 500', status: 500 });
    const unreachable = await runApproval(req, scripted([{ ok: false, code: 'CALLBACK_UNREACHABLE', message: 'ECONNREFUSED' }]).deps);
    expect(unreachable).to.include({ decision: 'FAILED', code: 'CALLBACK_UNREACHABLE' });
    const thrower = scripted([() => Promise.reject(new Error('vsock gone'))]);
    expect(await runApproval(req, thrower.deps)).to.include({ decision: 'FAILED', code: 'CALLBACK_UNREACHABLE', attempts: 1 });
    const tooLarge = await runApproval(req, scripted([{ ok: false, code: 'CALLBACK_RESPONSE_TOO_LARGE', message: 'over 1 MiB' }]).deps);
    expect(tooLarge).to.include({ decision: 'FAILED', code: 'CALLBACK_RESPONSE_TOO_LARGE' });
  });

  it('what an untrusted parent makes up is bounded: unknown codes, non-200 "answers", huge messages', async () => {
    const made = await runApproval(req, scripted([{ ok: false, code: 'APPROVED' as never, message: 'x'.repeat(10_000) }]).deps);
    expect(made).to.include({ decision: 'FAILED', code: 'CALLBACK_UNREACHABLE' });
    expect((made as { reason: string }).reason.length).to.be.at.most(300);
    const fake200 = await runApproval(req, scripted([{ ...answer({ action: 'APPROVE', requestId: 'req-7' }), status: 500 as 200 }]).deps);
    expect(fake200).to.include({ decision: 'FAILED', code: 'CALLBACK_HTTP_STATUS', status: 500 });
  });

  it('a response that does not verify fails without retrying: wrong requestId, other key, garbage', async () => {
    for (const bad of [
      answer({ action: 'APPROVE', requestId: 'req-8' }),
      answer({ action: 'APPROVE', requestId: 'req-7' }, rsaPair().privateKey),
      { ok: true as const, status: 200 as const, contentType: 'text/html', body: new TextEncoder().encode('<html>ok</html>') },
    ]) {
      const { deps, sent } = scripted([bad, answer({ action: 'APPROVE', requestId: 'req-7' })]);
      expect(await runApproval(req, deps)).to.include({ decision: 'FAILED', code: 'CALLBACK_RESPONSE_INVALID', attempts: 1 });
      expect(sent).to.have.length(1);
    }
  });

  it('exp is judged by the injected clock, which RETRY waits advance', async () => {
    const clock = { nowMs: 1_800_000_000_000, sleeps: [] as number[] };
    const expAt = clock.nowMs / 1000 + 60;
    const approve = answer({ action: 'APPROVE', requestId: 'req-7' }, handler.privateKey, { expiresAtSeconds: expAt });
    expect(await runApproval(req, scripted([approve], clock).deps)).to.include({ decision: 'APPROVED' });
    const later = { nowMs: clock.nowMs, sleeps: [] as number[] };
    const out = await runApproval(req, scripted([answer({ action: 'RETRY', requestId: 'req-7' }), approve], later).deps);
    expect(out, 'the APPROVE arrives 3 minutes later, past its exp').to.include({ decision: 'FAILED', code: 'CALLBACK_RESPONSE_INVALID', attempts: 2 });
  });
});
