// Derived keys cached per (key object, path) — issue 12 "Derivation cost". Derivation is public
// computation (HMAC-SHA512 per level, one point addition per level), identical every time for the
// same key and path, so each party computes it once and reuses the result: a vault account's
// BIP44 path then costs a map lookup. Entries hang off the key object (WeakMap: they go when the
// key goes) and each key keeps at most `perKey` paths, least recently used evicted first.
export class PerKeyCache<K extends object, V> {
  readonly #byKey = new WeakMap<K, Map<string, V>>();

  constructor(private readonly perKey = 256) {}

  /** The cached value for (key, path), or `make()` stored; `usable` rejects a stale entry (recomputed). */
  get(key: K, path: readonly number[] | string, make: () => V, usable: (v: V) => boolean = () => true): V {
    let m = this.#byKey.get(key);
    if (!m) this.#byKey.set(key, (m = new Map()));
    const k = typeof path === 'string' ? path : path.join('/');
    const hit = m.get(k);
    if (hit !== undefined && usable(hit)) {
      m.delete(k);
      m.set(k, hit);
      return hit;
    }
    const v = make();
    m.delete(k);
    m.set(k, v);
    if (m.size > this.perKey) m.delete(m.keys().next().value as string);
    return v;
  }
}
