import { expect } from 'chai';
import { feesFromHistory } from '../../../coordinator/chains/evm/fees.js';
import { expectChainError } from './chain-test-kit.js';

describe('EIP-1559 fee rule', () => {
  it('caps at twice the next base fee plus the median tip of non-empty blocks', () => {
    const f = feesFromHistory([100n, 110n, 120n, 130n], [0.5, 0, 0.9], [[3n], [999n], [5n]], undefined);
    // Tips of the non-empty blocks: 3 and 5 → lower median 3; the empty block's 999 is ignored.
    expect(f).to.deep.equal({ maxPriorityFeePerGas: 3n, maxFeePerGas: 2n * 130n + 3n, nextBaseFeePerGas: 130n });
  });

  it('uses the node suggestion when recent blocks were empty', () => {
    expect(feesFromHistory([7n, 7n], [0], [[0n]], 1_000n)).to.deep.equal({ maxPriorityFeePerGas: 1_000n, maxFeePerGas: 1_014n, nextBaseFeePerGas: 7n });
  });

  it('refuses a chain without base fees, and no tip at all', async () => {
    await expectChainError(() => feesFromHistory([], [], undefined, 1n), 'CHAIN_UNSUPPORTED');
    await expectChainError(() => feesFromHistory([1n], [0], [[0n]], undefined), 'CHAIN_RPC_ERROR');
  });
});
