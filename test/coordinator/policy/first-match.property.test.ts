// First-match semantics over random policies and transactions (fast-check): the deciding rule
// matches on its own, every earlier rule does not, and with no deciding rule none matches;
// appending rules never changes a decision already made.
import { expect } from 'chai';
import fc from 'fast-check';
import { evaluate, validatePolicy, type TapHistory, type TapRule, type TransactionFacts } from '../../../coordinator/policy/index.js';

const subset = <T>(xs: readonly T[]) => fc.subarray([...xs], { minLength: 1 });
const orStar = <T>(arb: fc.Arbitrary<T>) => fc.oneof(fc.constant('*' as const), arb);
const decimal = fc.constantFrom('0', '0.5', '1', '1.000000000000000001', '2.25', '3');

const ruleArb = (name: string): fc.Arbitrary<TapRule> =>
  fc.record({
    operations: orStar(subset(['TRANSFER', 'RAW'] as const)),
    initiators: orStar(subset(['u1', 'u2', 'u3'])),
    assets: orStar(subset(['A', 'B'])),
    source: orStar(fc.oneof(fc.constant({ type: 'VAULT_ACCOUNT' as const }), subset(['0', '1']).map((ids) => ({ type: 'VAULT_ACCOUNT' as const, ids })))),
    destination: orStar(fc.oneof(
      fc.constant({ type: 'ONE_TIME_ADDRESS' as const }),
      fc.option(subset(['w1', 'w2']), { nil: undefined }).map((ids) => (ids ? { type: 'EXTERNAL_WALLET' as const, ids } : { type: 'EXTERNAL_WALLET' as const })),
      fc.option(subset(['0', '1']), { nil: undefined }).map((ids) => (ids ? { type: 'VAULT_ACCOUNT' as const, ids } : { type: 'VAULT_ACCOUNT' as const })),
    )),
    amount: fc.option(fc.record({ min: fc.option(decimal, { nil: undefined }), max: fc.option(decimal, { nil: undefined }) }, { requiredKeys: [] }), { nil: undefined }),
    cumulative: fc.option(fc.record({ max: decimal, windowSeconds: fc.constantFrom(60, 3600) }), { nil: undefined }),
    action: fc.constantFrom('ALLOW' as const, 'BLOCK' as const, 'REQUIRE_APPROVAL' as const),
  }).map((r) => {
    const rule: TapRule = { name, ...r } as TapRule;
    if (rule.amount === undefined) delete rule.amount;
    else {
      if (rule.amount.min === undefined) delete rule.amount.min;
      if (rule.amount.max === undefined) delete rule.amount.max;
    }
    if (rule.cumulative === undefined) delete rule.cumulative;
    if (rule.action === 'REQUIRE_APPROVAL') rule.approvers = { users: ['ann', 'bob'], threshold: 1 };
    return rule;
  });

const policyArb = fc.integer({ min: 0, max: 6 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => ruleArb(`r${i}`))));

const factsArb: fc.Arbitrary<TransactionFacts> = fc.oneof(
  fc.record({
    operation: fc.constant('TRANSFER' as const),
    initiator: fc.constantFrom('u1', 'u2', 'u3'),
    assetId: fc.constantFrom('A', 'B'),
    source: fc.record({ type: fc.constant('VAULT_ACCOUNT'), id: fc.constantFrom('0', '1', '2') }),
    destination: fc.oneof(
      fc.record({ type: fc.constant('ONE_TIME_ADDRESS' as const), address: fc.constant('addr') }),
      fc.record({ type: fc.constant('EXTERNAL_WALLET' as const), id: fc.constantFrom('w1', 'w2', 'w3'), whitelisted: fc.boolean() }),
      fc.record({ type: fc.constant('VAULT_ACCOUNT' as const), id: fc.constantFrom('0', '1', '2') }),
    ),
    amount: fc.record({ base: fc.bigInt({ min: 0n, max: 4n * 10n ** 18n }), decimals: fc.constant(18) }),
    at: fc.constant(1_800_000_000_000),
  }),
  fc.record({
    operation: fc.constant('RAW' as const),
    initiator: fc.constantFrom('u1', 'u2', 'u3'),
    assetId: fc.constantFrom(null, 'A'),
    source: fc.record({ type: fc.constant('VAULT_ACCOUNT'), id: fc.constantFrom('0', '1') }),
    destination: fc.constant(null),
    amount: fc.constant(null),
    at: fc.constant(1_800_000_000_000),
  }),
);

/** A history whose answer depends only on the query, as a database's would. */
const historyArb = fc.dictionary(fc.constantFrom('r0', 'r1', 'r2', 'r3', 'r4', 'r5'), fc.bigInt({ min: 0n, max: 3n * 10n ** 18n })).map(
  (sums): TapHistory => ({ sumAmounts: async (q) => (sums[q.ruleName] ?? 0n) + (q.initiator === 'u2' ? 10n ** 18n : 0n) }),
);

describe('TAP first-match (property)', () => {
  it('the decision is the first rule that matches on its own; appended rules change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(policyArb, policyArb, factsArb, historyArb, async (rules, extra, facts, history) => {
        fc.pre(validatePolicy({ rules }).ok);
        const d = await evaluate({ rules }, facts, history);
        const alone = await Promise.all(rules.map(async (r) => (await evaluate({ rules: [r] }, facts, history)).ruleIndex === 0));
        const first = alone.indexOf(true);
        expect(d.ruleIndex).to.equal(first === -1 ? null : first);
        expect(d.action).to.equal(first === -1 ? 'BLOCK' : rules[first]!.action);
        expect(d.ruleName).to.equal(first === -1 ? null : rules[first]!.name);
        const renamed = extra.map((r, i) => ({ ...r, name: `extra${i}` }));
        const longer = { rules: [...rules, ...renamed] };
        fc.pre(validatePolicy(longer).ok);
        if (d.ruleIndex !== null) expect(await evaluate(longer, facts, history)).to.deep.equal(d);
      }),
      { numRuns: 200 },
    );
  });
});
