// The policy decision as shown on a transaction (`authorizationInfo`). The first three fields
// have the shape of Fireblocks' authorizationInfo (one group of approvers with its threshold,
// each user's status); the rest are ours and say which rule decided and where the approval is.
import { Type, type Static } from '@sinclair/typebox';
import { TapActionSchema } from './schema.js';
import type { TapDecision } from './evaluate.js';
import { tally, type ApprovalState, type Vote } from './tally.js';

export const AuthorizerStatusSchema = Type.Union([Type.Literal('PENDING_AUTHORIZATION'), Type.Literal('APPROVED'), Type.Literal('REJECTED'), Type.Literal('NA')]);
export type AuthorizerStatus = Static<typeof AuthorizerStatusSchema>;

/** The response schema (for route definitions and the OpenAPI document). */
export const AuthorizationInfoSchema = Type.Object(
  {
    allowOperatorAsAuthorizer: Type.Boolean({ description: 'may the initiator approve its own transaction' }),
    logic: Type.Union([Type.Literal('AND'), Type.Literal('OR')]),
    groups: Type.Array(
      Type.Object({
        th: Type.Integer({ minimum: 1, description: 'approvals needed from this group' }),
        users: Type.Record(Type.String(), AuthorizerStatusSchema),
      }, { additionalProperties: false }),
      { description: 'one group for REQUIRE_APPROVAL, none otherwise' },
    ),
    action: TapActionSchema,
    ruleIndex: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'the deciding rule, null for the default block' }),
    ruleName: Type.Union([Type.String(), Type.Null()]),
    reason: Type.String(),
    approval: Type.Union([Type.Literal('PENDING'), Type.Literal('APPROVED'), Type.Literal('REJECTED'), Type.Null()], { description: 'approval state for REQUIRE_APPROVAL, null otherwise' }),
  },
  { additionalProperties: false },
);
export type AuthorizationGroup = AuthorizationInfo['groups'][number];
export type AuthorizationInfo = Static<typeof AuthorizationInfoSchema>;

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
