// The policy decision as shown on a transaction (`authorizationInfo`). The first three fields
// have the shape of Fireblocks' authorizationInfo (one group of approvers with its threshold,
// each user's status); the rest are ours and say which rule decided and where the approval is.
import type { TapAction } from './schema.js';
import type { TapDecision } from './evaluate.js';
import { tally, type ApprovalState, type Vote } from './tally.js';

export type AuthorizerStatus = 'PENDING_AUTHORIZATION' | 'APPROVED' | 'REJECTED' | 'NA';

export interface AuthorizationGroup {
  /** Approvals needed from this group. */
  th: number;
  users: Record<string, AuthorizerStatus>;
}

export interface AuthorizationInfo {
  /** May the initiator approve its own transaction (Fireblocks' name for it). */
  allowOperatorAsAuthorizer: boolean;
  logic: 'AND' | 'OR';
  /** One group for REQUIRE_APPROVAL, none otherwise. */
  groups: AuthorizationGroup[];
  action: TapAction;
  ruleIndex: number | null;
  ruleName: string | null;
  reason: string;
  /** The approval's state for REQUIRE_APPROVAL, null otherwise. */
  approval: ApprovalState | null;
}

/** authorizationInfo for a decision and the votes recorded so far (in order). */
export function authorizationInfo(decision: TapDecision, votes: readonly Vote[], opts: { initiator: string }): AuthorizationInfo {
  const base = { action: decision.action, ruleIndex: decision.ruleIndex, ruleName: decision.ruleName, reason: decision.reason };
  const a = decision.approvers;
  if (decision.action !== 'REQUIRE_APPROVAL' || !a) {
    return { allowOperatorAsAuthorizer: false, logic: 'AND', groups: [], ...base, approval: null };
  }
  const state = tally(decision, votes, opts);
  const first = new Map<string, Vote['vote']>();
  for (const v of votes) if (!first.has(v.user)) first.set(v.user, v.vote);
  // Object.fromEntries defines own properties, so an id such as "__proto__" stays an entry.
  const users = Object.fromEntries(
    a.users.map((u): [string, AuthorizerStatus] => {
      const v = first.get(u);
      if (v) return [u, v === 'APPROVE' ? 'APPROVED' : 'REJECTED'];
      if (u === opts.initiator && a.allowInitiator !== true) return [u, 'NA'];
      return [u, state === 'PENDING' ? 'PENDING_AUTHORIZATION' : 'NA'];
    }),
  );
  return { allowOperatorAsAuthorizer: a.allowInitiator === true, logic: 'AND', groups: [{ th: a.threshold, users }], ...base, approval: state };
}
