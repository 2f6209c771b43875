// TAP evaluation: every action, every matcher, first match, default block, exact amounts and the
// cumulative window at its edges. History is an in-memory implementation of the TapHistory
// contract (the coordinator's database implements the same query).
import { expect } from 'chai';
import { isCosignerError, type ErrorCode } from '../../../shared/errors.js';
import { evaluate, type CumulativeQuery, type TapHistory, type TapPolicy, type TapRule, type TransactionFacts } from '../../../coordinator/policy/index.js';

type Status = 'COMPLETED' | 'PENDING_AUTHORIZATION' | 'BROADCASTING' | 'REJECTED' | 'BLOCKED' | 'CANCELLED' | 'FAILED';
interface Recorded { ruleName: string; initiator: string; assetId: string; createdAt: number; base: bigint; status: Status }

/** The TapHistory contract over a list: live statuses, same rule/initiator/asset, createdAt ≥ since. */
class ListHistory implements TapHistory {
  readonly queries: CumulativeQuery[] = [];
  constructor(readonly records: Recorded[] = []) {}
  async sumAmounts(q: CumulativeQuery): Promise<bigint> {
    this.queries.push(q);
    const dead: Status[] = ['REJECTED', 'BLOCKED', 'CANCELLED', 'FAILED'];
    return this.records
      .filter((r) => r.ruleName === q.ruleName && r.initiator === q.initiator && r.assetId === q.assetId && r.createdAt >= q.since && !dead.includes(r.status))
      .reduce((s, r) => s + r.base, 0n);
  }
}

const none: TapHistory = { sumAmounts: async () => { throw new Error('history must not be consulted'); } };

const ANY: Omit<TapRule, 'name' | 'action'> = { operations: '*', initiators: '*', assets: '*', source: '*', destination: '*' };
const rule = (name: string, over: Partial<TapRule> = {}): TapRule => ({ name, ...ANY, action: 'ALLOW', ...over });
const policy = (...rules: TapRule[]): TapPolicy => ({ rules });

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const wei = (eth: string) => BigInt(eth.split('.')[0]!) * 10n ** 18n + BigInt((eth.split('.')[1] ?? '').padEnd(18, '0'));

function transfer(over: Partial<TransactionFacts> = {}): TransactionFacts {
  return {
    operation: 'TRANSFER',
    initiator: 'user-alice',
    assetId: 'ETH_TEST5',
    source: { type: 'VAULT_ACCOUNT', id: '0' },
    destination: { type: 'ONE_TIME_ADDRESS', address: '0x000000000000000000000000000000000000dEaD' },
    amount: { base: wei('1'), decimals: 18 },
    at: T0,
    ...over,
  };
}
function raw(over: Partial<TransactionFacts> = {}): TransactionFacts {
  return { ...transfer(), operation: 'RAW', assetId: null, destination: null, amount: null, ...over };
}

async function decide(p: TapPolicy, f: TransactionFacts, h: TapHistory = none) {
  return evaluate(p, f, h);
}
async function expectRejects(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  let err: unknown;
  try { await p; } catch (e) { err = e; }
  expect(isCosignerError(err, code), String(err)).to.equal(true);
}

