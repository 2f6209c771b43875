// The enclave's own policy (enclave/policy/policy-check.ts): per-transaction amount, destination
// allowlist, rolling window across restarts (the spends sealed, encoded and decoded as the sealed
// file is), and operations per API user. Each refusal happens whatever the coordinator's TAP said:
// these items are what a TAP that allows everything lets through.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { parseEnclavePolicy, type EnclavePolicy } from '../../shared/cosigner-api/enclave-policy.js';
import { getAddress } from 'viem';
import { parseSignItemPayload as parseSignItem, type SignItemPayload } from '../../shared/cosigner-api/sign-item.js';
import { checkPolicy, recordSpend } from '../../enclave/policy/policy-check.js';
import { createInitialState, decodeState, encodeState, MAX_SEALED_SPENDS, type EnclaveState } from '../../enclave/state.js';
import { expectCosignerError } from '../support/expect-error.js';
import { DESTINATION, ONE_ETH, rawPayload, transferPayload } from './fixtures.js';

const COORDINATOR = 'ab'.repeat(32);
const WORKSPACE = 'ws-1';
const HOUR = 3600_000;

describe('enclave policy: checked in the enclave before any signature', () => {
  const base = createInitialState();
  const withPolicy = (doc: EnclavePolicy, workspaceId = WORKSPACE): EnclaveState => ({
    ...base,
    policies: [{ serviceKeySha256: COORDINATOR, workspaceId, policy: parseEnclavePolicy(doc), changeId: randomUUID(), approvalSha256: 'cd'.repeat(32), setAt: 1 }],
  });
  const transfer = (amount: bigint, o: { to?: `0x${string}`; nonce?: number; initiatorId?: string } = {}): SignItemPayload =>
    parseSignItem({ ...transferPayload({ value: amount, to: o.to, nonce: o.nonce }), initiatorId: o.initiatorId ?? 'user-a' });
  const check = (state: EnclaveState, payload: SignItemPayload, now = 10 * HOUR, workspaceId = WORKSPACE) =>
    checkPolicy(state, { serviceKeySha256: COORDINATOR, workspaceId, payload, now });
  /** Seal the spend as the enclave does, through the sealed file's encoding (a restart reads it back). */
  const sealSpend = (state: EnclaveState, spend: ReturnType<typeof check>['spend']): EnclaveState => decodeState(encodeState(recordSpend(spend!)(state)));

  it('no policy sealed for the workspace: everything passes, nothing is counted', () => {
    expect(check(base, transfer(1000n * ONE_ETH))).to.deep.equal({ spend: null });
    const other = withPolicy({ assets: [{ assetId: 'ETH_TEST5', maxAmountPerTransaction: '1' }], users: [] }, 'ws-other');
    expect(check(other, transfer(ONE_ETH)).spend).to.equal(null);
  });

  it('refuses an amount above the per-transaction limit, and takes one at the limit', () => {
    const st = withPolicy({ assets: [{ assetId: 'ETH_TEST5', maxAmountPerTransaction: ONE_ETH.toString() }], users: [] });
    expect(check(st, transfer(ONE_ETH)).spend).to.equal(null);
    const e = expectCosignerError(() => check(st, transfer(ONE_ETH + 1n)), 'POLICY_VIOLATION', /above the enclave policy's limit/);
    expect(e.details?.reason).to.equal('amount');
  });

  it('refuses a destination outside the asset\'s allowlist (compared without case), takes one on it', () => {
    const st = withPolicy({ assets: [{ assetId: 'ETH_TEST5', allowedDestinations: [DESTINATION.toLowerCase()] }], users: [] });
    expect(check(st, transfer(ONE_ETH, { to: DESTINATION })).spend).to.equal(null);
    const other = getAddress('0x' + '42'.repeat(20));
    const e = expectCosignerError(() => check(st, transfer(ONE_ETH, { to: other })), 'POLICY_VIOLATION', /not on the enclave policy's allowlist/);
    expect(e.details?.reason).to.equal('destination');
  });

  it('a rolling window counts every transfer of the workspace, survives a restart, refuses the one that exceeds it, and frees up as time passes', () => {
    let st = withPolicy({ assets: [{ assetId: 'ETH_TEST5', window: { seconds: 24 * 3600, maxAmount: (3n * ONE_ETH).toString() } }], users: [] });
    const t0 = 10 * HOUR;
    // Two users, 1 + 2 ETH: the window is the workspace's, not a user's.
    const first = check(st, transfer(ONE_ETH, { nonce: 1, initiatorId: 'user-a' }), t0);
    expect(first.spend).to.include({ amount: ONE_ETH.toString(), assetId: 'ETH_TEST5', at: t0 });
    st = sealSpend(st, first.spend);
    st = sealSpend(st, check(st, transfer(2n * ONE_ETH, { nonce: 2, initiatorId: 'user-b' }), t0 + HOUR).spend);
    expect(st.spends).to.have.length(2);

    const e = expectCosignerError(() => check(st, transfer(1n, { nonce: 3 }), t0 + 2 * HOUR), 'POLICY_VIOLATION', /above the enclave policy's/);
    expect(e.details?.reason).to.equal('window');
    // The same transaction signed again (a re-issued session) is not counted twice.
    const again = transfer(ONE_ETH, { nonce: 1, initiatorId: 'user-a' });
    expect(check(st, again, t0 + 2 * HOUR).spend).to.equal(null);
    // 24 h after the first spend it leaves the window: 1 ETH fits again, 1 ETH + 1 wei does not.
    const later = t0 + 24 * HOUR + 1;
    expect(check(st, transfer(ONE_ETH, { nonce: 4 }), later).spend).to.include({ amount: ONE_ETH.toString() });
    expectCosignerError(() => check(st, transfer(ONE_ETH + 1n, { nonce: 5 }), later), 'POLICY_VIOLATION', /above/);
  });

  it('a new policy keeps what was spent; spends no window can reach are dropped when the next is sealed', () => {
    let st = withPolicy({ assets: [{ assetId: 'ETH_TEST5', window: { seconds: 3600, maxAmount: ONE_ETH.toString() } }], users: [] });
    st = sealSpend(st, check(st, transfer(ONE_ETH, { nonce: 1 }), HOUR).spend);
    const replaced = { ...st, policies: withPolicy({ assets: [{ assetId: 'ETH_TEST5', window: { seconds: 7200, maxAmount: ONE_ETH.toString() } }], users: [] }).policies };
    expectCosignerError(() => check(replaced, transfer(1n, { nonce: 2 }), HOUR + 60_000), 'POLICY_VIOLATION', /above/);
    const farLater = HOUR + 32 * 24 * HOUR;
    const next = sealSpend(replaced, check(replaced, transfer(1n, { nonce: 3 }), farLater).spend);
    expect(next.spends!.map((s) => s.at)).to.deep.equal([farLater]);
  });

  it('refuses a new spend once the sealed counters are full, rather than forget one', () => {
    const st = withPolicy({ assets: [{ assetId: 'ETH_TEST5', window: { seconds: 3600, maxAmount: (10n ** 30n).toString() } }], users: [] });
    const now = 100 * HOUR;
    const spends = Array.from({ length: MAX_SEALED_SPENDS }, (_, i) => ({ serviceKeySha256: COORDINATOR, workspaceId: 'ws-x', assetId: 'ETH_TEST5', amount: '1', at: now - 1000, transferDigest: i.toString(16).padStart(64, '0') }));
    const e = expectCosignerError(() => check({ ...st, spends }, transfer(1n), now), 'POLICY_VIOLATION', /no more can be counted/);
    expect(e.details?.reason).to.equal('window-full');
  });

  it('operations per API user: a user limited to RAW may not transfer; one limited to TRANSFER may not sign RAW; others may do both', () => {
    const st = withPolicy({ assets: [], users: [{ userId: 'raw-only', operations: ['RAW'] }, { userId: 'transfer-only', operations: ['TRANSFER'] }] });
    expectCosignerError(() => check(st, transfer(1n, { initiatorId: 'raw-only' })), 'POLICY_VIOLATION', /does not allow TRANSFER for API user raw-only/);
    expect(check(st, transfer(1n, { initiatorId: 'transfer-only' })).spend).to.equal(null);
    const raw = (initiatorId?: string) => parseSignItem({ ...rawPayload(), ...(initiatorId ? { initiatorId } : {}) });
    expect(check(st, raw('raw-only')).spend).to.equal(null);
    const e = expectCosignerError(() => check(st, raw('transfer-only')), 'POLICY_VIOLATION', /does not allow RAW/);
    expect(e.details?.reason).to.equal('operation');
    expect(check(st, raw('someone-else')).spend).to.equal(null);
    // Work that names no initiator cannot be attributed: refused while users are limited.
    expectCosignerError(() => check(st, raw()), 'POLICY_VIOLATION', /\(none named\)/);
  });

  it('the policy document is a closed schema: negative or fractional amounts, unknown fields, duplicate entries, a window over 31 days are refused', () => {
    const bad: unknown[] = [
      { assets: [{ assetId: 'ETH_TEST5', maxAmountPerTransaction: '-1' }], users: [] },
      { assets: [{ assetId: 'ETH_TEST5', maxAmountPerTransaction: '0.5' }], users: [] },
      { assets: [{ assetId: 'ETH_TEST5', limit: '1' }], users: [] },
      { assets: [{ assetId: 'ETH_TEST5' }, { assetId: 'ETH_TEST5' }], users: [] },
      { assets: [{ assetId: 'ETH_TEST5', window: { seconds: 32 * 24 * 3600, maxAmount: '1' } }], users: [] },
      { assets: [{ assetId: 'ETH_TEST5', window: { seconds: 0, maxAmount: '1' } }], users: [] },
      { assets: [], users: [{ userId: 'u', operations: ['STAKE'] }] },
      { assets: [] },
    ];
    for (const doc of bad) expectCosignerError(() => parseEnclavePolicy(doc), 'SCHEMA_VIOLATION');
  });
});
