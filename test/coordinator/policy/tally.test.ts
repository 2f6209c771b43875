// Approvals with a threshold: who may vote, duplicates, the veto, unreachable thresholds, and
// the authorizationInfo shown on the transaction.
import { expect } from 'chai';
import { isCosignerError } from '../../../shared/errors.js';
import { Value } from '@sinclair/typebox/value';
import { admitVote, authorizationInfo as info_, AuthorizationInfoSchema, eligibleApprovers, evaluate, tally, type TapDecision, type TapRule, type Vote } from '../../../coordinator/policy/index.js';

/** authorizationInfo, checked against the response schema a route would serialise it with. */
const authorizationInfo: typeof info_ = (...args) => {
  const info = info_(...args);
  expect(Value.Check(AuthorizationInfoSchema, info), JSON.stringify(info)).to.equal(true);
  return info;
};

const rule = (users: string[], threshold: number, allowInitiator?: boolean): TapRule => ({
  name: 'needs-approval', operations: '*', initiators: '*', assets: '*', source: '*', destination: '*', action: 'REQUIRE_APPROVAL',
  approvers: allowInitiator === undefined ? { users, threshold } : { users, threshold, allowInitiator },
});
const A = (user: string): Vote => ({ user, vote: 'APPROVE' });
const R = (user: string): Vote => ({ user, vote: 'REJECT' });
const opts = { initiator: 'initiator' };

function refusal(fn: () => unknown): string | undefined {
  try { fn(); } catch (e) {
    if (isCosignerError(e, 'APPROVAL_REFUSED')) return String(e.details?.reason);
    throw e;
  }
  return undefined;
}

