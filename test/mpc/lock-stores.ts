// Tests that are not about the key lock give each share OBJECT its own in-memory lock store, so
// that a lock provoked by one test does not leak into the next through the file's shared key.
// test/mpc/ecdsa-lock-store.test.ts is the one about locks: it shares a store between objects.
import { MemoryKeyLockStore } from '../../shared/mpc/ecdsa/key-lock-store.js';
import type { EcdsaKeyShareP1 } from '../../shared/mpc/ecdsa/key-share.js';

const stores = new WeakMap<EcdsaKeyShareP1, MemoryKeyLockStore>();

export function lockStoreOf(share: EcdsaKeyShareP1): MemoryKeyLockStore {
  let s = stores.get(share);
  if (!s) stores.set(share, (s = new MemoryKeyLockStore()));
  return s;
}
