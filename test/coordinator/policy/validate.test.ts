// Policy document validation: what is accepted, and for what is refused, the exact path and a
// reason that names the problem.
import { expect } from 'chai';
import { isCosignerError } from '../../../shared/errors.js';
import { parsePolicy, PolicyValidationError, validatePolicy, type PolicyIssue, type TapRule } from '../../../coordinator/policy/index.js';

const base: TapRule = { name: 'r', operations: '*', initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' };
const withRule = (over: Record<string, unknown>) => ({ rules: [{ ...base, ...over }] });

function issues(doc: unknown): PolicyIssue[] {
  const r = validatePolicy(doc);
  expect(r.ok, JSON.stringify(doc)).to.equal(false);
  return r.ok ? [] : r.issues;
}
function expectIssue(doc: unknown, path: string, reason: RegExp): void {
  const found = issues(doc);
  expect(found.map((i) => i.path), JSON.stringify(found)).to.include(path);
  expect(found.find((i) => i.path === path)!.reason).to.match(reason);
}

describe('TAP policy validation', () => {
  it('accepts a full policy and returns a deep copy of it', () => {
    const doc = {
      rules: [
        { name: 'treasury ops', operations: ['TRANSFER'], initiators: ['u1', 'u2'], assets: ['ETH_TEST5', 'TTK_TEST'], source: { type: 'VAULT_ACCOUNT', ids: ['0', '1'] },
          destination: { type: 'EXTERNAL_WALLET', ids: ['w1'] }, amount: { min: '0', max: '5.25' }, cumulative: { max: '20', windowSeconds: 86400 }, action: 'ALLOW' },
        { name: 'big', operations: '*', initiators: '*', assets: '*', source: { type: 'VAULT_ACCOUNT' }, destination: { type: 'ONE_TIME_ADDRESS' },
          action: 'REQUIRE_APPROVAL', approvers: { users: ['a1', 'a2', 'a3'], threshold: 3, allowInitiator: true } },
        { name: 'raw', operations: ['RAW'], initiators: '*', assets: '*', source: '*', destination: { type: 'VAULT_ACCOUNT', ids: ['9'] }, action: 'BLOCK' },
      ],
    };
    const p = parsePolicy(doc);
    expect(p).to.deep.equal(doc);
    (doc.rules[0]!.initiators as string[]).push('intruder');
    expect(p.rules[0]!.initiators).to.deep.equal(['u1', 'u2']);
    expect(parsePolicy({ rules: [] })).to.deep.equal({ rules: [] });
  });

  it('structure: not an object, missing and unknown fields', () => {
    for (const doc of [null, 'rules', 42, []]) expectIssue(doc, '', /expected object/);
    expectIssue({}, '/rules', /^required$/);
    expectIssue({ rules: [], version: 2 }, '/version', /^unknown field$/);
    expectIssue(withRule({ colour: 'red' }), '/rules/0/colour', /^unknown field$/);
    const { name: _n, ...noName } = base;
    expectIssue({ rules: [noName] }, '/rules/0/name', /^required$/);
    expectIssue(JSON.parse('{"rules":[],"__proto__":{"polluted":true}}'), '/__proto__', /^unknown field$/);
  });

  it('lists: "*" or non-empty, distinct, and "*" is not an id', () => {
    expectIssue(withRule({ initiators: 'all' }), '/rules/0/initiators', /"\*" or a non-empty list of distinct API user ids/);
    expectIssue(withRule({ initiators: [] }), '/rules/0/initiators', /non-empty list/);
    expectIssue(withRule({ initiators: ['a', 'a'] }), '/rules/0/initiators', /duplicates/);
    expectIssue(withRule({ initiators: ['*'] }), '/rules/0/initiators/0', /"\*" is not an id/);
    expectIssue(withRule({ assets: ['ETH TEST'] }), '/rules/0/assets/0', /printable ASCII without spaces/);
    expectIssue(withRule({ assets: ['x'.repeat(129)] }), '/rules/0/assets/0', /id/);
    expectIssue(withRule({ operations: ['TRANSFER', 'BURN'] }), '/rules/0/operations/1', /expected TRANSFER or RAW, got the string "BURN"/);
    expectIssue(withRule({ name: 5 }), '/rules/0/name', /a name of 1 to 128 printable ASCII characters/);
    expectIssue(withRule({ operations: ['RAW', 'RAW'] }), '/rules/0/operations', /duplicates/);
  });

  it('source and destination: the variant the value names is checked field by field', () => {
    expectIssue(withRule({ source: { type: 'VAULT_ACCOUNT', ids: [] } }), '/rules/0/source/ids', /non-empty list of distinct vault account ids/);
    expectIssue(withRule({ source: { type: 'EXCHANGE_ACCOUNT' } }), '/rules/0/source', /VAULT_ACCOUNT/);
    expectIssue(withRule({ destination: { type: 'EXTERNAL_WALLET', wallets: ['w'] } }), '/rules/0/destination/wallets', /^unknown field$/);
    expectIssue(withRule({ destination: { type: 'ONE_TIME_ADDRESS', ids: ['x'] } }), '/rules/0/destination/ids', /^unknown field$/);
    expectIssue(withRule({ destination: { type: 'INTERNAL_WALLET' } }), '/rules/0/destination', /EXTERNAL_WALLET.*ONE_TIME_ADDRESS.*VAULT_ACCOUNT/);
    expectIssue(withRule({ destination: 'any' }), '/rules/0/destination', /"\*" or/);
  });

  it('amounts: plain decimals only; min ≤ max compared exactly; not on RAW-only rules', () => {
    for (const bad of ['-1', '1e3', '1E3', '.5', '5.', '01', '0x10', '1,5', ' 1', 'NaN', 'Infinity', '']) {
      expectIssue(withRule({ amount: { max: bad } }), '/rules/0/amount/max', /non-negative decimal amount/);
    }
    expectIssue(withRule({ amount: { max: 1 } }), '/rules/0/amount/max', /decimal amount.*got number 1/);
    expectIssue(withRule({ amount: {} }), '/rules/0/amount', /min, max or both/);
    expectIssue(withRule({ amount: { min: '0.30000000000000000001', max: '0.3' } }), '/rules/0/amount/min', /greater than max/);
    expect(validatePolicy(withRule({ amount: { min: '0.3', max: '0.30000000000000000000' } })).ok).to.equal(true); // equal
    expectIssue(withRule({ operations: ['RAW'], amount: { max: '1' } }), '/rules/0/amount', /RAW transactions carry no amount/);
    expectIssue(withRule({ operations: ['RAW'], cumulative: { max: '1', windowSeconds: 60 } }), '/rules/0/cumulative', /RAW/);
  });

  it('cumulative: max and a whole number of seconds between 1 s and 366 days', () => {
    expectIssue(withRule({ cumulative: { max: '1' } }), '/rules/0/cumulative/windowSeconds', /^required$/);
    expectIssue(withRule({ cumulative: { max: '1', windowSeconds: 0 } }), '/rules/0/cumulative/windowSeconds', /greater or equal to 1/);
    expectIssue(withRule({ cumulative: { max: '1', windowSeconds: 1.5 } }), '/rules/0/cumulative/windowSeconds', /integer/);
    expectIssue(withRule({ cumulative: { max: '1', windowSeconds: 366 * 86400 + 1 } }), '/rules/0/cumulative/windowSeconds', /less or equal/);
    expectIssue(withRule({ cumulative: { max: '-1', windowSeconds: 60 } }), '/rules/0/cumulative/max', /decimal/);
  });

  it('actions and approvers: approvers exactly with REQUIRE_APPROVAL, threshold within 1..users', () => {
    expectIssue(withRule({ action: 'allow' }), '/rules/0/action', /ALLOW, BLOCK or REQUIRE_APPROVAL/);
    expectIssue(withRule({ action: 'REQUIRE_APPROVAL' }), '/rules/0/approvers', /required when action is REQUIRE_APPROVAL/);
    expectIssue(withRule({ action: 'ALLOW', approvers: { users: ['a'], threshold: 1 } }), '/rules/0/approvers', /only allowed when action is REQUIRE_APPROVAL, not ALLOW/);
    expectIssue(withRule({ action: 'REQUIRE_APPROVAL', approvers: { users: ['a', 'b'], threshold: 3 } }), '/rules/0/approvers/threshold', /threshold 3 exceeds the 2 approver/);
    expectIssue(withRule({ action: 'REQUIRE_APPROVAL', approvers: { users: ['a'], threshold: 0 } }), '/rules/0/approvers/threshold', /greater or equal to 1/);
    expectIssue(withRule({ action: 'REQUIRE_APPROVAL', approvers: { users: ['a', 'a'], threshold: 1 } }), '/rules/0/approvers/users', /duplicates/);
    expectIssue(withRule({ action: 'REQUIRE_APPROVAL', approvers: { users: [], threshold: 1 } }), '/rules/0/approvers/users', /non-empty/);
    expectIssue(withRule({ action: 'REQUIRE_APPROVAL', approvers: { users: ['a'], threshold: 1, allowInitiator: 'yes' } }), '/rules/0/approvers/allowInitiator', /boolean/);
    expect(validatePolicy(withRule({ action: 'REQUIRE_APPROVAL', approvers: { users: ['a', 'b'], threshold: 2 } })).ok).to.equal(true);
  });

  it('rule names are unique; several problems are all reported with their rule index', () => {
    expectIssue({ rules: [base, { ...base, action: 'BLOCK' }] }, '/rules/1/name', /duplicate of the name of rule 0/);
    const found = issues({ rules: [base, { ...base, name: 'two', initiators: [] }, { ...base, name: 'three', extra: true }] });
    expect(found.map((i) => i.path)).to.deep.equal(['/rules/1/initiators', '/rules/2/extra']);
  });

  it('parsePolicy throws PolicyValidationError: code POLICY_INVALID, every issue, a message naming them', () => {
    let err: unknown;
    try { parsePolicy(withRule({ action: 'REQUIRE_APPROVAL', approvers: { users: ['a'], threshold: 2 } })); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(PolicyValidationError);
    expect(isCosignerError(err, 'POLICY_INVALID')).to.equal(true);
    const e = err as PolicyValidationError;
    expect(e.issues).to.deep.equal([{ path: '/rules/0/approvers/threshold', reason: 'threshold 2 exceeds the 1 approver(s) listed' }]);
    expect(e.message).to.equal('policy document refused: /rules/0/approvers/threshold: threshold 2 exceeds the 1 approver(s) listed');
  });

  it('size limits: at most 1000 rules, and the issue list is bounded', () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({ ...base, name: `r${i}` }));
    expectIssue({ rules: many }, '/rules', /1000/);
    const broken = Array.from({ length: 200 }, (_, i) => ({ ...base, name: `r${i}`, extra: 1 }));
    expect(issues({ rules: broken }).length).to.be.at.most(50);
  });
});
