// EIP-1559 fees from the node's recent blocks (eth_feeHistory). The tip is the median of the
// 50th-percentile tips of recent non-empty blocks (the node's eth_maxPriorityFeePerGas when all were
// empty); the fee cap is twice the next block's base fee plus the tip, which still clears after six
// consecutive full blocks (EIP-1559 lets the base fee rise at most 12.5% per block; 1.125^6 ≈ 2.03).

import type { PublicClient } from 'viem';
import { ChainError } from '../chain-errors.js';
import { toChainError } from './rpc-errors.js';

export interface Fees {
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
  /** The base fee the node expects for the next block. */
  readonly nextBaseFeePerGas: bigint;
}

const BLOCKS = 10;

function median(xs: bigint[]): bigint {
  const s = [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** The fee rule on a fee history (exported for tests). */
export function feesFromHistory(baseFees: readonly bigint[], gasUsedRatio: readonly number[], rewards: readonly (readonly bigint[])[] | undefined, fallbackTip: bigint | undefined): Fees {
  const next = baseFees[baseFees.length - 1];
  if (next === undefined) throw new ChainError('CHAIN_UNSUPPORTED', 'the node reports no base fee: the chain does not implement EIP-1559');
  const tips: bigint[] = [];
  gasUsedRatio.forEach((ratio, i) => {
    const t = rewards?.[i]?.[0];
    if (ratio > 0 && t !== undefined) tips.push(t);
  });
  const tip = tips.length > 0 ? median(tips) : fallbackTip;
  if (tip === undefined) throw new ChainError('CHAIN_RPC_ERROR', 'no recent tips and no suggested tip from the node');
  return { maxFeePerGas: 2n * next + tip, maxPriorityFeePerGas: tip, nextBaseFeePerGas: next };
}

export async function suggestFees(client: PublicClient): Promise<Fees> {
  let h: Awaited<ReturnType<PublicClient['getFeeHistory']>>;
  try {
    h = await client.getFeeHistory({ blockCount: BLOCKS, blockTag: 'latest', rewardPercentiles: [50] });
  } catch (e) {
    throw toChainError(e, 'reading the fee history');
  }
  if (!Array.isArray(h.baseFeePerGas) || h.baseFeePerGas.length === 0) {
    throw new ChainError('CHAIN_UNSUPPORTED', 'the node reports no base fee: the chain does not implement EIP-1559');
  }
  const anyFull = h.gasUsedRatio.some((r) => r > 0);
  let fallback: bigint | undefined;
  if (!anyFull) {
    try {
      fallback = await client.request({ method: 'eth_maxPriorityFeePerGas' }).then((x) => BigInt(x));
    } catch (e) {
      throw toChainError(e, 'reading the suggested priority fee');
    }
  }
  return feesFromHistory(h.baseFeePerGas, h.gasUsedRatio, h.reward, fallback);
}
