// Mutations at the level of a decoded message (after CBOR, before the schema): replace one node
// of the tree with an extreme or wrongly typed value, drop a field, or add one. These reach the
// schema and the protocol code with well-formed CBOR, which byte mutations rarely produce.
import fc from 'fast-check';

type Path = (string | number)[];

function paths(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (v instanceof Uint8Array || typeof v !== 'object' || v === null) return out;
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function clone(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(clone);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
  return v;
}

/** An array nested 200 deep, built directly (the project decoder refuses such nesting). */
const deepArray: unknown[] = [];
for (let i = 0, inner = deepArray; i < 200; i++) { const next: unknown[] = []; inner.push(next); inner = next; }

export const extremeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(0, 1), new Uint8Array(33).fill(0xff), new Uint8Array(600).fill(0xff), new Uint8Array(5000).fill(0x7f),
    0, -1, 1, 2, 3, 4, 255, 256, 2 ** 32, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2n ** 64n - 1n, -(2n ** 63n), 1.5, Number.NaN,
    '', 'x'.repeat(70), null, true, false, [], {}, [new Uint8Array(32)], deepArray,
  ),
  fc.uint8Array({ maxLength: 80 }),
  fc.integer(),
);

export type ValueMutation = { op: 'replace'; at: number; value: unknown } | { op: 'delete'; at: number } | { op: 'add'; at: number; key: string; value: unknown } | { op: 'swap'; at: number; from: number };

export const valueMutation: fc.Arbitrary<ValueMutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: extremeValue }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('add' as const), at: fc.nat(), key: fc.constantFrom('x', 'payload', 'round', '__proto__', 'constructor'), value: extremeValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('swap' as const), at: fc.nat(), from: fc.nat() }) },
);

/** Apply mutations to a copy of `template`. */
export function mutateValue(template: unknown, ms: ValueMutation[]): unknown {
  let root = clone(template);
  for (const m of ms) {
    const all = paths(root);
    const path = all[m.at % all.length]!;
    const get = (p: Path) => p.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], root);
    const replacement = m.op === 'swap' ? clone(get(all[m.from % all.length]!)) : m.op === 'replace' ? m.value : undefined;
    if (path.length === 0) {
      if (m.op === 'replace' || m.op === 'swap') root = replacement;
      continue;
    }
    const parent = get(path.slice(0, -1)) as Record<string | number, unknown>;
    const key = path[path.length - 1]!;
    if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else if (m.op === 'add') {
      const target = get(path);
      // defineProperty: an own key even for "__proto__" (assignment would set the prototype instead).
      if (typeof target === 'object' && target !== null && !(target instanceof Uint8Array) && !Array.isArray(target)) Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
    } else {
      parent[key] = replacement;
    }
  }
  return root;
}