describe('TAP approvals', () => {
  const r23 = rule(['ann', 'bob', 'cat'], 2);

  it('2 of 3: pending until two distinct approvers approve', () => {
    expect(tally(r23, [], opts)).to.equal('PENDING');
    expect(tally(r23, [A('ann')], opts)).to.equal('PENDING');
    expect(tally(r23, [A('ann'), A('cat')], opts)).to.equal('APPROVED');
    expect(tally(r23, [A('bob'), A('ann'), A('cat')], opts)).to.equal('APPROVED');
    expect(tally(rule(['ann'], 1), [A('ann')], opts)).to.equal('APPROVED');
    expect(tally(rule(['ann', 'bob', 'cat'], 3), [A('ann'), A('bob')], opts)).to.equal('PENDING');
  });

  it('duplicates count once (a repeated or changed vote changes nothing)', () => {
    expect(tally(r23, [A('ann'), A('ann'), A('ann')], opts)).to.equal('PENDING');
    expect(tally(r23, [A('ann'), R('ann')], opts)).to.equal('PENDING');
    expect(tally(r23, [A('ann'), R('ann'), A('bob')], opts)).to.equal('APPROVED');
  });

  it('the first reject rejects (veto); a decision already reached stands', () => {
    expect(tally(r23, [R('cat')], opts)).to.equal('REJECTED');
    expect(tally(r23, [A('ann'), R('bob')], opts)).to.equal('REJECTED');
    expect(tally(r23, [A('ann'), A('bob'), R('cat')], opts)).to.equal('APPROVED');
  });

  it('the initiator may not approve its own transaction unless the rule allows it; an unreachable threshold rejects at once', () => {
    const withInitiator = rule(['initiator', 'ann'], 2);
    expect(eligibleApprovers(withInitiator, 'initiator')).to.deep.equal(['ann']);
    expect(tally(withInitiator, [], opts)).to.equal('REJECTED'); // 1 eligible < threshold 2
    expect(refusal(() => tally(withInitiator, [A('initiator')], opts))).to.equal('INITIATOR');
    expect(tally(rule(['initiator', 'ann'], 1), [A('ann')], opts)).to.equal('APPROVED');
    const allowed = rule(['initiator', 'ann'], 2, true);
    expect(tally(allowed, [A('initiator')], opts)).to.equal('PENDING');
    expect(tally(allowed, [A('initiator'), A('ann')], opts)).to.equal('APPROVED');
  });

  it('a vote by a non-approver, a malformed vote, or a vote on a rule without approval is refused with a typed error', () => {
    expect(refusal(() => tally(r23, [A('ann'), A('mallory')], opts))).to.equal('NOT_AN_APPROVER');
    expect(refusal(() => tally(r23, [A('ANN')], opts))).to.equal('NOT_AN_APPROVER');
    expect(refusal(() => tally(r23, [{ user: 'ann', vote: 'MAYBE' as 'APPROVE' }], opts))).to.equal('BAD_VOTE');
    expect(refusal(() => tally(r23, [null as unknown as Vote], opts))).to.equal('BAD_VOTE');
    expect(refusal(() => tally({ ...r23, action: 'ALLOW' }, [], opts))).to.equal('NO_APPROVAL_NEEDED');
    expect(refusal(() => tally({ action: 'REQUIRE_APPROVAL', approvers: null }, [], opts))).to.equal('NO_APPROVAL_NEEDED');
  });

  it('admitVote: refuses second votes, votes after the decision and ineligible voters; returns the new state', () => {
    expect(admitVote(r23, [], A('ann'), opts)).to.equal('PENDING');
    expect(admitVote(r23, [A('ann')], A('bob'), opts)).to.equal('APPROVED');
    expect(admitVote(r23, [A('ann')], R('bob'), opts)).to.equal('REJECTED');
    expect(refusal(() => admitVote(r23, [A('ann')], A('ann'), opts))).to.equal('ALREADY_VOTED');
    expect(refusal(() => admitVote(r23, [A('ann')], R('ann'), opts))).to.equal('ALREADY_VOTED');
    expect(refusal(() => admitVote(r23, [A('ann'), A('bob')], A('cat'), opts))).to.equal('ALREADY_DECIDED');
    expect(refusal(() => admitVote(r23, [R('ann')], A('bob'), opts))).to.equal('ALREADY_DECIDED');
    expect(refusal(() => admitVote(r23, [], A('mallory'), opts))).to.equal('NOT_AN_APPROVER');
    expect(refusal(() => admitVote(rule(['initiator', 'ann'], 1), [], A('initiator'), opts))).to.equal('INITIATOR');
  });

  describe('authorizationInfo', () => {
    const facts = {
      operation: 'TRANSFER' as const, initiator: 'initiator', assetId: 'ETH_TEST5', source: { type: 'VAULT_ACCOUNT', id: '0' },
      destination: { type: 'ONE_TIME_ADDRESS' as const, address: '0x0' }, amount: { base: 1n, decimals: 18 }, at: 0,
    };
    const noHistory = { sumAmounts: async () => 0n };
    let decision: TapDecision;
    before(async () => {
      decision = await evaluate({ rules: [rule(['ann', 'bob', 'initiator'], 2)] }, facts, noHistory);
    });

    it('REQUIRE_APPROVAL: one group with its threshold and each approver\'s status, as the votes arrive', () => {
      expect(authorizationInfo(decision, [], opts)).to.deep.equal({
        allowOperatorAsAuthorizer: false, logic: 'AND',
        groups: [{ th: 2, users: { ann: 'PENDING_AUTHORIZATION', bob: 'PENDING_AUTHORIZATION', initiator: 'NA' } }],
        action: 'REQUIRE_APPROVAL', ruleIndex: 0, ruleName: 'needs-approval', reason: 'rule 0 "needs-approval" matched: REQUIRE_APPROVAL, 2 of 3 approvers needed',
        approval: 'PENDING',
      });
      expect(authorizationInfo(decision, [A('bob')], opts).groups[0]!.users).to.deep.equal({ ann: 'PENDING_AUTHORIZATION', bob: 'APPROVED', initiator: 'NA' });
      const approved = authorizationInfo(decision, [A('bob'), A('ann')], opts);
      expect(approved.approval).to.equal('APPROVED');
      expect(approved.groups[0]!.users).to.deep.equal({ ann: 'APPROVED', bob: 'APPROVED', initiator: 'NA' });
      const rejected = authorizationInfo(decision, [R('ann')], opts);
      expect(rejected.approval).to.equal('REJECTED');
      expect(rejected.groups[0]!.users).to.deep.equal({ ann: 'REJECTED', bob: 'NA', initiator: 'NA' });
    });

    it('ALLOW and BLOCK (also the default block) show the rule and no groups; the JSON round-trips', async () => {
      const allow = await evaluate({ rules: [{ ...rule(['a'], 1), action: 'ALLOW', approvers: undefined }] }, facts, noHistory);
      expect(authorizationInfo(allow, [], opts)).to.deep.equal({ allowOperatorAsAuthorizer: false, logic: 'AND', groups: [], action: 'ALLOW', ruleIndex: 0, ruleName: 'needs-approval', reason: 'rule 0 "needs-approval" matched: ALLOW', approval: null });
      const blocked = await evaluate({ rules: [] }, facts, noHistory);
      const info = authorizationInfo(blocked, [], opts);
      expect(info).to.include({ action: 'BLOCK', ruleIndex: null, ruleName: null, approval: null });
      expect(JSON.parse(JSON.stringify(info))).to.deep.equal(info);
    });

    it('an approver id such as "__proto__" stays an ordinary entry', async () => {
      const d = await evaluate({ rules: [rule(['__proto__', 'ann'], 1)] }, facts, noHistory);
      const info = authorizationInfo(d, [A('__proto__')], opts);
      expect(Object.keys(info.groups[0]!.users)).to.deep.equal(['__proto__', 'ann']);
      expect(JSON.parse(JSON.stringify(info)).groups[0].users.__proto__).to.equal('APPROVED');
      expect(info.approval).to.equal('APPROVED');
    });
  });
});