describe('TAP evaluate', () => {
  describe('actions and order', () => {
    it('ALLOW, BLOCK and REQUIRE_APPROVAL each decide, naming the rule', async () => {
      const allow = await decide(policy(rule('ok')), transfer());
      expect(allow).to.deep.equal({ action: 'ALLOW', ruleIndex: 0, ruleName: 'ok', reason: 'rule 0 "ok" matched: ALLOW', approvers: null });
      const block = await decide(policy(rule('no', { action: 'BLOCK' })), transfer());
      expect(block).to.include({ action: 'BLOCK', ruleIndex: 0, ruleName: 'no' });
      const approvers = { users: ['ann', 'bob', 'cat'], threshold: 2 };
      const ask = await decide(policy(rule('ask', { action: 'REQUIRE_APPROVAL', approvers })), transfer());
      expect(ask).to.deep.include({ action: 'REQUIRE_APPROVAL', ruleIndex: 0, ruleName: 'ask', approvers });
      expect(ask.reason).to.equal('rule 0 "ask" matched: REQUIRE_APPROVAL, 2 of 3 approvers needed');
      approvers.users.push('mallory'); // the decision keeps its own copy
      expect(ask.approvers!.users).to.deep.equal(['ann', 'bob', 'cat']);
    });

    it('the first matching rule wins, whatever follows', async () => {
      const p = policy(rule('a', { initiators: ['someone-else'], action: 'ALLOW' }), rule('b', { action: 'BLOCK' }), rule('c', { action: 'ALLOW' }));
      expect(await decide(p, transfer())).to.include({ action: 'BLOCK', ruleIndex: 1, ruleName: 'b' });
      expect(await decide(p, transfer({ initiator: 'someone-else' }))).to.include({ action: 'ALLOW', ruleIndex: 0, ruleName: 'a' });
      const swapped = policy(p.rules[2]!, p.rules[1]!);
      expect(await decide(swapped, transfer())).to.include({ action: 'ALLOW', ruleName: 'c' });
    });

    it('no matching rule, or no rules at all, blocks by default', async () => {
      const d = await decide(policy(rule('only-bob', { initiators: ['bob'] })), transfer());
      expect(d).to.deep.equal({ action: 'BLOCK', ruleIndex: null, ruleName: null, reason: 'no rule matched: blocked by default', approvers: null });
      expect(await decide(policy(), transfer())).to.include({ action: 'BLOCK', ruleIndex: null });
      expect(await decide(policy(), raw())).to.include({ action: 'BLOCK', ruleIndex: null });
    });
  });

  describe('matchers', () => {
    it('operations', async () => {
      const p = policy(rule('raw', { operations: ['RAW'] }), rule('tx', { operations: ['TRANSFER'], action: 'BLOCK' }));
      expect(await decide(p, raw())).to.include({ ruleName: 'raw' });
      expect(await decide(p, transfer())).to.include({ ruleName: 'tx' });
      expect(await decide(policy(rule('both', { operations: ['TRANSFER', 'RAW'] })), raw())).to.include({ ruleName: 'both' });
    });

    it('initiators', async () => {
      const p = policy(rule('team', { initiators: ['user-alice', 'user-bob'] }));
      expect(await decide(p, transfer())).to.include({ ruleName: 'team' });
      expect(await decide(p, transfer({ initiator: 'user-bob' }))).to.include({ ruleName: 'team' });
      expect(await decide(p, transfer({ initiator: 'user-alicia' }))).to.include({ ruleIndex: null });
      expect(await decide(p, transfer({ initiator: 'USER-ALICE' }))).to.include({ ruleIndex: null }); // exact, case-sensitive
    });

    it('assets (a RAW request without an asset matches only "*")', async () => {
      const p = policy(rule('eth', { assets: ['ETH_TEST5', 'TTK_TEST'] }), rule('any', { action: 'BLOCK' }));
      expect(await decide(p, transfer())).to.include({ ruleName: 'eth' });
      expect(await decide(p, transfer({ assetId: 'TTK_TEST' }))).to.include({ ruleName: 'eth' });
      expect(await decide(p, transfer({ assetId: 'SOL_TEST', amount: { base: 1n, decimals: 9 } }))).to.include({ ruleName: 'any' });
      expect(await decide(p, raw())).to.include({ ruleName: 'any' });
      expect(await decide(p, raw({ assetId: 'ETH_TEST5' }))).to.include({ ruleName: 'eth' });
    });

    it('source: any, any vault account, listed vault accounts', async () => {
      const p = policy(rule('v1', { source: { type: 'VAULT_ACCOUNT', ids: ['1', '2'] } }), rule('vault', { source: { type: 'VAULT_ACCOUNT' }, action: 'BLOCK' }));
      expect(await decide(p, transfer({ source: { type: 'VAULT_ACCOUNT', id: '2' } }))).to.include({ ruleName: 'v1' });
      expect(await decide(p, transfer({ source: { type: 'VAULT_ACCOUNT', id: '12' } }))).to.include({ ruleName: 'vault' });
      expect(await decide(p, transfer({ source: { type: 'EXCHANGE_ACCOUNT', id: '1' } }))).to.include({ ruleIndex: null });
      expect(await decide(p, transfer({ source: { type: 'VAULT_ACCOUNT', id: null } }))).to.include({ ruleName: 'vault' });
    });

    it('destination: whitelisted wallet (only when approved), one-time address, vault account, none', async () => {
      const p = policy(
        rule('wl-7', { destination: { type: 'EXTERNAL_WALLET', ids: ['w-7'] } }),
        rule('wl', { destination: { type: 'EXTERNAL_WALLET' } }),
        rule('ota', { destination: { type: 'ONE_TIME_ADDRESS' } }),
        rule('vault-3', { destination: { type: 'VAULT_ACCOUNT', ids: ['3'] } }),
        rule('vault', { destination: { type: 'VAULT_ACCOUNT' } }),
      );
      const wallet = (id: string, whitelisted: boolean) => transfer({ destination: { type: 'EXTERNAL_WALLET', id, whitelisted } });
      expect(await decide(p, wallet('w-7', true))).to.include({ ruleName: 'wl-7' });
      expect(await decide(p, wallet('w-8', true))).to.include({ ruleName: 'wl' });
      expect(await decide(p, wallet('w-7', false))).to.include({ ruleIndex: null }); // not (yet) approved: no whitelist rule matches
      expect(await decide(p, transfer())).to.include({ ruleName: 'ota' });
      expect(await decide(p, transfer({ destination: { type: 'VAULT_ACCOUNT', id: '3' } }))).to.include({ ruleName: 'vault-3' });
      expect(await decide(p, transfer({ destination: { type: 'VAULT_ACCOUNT', id: '4' } }))).to.include({ ruleName: 'vault' });
      expect(await decide(p, raw())).to.include({ ruleIndex: null }); // RAW has no destination
      expect(await decide(policy(rule('star')), raw())).to.include({ ruleName: 'star' });
    });

    it('amount bounds are inclusive, and a RAW request (no amount) never matches an amount rule', async () => {
      const p = policy(rule('small', { amount: { min: '0.5', max: '2' } }), rule('rest', { action: 'BLOCK' }));
      expect(await decide(p, transfer({ amount: { base: wei('0.5'), decimals: 18 } }))).to.include({ ruleName: 'small' });
      expect(await decide(p, transfer({ amount: { base: wei('2'), decimals: 18 } }))).to.include({ ruleName: 'small' });
      expect(await decide(p, transfer({ amount: { base: wei('0.5') - 1n, decimals: 18 } }))).to.include({ ruleName: 'rest' });
      expect(await decide(p, transfer({ amount: { base: wei('2') + 1n, decimals: 18 } }))).to.include({ ruleName: 'rest' });
      expect(await decide(policy(rule('min-only', { amount: { min: '1' } })), transfer({ amount: { base: 10n ** 40n, decimals: 18 } }))).to.include({ ruleName: 'min-only' });
      expect(await decide(policy(rule('max-only', { amount: { max: '1' } })), transfer({ amount: { base: 0n, decimals: 18 } }))).to.include({ ruleName: 'max-only' });
      expect(await decide(policy(rule('any-amount', { amount: { min: '0' } }), rule('rest', { action: 'BLOCK' })), raw())).to.include({ ruleName: 'rest' });
    });

    it('every matcher must hold at once', async () => {
      const strict = rule('strict', {
        operations: ['TRANSFER'], initiators: ['user-alice'], assets: ['ETH_TEST5'],
        source: { type: 'VAULT_ACCOUNT', ids: ['0'] }, destination: { type: 'ONE_TIME_ADDRESS' }, amount: { max: '1' },
      });
      const p = policy(strict);
      expect(await decide(p, transfer())).to.include({ ruleName: 'strict' });
      for (const f of [
        transfer({ initiator: 'bob' }), transfer({ assetId: 'TTK_TEST' }), transfer({ source: { type: 'VAULT_ACCOUNT', id: '1' } }),
        transfer({ destination: { type: 'VAULT_ACCOUNT', id: '1' } }), transfer({ amount: { base: wei('1') + 1n, decimals: 18 } }), raw(),
      ]) {
        expect(await decide(p, f)).to.include({ ruleIndex: null });
      }
    });
  });

  describe('exact decimal comparison', () => {
    it('0.1 + 0.2 style: 0.3 is exactly 0.3, with 18 decimals and one wei either side', async () => {
      expect(0.1 + 0.2 <= 0.3).to.equal(false); // what a float comparison would have decided
      const p = policy(rule('max-0.3', { amount: { max: '0.3' } }));
      const sum = wei('0.1') + wei('0.2');
      expect(await decide(p, transfer({ amount: { base: sum, decimals: 18 } }))).to.include({ ruleName: 'max-0.3' });
      expect(await decide(p, transfer({ amount: { base: sum + 1n, decimals: 18 } }))).to.include({ ruleIndex: null });
      const min = policy(rule('min-0.3', { amount: { min: '0.3' } }));
      expect(await decide(min, transfer({ amount: { base: sum, decimals: 18 } }))).to.include({ ruleName: 'min-0.3' });
      expect(await decide(min, transfer({ amount: { base: sum - 1n, decimals: 18 } }))).to.include({ ruleIndex: null });
    });

    it('the smallest unit of an 18-decimal asset and amounts far beyond 2^53', async () => {
      const p = policy(rule('one-wei', { amount: { min: '0.000000000000000001', max: '0.000000000000000001' } }));
      expect(await decide(p, transfer({ amount: { base: 1n, decimals: 18 } }))).to.include({ ruleName: 'one-wei' });
      expect(await decide(p, transfer({ amount: { base: 2n, decimals: 18 } }))).to.include({ ruleIndex: null });
      expect(await decide(p, transfer({ amount: { base: 0n, decimals: 18 } }))).to.include({ ruleIndex: null });
      const big = policy(rule('big', { amount: { max: '123456789012345678901234567890.123456789012345678' } }));
      const limit = 123456789012345678901234567890123456789012345678n;
      expect(await decide(big, transfer({ amount: { base: limit, decimals: 18 } }))).to.include({ ruleName: 'big' });
      expect(await decide(big, transfer({ amount: { base: limit + 1n, decimals: 18 } }))).to.include({ ruleIndex: null });
    });

    it('limits are in asset units, whatever the asset decimals, and may be finer than the asset', async () => {
      const p = policy(rule('max-1.5', { amount: { max: '1.5' } }));
      expect(await decide(p, transfer({ assetId: 'BTC_TEST', amount: { base: 150_000_000n, decimals: 8 } }))).to.include({ ruleName: 'max-1.5' });
      expect(await decide(p, transfer({ assetId: 'BTC_TEST', amount: { base: 150_000_001n, decimals: 8 } }))).to.include({ ruleIndex: null });
      expect(await decide(p, transfer({ assetId: 'SOL_TEST', amount: { base: 1_500_000_000n, decimals: 9 } }))).to.include({ ruleName: 'max-1.5' });
      const fine = policy(rule('fine', { amount: { min: '0.0000000005' } })); // half a lamport
      expect(await decide(fine, transfer({ assetId: 'SOL_TEST', amount: { base: 1n, decimals: 9 } }))).to.include({ ruleName: 'fine' });
      expect(await decide(fine, transfer({ assetId: 'SOL_TEST', amount: { base: 0n, decimals: 9 } }))).to.include({ ruleIndex: null });
      const trailing = policy(rule('trailing', { amount: { max: '1.50000000000000000000000' } }));
      expect(await decide(trailing, transfer({ amount: { base: wei('1.5'), decimals: 18 } }))).to.include({ ruleName: 'trailing' });
    });
  });

  describe('cumulative limit in a time window', () => {
    const W = 3600;
    const daily = (over: Partial<TapRule> = {}) => rule('hourly', { cumulative: { max: '10', windowSeconds: W }, ...over });
    const rec = (ageMs: number, eth: string, over: Partial<Recorded> = {}): Recorded => ({
      ruleName: 'hourly', initiator: 'user-alice', assetId: 'ETH_TEST5', createdAt: T0 - ageMs, base: wei(eth), status: 'COMPLETED', ...over,
    });
    const p = policy(daily(), rule('over', { action: 'REQUIRE_APPROVAL', approvers: { users: ['ann'], threshold: 1 } }));

    it('asks the history for this rule, initiator and asset since exactly windowSeconds ago', async () => {
      const h = new ListHistory();
      const d = await decide(p, transfer(), h);
      expect(d).to.include({ ruleName: 'hourly' });
      expect(d.reason).to.equal('rule 0 "hourly" matched: ALLOW; 1 of at most 10 ETH_TEST5 in 3600 s');
      expect(h.queries).to.deep.equal([{ ruleName: 'hourly', initiator: 'user-alice', assetId: 'ETH_TEST5', since: T0 - W * 1000 }]);
    });

    it('the sum plus this transaction may reach the maximum but not pass it', async () => {
      expect(await decide(p, transfer(), new ListHistory([rec(1000, '4'), rec(2000, '5')]))).to.include({ ruleName: 'hourly' }); // 9 + 1 = 10
      expect(await decide(p, transfer({ amount: { base: wei('1') + 1n, decimals: 18 } }), new ListHistory([rec(1000, '4'), rec(2000, '5')]))).to.include({ ruleName: 'over' });
      expect(await decide(p, transfer({ amount: { base: wei('10') + 1n, decimals: 18 } }), new ListHistory())).to.include({ ruleName: 'over' });
    });

    it('window edges: a transaction exactly windowSeconds old still counts, one a millisecond older does not', async () => {
      const atEdge = new ListHistory([rec(W * 1000, '9.5')]);
      expect(await decide(p, transfer(), atEdge)).to.include({ ruleName: 'over' }); // 9.5 + 1 > 10
      const pastEdge = new ListHistory([rec(W * 1000 + 1, '9.5')]);
      expect(await decide(p, transfer(), pastEdge)).to.include({ ruleName: 'hourly' }); // 0 + 1
      // The same record, seen from a transaction one millisecond later, has left the window.
      expect(await decide(p, transfer({ at: T0 + 1 }), atEdge)).to.include({ ruleName: 'hourly' });
    });

    it('counts only live transactions of this rule, this initiator and this asset', async () => {
      const h = new ListHistory([
        rec(10, '9.5', { status: 'REJECTED' }), rec(10, '9.5', { status: 'CANCELLED' }), rec(10, '9.5', { status: 'FAILED' }), rec(10, '9.5', { status: 'BLOCKED' }),
        rec(10, '9.5', { ruleName: 'other' }), rec(10, '9.5', { initiator: 'user-bob' }), rec(10, '9.5', { assetId: 'TTK_TEST' }),
      ]);
      expect(await decide(p, transfer(), h)).to.include({ ruleName: 'hourly' });
      h.records.push(rec(10, '9.5', { status: 'PENDING_AUTHORIZATION' }));
      expect(await decide(p, transfer(), h)).to.include({ ruleName: 'over' });
    });

    it('the history is consulted only when every other matcher holds', async () => {
      const h = new ListHistory();
      await decide(policy(daily({ initiators: ['bob'] })), transfer(), h);
      await decide(policy(daily()), raw(), h);
      expect(h.queries).to.deep.equal([]);
    });

    it('a history that fails or answers nonsense throws, never decides', async () => {
      let err: unknown;
      try { await decide(p, transfer(), { sumAmounts: async () => { throw new Error('db down'); } }); } catch (e) { err = e; }
      expect(String(err)).to.contain('db down');
      await expectRejects(decide(p, transfer(), { sumAmounts: async () => -1n }), 'INTERNAL');
      await expectRejects(decide(p, transfer(), { sumAmounts: async () => 5 as unknown as bigint }), 'INTERNAL');
    });
  });

  describe('bad input fails closed', () => {
    it('an invalid (e.g. corrupted stored) policy throws POLICY_INVALID instead of deciding', async () => {
      await expectRejects(decide({ rules: [{ ...rule('x'), action: 'allow' as 'ALLOW' }] }, transfer()), 'POLICY_INVALID');
      await expectRejects(decide({ rules: [rule('x', { action: 'REQUIRE_APPROVAL' })] }, transfer()), 'POLICY_INVALID');
      await expectRejects(decide(null as unknown as TapPolicy, transfer()), 'POLICY_INVALID');
    });

    it('malformed facts throw SCHEMA_VIOLATION', async () => {
      const p = policy(rule('x'));
      for (const f of [
        transfer({ amount: { base: -1n, decimals: 18 } }), transfer({ amount: { base: 1 as unknown as bigint, decimals: 18 } }),
        transfer({ amount: { base: 1n, decimals: 1.5 } }), transfer({ amount: null }), transfer({ assetId: null }), transfer({ destination: null }),
        transfer({ initiator: '' }), transfer({ at: Number.NaN }), transfer({ operation: 'BURN' as 'RAW' }),
        transfer({ destination: { type: 'EXTERNAL_WALLET', id: 'w' } as never }), transfer({ destination: { type: 'EXCHANGE' } as never }),
      ]) {
        await expectRejects(decide(p, f), 'SCHEMA_VIOLATION');
      }
    });
  });
});
