// Approval tally for a REQUIRE_APPROVAL decision. Votes are taken in the order they were
// recorded and the first final state stands:
//   - APPROVED once `threshold` distinct eligible approvers have approved;
//   - REJECTED on the first reject (any one approver can veto, as with Fireblocks' authorizers),
//     or at once when fewer eligible approvers exist than the threshold (the initiator is not
//     eligible unless the rule allows it), since the threshold can then never be reached.
// A user's first vote is the one that counts: a repeated vote changes nothing.
import { CosignerError } from '../../shared/errors.js';
import type { Static } from '@sinclair/typebox';
import type { TapAction, TapApprovers, VoteValueSchema } from './schema.js';

export type VoteValue = Static<typeof VoteValueSchema>;
export interface Vote {
  user: string;
  vote: VoteValue;
}
export type ApprovalState = 'PENDING' | 'APPROVED' | 'REJECTED';

/** A TapRule or a TapDecision: what a tally needs to know of the rule that matched. */
export interface ApprovalRule {
  action: TapAction;
  approvers?: TapApprovers | null;
}

export type VoteRefusal = 'NO_APPROVAL_NEEDED' | 'NOT_AN_APPROVER' | 'INITIATOR' | 'BAD_VOTE' | 'ALREADY_VOTED' | 'ALREADY_DECIDED';

function refuse(reason: VoteRefusal, message: string, user?: string): never {
  throw new CosignerError('APPROVAL_REFUSED', message, user === undefined ? { reason } : { reason, user: user.slice(0, 128) });
}

function approversOf(rule: ApprovalRule): TapApprovers {
  if (rule.action !== 'REQUIRE_APPROVAL' || !rule.approvers) refuse('NO_APPROVAL_NEEDED', `this transaction needs no approval (action ${rule.action})`);
  return rule.approvers;
}

/** The users whose votes count: the listed approvers, without the initiator unless allowed. */
export function eligibleApprovers(rule: ApprovalRule, initiator: string): string[] {
  const a = approversOf(rule);
  return a.users.filter((u) => a.allowInitiator === true || u !== initiator);
}

function checkOne(rule: ApprovalRule, v: Vote, initiator: string): void {
  const a = approversOf(rule);
  if (typeof v !== 'object' || v === null || typeof v.user !== 'string') refuse('BAD_VOTE', 'a vote is {user, vote}');
  if (v.vote !== 'APPROVE' && v.vote !== 'REJECT') refuse('BAD_VOTE', 'vote must be APPROVE or REJECT', v.user);
  if (!a.users.includes(v.user)) refuse('NOT_AN_APPROVER', 'this user is not an approver of the rule that matched', v.user);
  if (v.user === initiator && a.allowInitiator !== true) refuse('INITIATOR', 'the initiator may not approve its own transaction under this rule', v.user);
}

/**
 * State of the approval after `votes` (in recorded order). A vote from anyone not eligible
 * throws APPROVAL_REFUSED: such a vote must never have been stored.
 */
export function tally(rule: ApprovalRule, votes: readonly Vote[], opts: { initiator: string }): ApprovalState {
  const a = approversOf(rule);
  for (const v of votes) checkOne(rule, v, opts.initiator);
  if (eligibleApprovers(rule, opts.initiator).length < a.threshold) return 'REJECTED';
  const seen = new Set<string>();
  let approvals = 0;
  for (const v of votes) {
    if (seen.has(v.user)) continue;
    seen.add(v.user);
    if (v.vote === 'REJECT') return 'REJECTED';
    if (++approvals >= a.threshold) return 'APPROVED';
  }
  return 'PENDING';
}

/**
 * Check a new vote before storing it: refused (APPROVAL_REFUSED with details.reason) if the
 * user may not vote, has voted already, or the approval is already decided. Returns the state
 * the tally will have with the vote added.
 */
export function admitVote(rule: ApprovalRule, recorded: readonly Vote[], vote: Vote, opts: { initiator: string }): ApprovalState {
  checkOne(rule, vote, opts.initiator);
  const state = tally(rule, recorded, opts);
  if (state !== 'PENDING') refuse('ALREADY_DECIDED', `the approval is already ${state}`, vote.user);
  if (recorded.some((r) => r.user === vote.user)) refuse('ALREADY_VOTED', 'this user has voted already', vote.user);
  return tally(rule, [...recorded, vote], opts);
}
