// The rules alone: exact decimals, limits, allowlist, and how decisions compose.
import { expect } from 'chai';
import {
  addDecimal,
  allowlistRule,
  amountLimitRule,
  compareDecimal,
  composeRules,
  fixedConfigChangeRule,
  type Rule,
} from '../../callback-handler/rules.js';
import type { TxSignRequest } from '../../callback-handler/protocol.js';

const tx = (c: Partial<TxSignRequest>): TxSignRequest => ({ requestId: 'r', ...c });

describe('callback handler rules', () => {
  it('compares decimal strings exactly, where floating point would not', () => {
    expect(compareDecimal('1.000000000000000001', '1')).to.equal(1);
    expect(compareDecimal('1', '1.000000000000000001')).to.equal(-1);
    expect(compareDecimal('1.0', '1')).to.equal(0);
    expect(compareDecimal('0.1', '0.10000')).to.equal(0);
    expect(compareDecimal('9007199254740993', '9007199254740992')).to.equal(1);
    expect(compareDecimal('10', '9.99999999999999999999')).to.equal(1);
    expect(compareDecimal('007', '7')).to.equal(0);
    expect(addDecimal('0.1', '0.2')).to.equal('0.3');
    expect(addDecimal('0.05', '0.95')).to.equal('1.00');
    expect(addDecimal('0.001', '0')).to.equal('0.001');
    expect(() => compareDecimal('1e3', '1')).to.throw(/not a decimal/);
  });

  it('limit: at or under approves, over rejects, naming amount and limit', async () => {
    const rule = amountLimitRule({ ETH: '1' });
    expect(await rule(tx({ asset: 'ETH', amountStr: '1' }))).to.deep.equal({ action: 'APPROVE' });
    expect(await rule(tx({ asset: 'ETH', amountStr: '0.999999999999999999' }))).to.deep.equal({ action: 'APPROVE' });
    const over = await rule(tx({ asset: 'ETH', amountStr: '1.000000000000000001' }));
    expect(over.action).to.equal('REJECT');
    expect(over.reason).to.equal('amount 1.000000000000000001 ETH is over the limit 1');
  });

  it('limit fails closed: unknown asset, missing or odd amounts are rejected; "*" covers the rest', async () => {
    const rule = amountLimitRule({ ETH: '1' });
    for (const c of [
      { asset: 'BTC', amountStr: '0.1' },
      { asset: 'ETH' },
      { asset: 'ETH', amountStr: '1e-3' },
      { asset: 'ETH', amountStr: '-5' },
      { asset: 'ETH', amountStr: ' 0.1' },
      { asset: 'ETH', amountStr: 0.1 as unknown as string },
      { amountStr: '0.1' },
    ]) {
      expect((await rule(tx(c))).action, JSON.stringify(c)).to.equal('REJECT');
    }
    const wild = amountLimitRule({ ETH: '1', '*': '5' });
    expect((await wild(tx({ asset: 'BTC', amountStr: '5' }))).action).to.equal('APPROVE');
    expect((await wild(tx({ asset: 'BTC', amountStr: '5.1' }))).action).to.equal('REJECT');
    expect((await wild(tx({ asset: 'ETH', amountStr: '2' }))).action).to.equal('REJECT');
    expect(() => amountLimitRule({ ETH: 1 as unknown as string })).to.throw(/not a plain decimal/);
  });

  it('limit counts the destinations too when they add up to more than amountStr', async () => {
    const rule = amountLimitRule({ ETH: '1' });
    const dests = [{ amountNativeStr: '0.6' }, { amountNativeStr: '0.6' }];
    const r = await rule(tx({ asset: 'ETH', amountStr: '0.6', destinations: dests }));
    expect(r).to.deep.equal({ action: 'REJECT', reason: 'amount 1.2 ETH is over the limit 1' });
    expect((await rule(tx({ asset: 'ETH', amountStr: '0.6', destinations: [{ amountNativeStr: 'x' }] }))).action).to.equal('REJECT');
    expect((await rule(tx({ asset: 'ETH', amountStr: '1', destinations: [{ amountNativeStr: '0.5' }, { amountNativeStr: '0.5' }] }))).action).to.equal('APPROVE');
  });

  it('allowlist: EVM addresses without case, others exactly; every destination must be listed', async () => {
    const evm = '0x' + 'aB'.repeat(20);
    const btc = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';
    const sol = '4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T';
    const rule = allowlistRule([evm, btc, sol]);
    expect((await rule(tx({ destAddress: evm.toLowerCase() }))).action).to.equal('APPROVE');
    expect((await rule(tx({ destAddress: evm.toUpperCase().replace('0X', '0x') }))).action).to.equal('APPROVE');
    expect((await rule(tx({ destAddress: sol }))).action).to.equal('APPROVE');
    expect((await rule(tx({ destAddress: sol.toLowerCase() }))).action).to.equal('REJECT');
    const miss = await rule(tx({ destAddress: '0x' + '12'.repeat(20) }));
    expect(miss).to.deep.equal({ action: 'REJECT', reason: `destination 0x${'12'.repeat(20)} is not on the allowlist` });
    // One listed and one not, through destinations: rejected.
    expect((await rule(tx({ destAddress: evm, destinations: [{ displayDstAddress: btc }, { dstAddress: 'bc1qother' }] }))).action).to.equal('REJECT');
    expect((await rule(tx({ destAddress: evm, destinations: [{ displayDstAddress: btc }] }))).action).to.equal('APPROVE');
    // Nothing to check is not a pass.
    expect((await rule(tx({}))).action).to.equal('REJECT');
    expect((await rule(tx({ destAddress: 5 as unknown as string }))).action).to.equal('REJECT');
  });

  it('compose: first REJECT wins, else RETRY, else APPROVE; a throwing or confused rule rejects', async () => {
    const approve: Rule = () => ({ action: 'APPROVE' });
    const retry: Rule = () => ({ action: 'RETRY', reason: 'busy' });
    const rejectA: Rule = () => ({ action: 'REJECT', reason: 'A' });
    const rejectB: Rule = async () => ({ action: 'REJECT', reason: 'B' });
    const throws: Rule = () => {
      throw new Error('boom');
    };
    const ignore: Rule = () => ({ action: 'IGNORE' });
    const x = tx({});
    expect(await composeRules([])(x)).to.deep.equal({ action: 'APPROVE' });
    expect(await composeRules([approve, approve])(x)).to.deep.equal({ action: 'APPROVE' });
    expect(await composeRules([approve, retry])(x)).to.deep.equal({ action: 'RETRY', reason: 'busy' });
    expect(await composeRules([retry, rejectA, rejectB])(x)).to.deep.equal({ action: 'REJECT', reason: 'A' });
    expect(await composeRules([rejectB, rejectA])(x)).to.deep.equal({ action: 'REJECT', reason: 'B' });
    expect((await composeRules([approve, throws])(x)).action).to.equal('REJECT');
    expect((await composeRules([ignore])(x)).action).to.equal('REJECT');
    expect(await fixedConfigChangeRule('APPROVE')({ requestId: 'c' })).to.deep.equal({ action: 'APPROVE' });
    expect((await fixedConfigChangeRule('REJECT')({ requestId: 'c' })).action).to.equal('REJECT');
  });
});
