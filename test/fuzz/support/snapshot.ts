// Deep copy of an MPC party's state, so that every fuzz case starts from the same point of a
// real, honest run (the party about to receive round k) without replaying the expensive rounds
// before it. Only for parties whose state is ordinary properties (the ECDSA parties are; objects
// with #private fields cannot be copied this way). Frozen objects, functions and native crypto
// handles (key objects, an ECDH nonce key: used read-only by the parties) are shared.
import { DiffieHellman, ECDH, KeyObject } from 'node:crypto';
import { MemoryKeyLockStore } from '../../../shared/mpc/ecdsa/key-lock-store.js';

export function snapshot<T>(value: T): T {
  const seen = new Map<unknown, unknown>();
  const copy = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v; // primitives, bigint, functions
    if (seen.has(v)) return seen.get(v);
    if (v instanceof KeyObject || v instanceof ECDH || v instanceof DiffieHellman || Object.isFrozen(v)) return v;
    // #private fields do not survive the generic copy below; the lock store copies itself.
    if (v instanceof MemoryKeyLockStore) {
      const c = v.clone();
      seen.set(v, c);
      return c;
    }
    if (ArrayBuffer.isView(v)) {
      const c = (v as Uint8Array).slice();
      seen.set(v, c);
      return c;
    }
    if (v instanceof Map) {
      const c = new Map();
      seen.set(v, c);
      for (const [k, x] of v) c.set(copy(k), copy(x));
      return c;
    }
    if (v instanceof Set) {
      const c = new Set();
      seen.set(v, c);
      for (const x of v) c.add(copy(x));
      return c;
    }
    if (Array.isArray(v)) {
      const c: unknown[] = [];
      seen.set(v, c);
      for (const x of v) c.push(copy(x));
      return c;
    }
    if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet) throw new Error('snapshot: cannot copy a promise or weak collection');
    const c = Object.create(Object.getPrototypeOf(v)) as Record<PropertyKey, unknown>;
    seen.set(v, c);
    for (const key of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key)!;
      if ('value' in d) d.value = copy(d.value);
      Object.defineProperty(c, key, d);
    }
    return c;
  };
  return copy(value) as T;
}
