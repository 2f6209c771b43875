// Test helpers for the chain layer: a local key standing in for the MPC signature, and one
// assertion for "this fails with that ChainError".
import { expect } from 'chai';
import { generatePrivateKey, privateKeyToAccount, sign } from 'viem/accounts';
import type { Address, EvmSignature, Hex } from '../../../coordinator/chains/chain-adapter.js';
import { isChainError, type ChainError, type ChainErrorCode } from '../../../coordinator/chains/chain-errors.js';

export interface TestSigner {
  readonly address: Address;
  sign(hash: Hex): Promise<EvmSignature>;
}

/** A fresh secp256k1 key; sign() produces r, s (low-S) and the y-parity over a 32-byte hash. */
export function newSigner(): TestSigner {
  const privateKey = generatePrivateKey();
  return {
    address: privateKeyToAccount(privateKey).address,
    async sign(hash: Hex): Promise<EvmSignature> {
      const s = await sign({ hash, privateKey });
      const v = s.yParity;
      if (v !== 0 && v !== 1) throw new Error('no y-parity');
      return { r: s.r, s: s.s, v };
    },
  };
}

export async function expectChainError(p: Promise<unknown> | (() => unknown), code: ChainErrorCode, message?: RegExp): Promise<ChainError> {
  let err: unknown = new Error('it did not fail');
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(isChainError(err, code), `expected ${code}, got ${String(err)}`).to.equal(true);
  const e = err as ChainError;
  if (message) expect(e.message).to.match(message);
  return e;
}
