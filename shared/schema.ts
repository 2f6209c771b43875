// Schemas for everything decoded from the wire (vsock frames, MPC messages, sealed state).
// A schema parses an untrusted decoded CBOR value into a typed value or throws
// CosignerError('SCHEMA_VIOLATION') naming the path. Structs are strict: unknown fields are an
// error, and the parsed object is rebuilt from known keys only (no prototype tricks survive).
import { CosignerError } from './errors.js';

export interface Schema<T> {
  readonly kind: string;
  parse(value: unknown, path?: string): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function fail(path: string, what: string): never {
  throw new CosignerError('SCHEMA_VIOLATION', `${path || 'value'}: ${what}`, { path: path || 'value' });
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'bigint') return 'bigint';
  return typeof v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof Map) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function bytes(opts: { len?: number; min?: number; max?: number } = {}): Schema<Uint8Array> {
  return {
    kind: 'bytes',
    parse(v, path = '') {
      if (!(v instanceof Uint8Array)) fail(path, `expected bytes, got ${typeName(v)}`);
      if (opts.len !== undefined && v.length !== opts.len) fail(path, `expected ${opts.len} bytes, got ${v.length}`);
      if (opts.min !== undefined && v.length < opts.min) fail(path, `expected at least ${opts.min} bytes`);
      if (opts.max !== undefined && v.length > opts.max) fail(path, `expected at most ${opts.max} bytes`);
      // Normalise Buffers and views into a standalone Uint8Array.
      return new Uint8Array(v);
    },
  };
}

export function text(opts: { min?: number; max?: number; pattern?: RegExp; oneOf?: readonly string[] } = {}): Schema<string> {
  return {
    kind: 'text',
    parse(v, path = '') {
      if (typeof v !== 'string') fail(path, `expected text, got ${typeName(v)}`);
      if (opts.min !== undefined && v.length < opts.min) fail(path, `expected at least ${opts.min} characters`);
      if (opts.max !== undefined && v.length > opts.max) fail(path, `expected at most ${opts.max} characters`);
      if (opts.pattern && !opts.pattern.test(v)) fail(path, 'text does not match the expected pattern');
      if (opts.oneOf && !opts.oneOf.includes(v)) fail(path, `expected one of ${opts.oneOf.join(', ')}`);
      return v;
    },
  };
}

export function literal<const L extends string | number | boolean>(expected: L): Schema<L> {
  return {
    kind: 'literal',
    parse(v, path = '') {
      if (v !== expected) fail(path, `expected ${JSON.stringify(expected)}`);
      return expected;
    },
  };
}

/** A non-negative safe integer (CBOR major type 0), optionally bounded. */
export function uint(opts: { max?: number } = {}): Schema<number> {
  return {
    kind: 'uint',
    parse(v, path = '') {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || Object.is(v, -0)) fail(path, `expected unsigned integer, got ${typeName(v)}`);
      if (opts.max !== undefined && v > opts.max) fail(path, `expected at most ${opts.max}`);
      return v;
    },
  };
}

export function bool(): Schema<boolean> {
  return {
    kind: 'bool',
    parse(v, path = '') {
      if (typeof v !== 'boolean') fail(path, `expected bool, got ${typeName(v)}`);
      return v;
    },
  };
}

/**
 * A non-negative big integer carried as a minimal big-endian byte string (no leading zero
 * byte; zero is the empty string). Bounded by bytes so a peer cannot make us parse huge numbers.
 */
export function biguint(opts: { maxBytes: number }): Schema<bigint> {
  return {
    kind: 'biguint',
    parse(v, path = '') {
      if (!(v instanceof Uint8Array)) fail(path, `expected big integer bytes, got ${typeName(v)}`);
      if (v.length > opts.maxBytes) fail(path, `big integer longer than ${opts.maxBytes} bytes`);
      if (v.length > 0 && v[0] === 0) fail(path, 'big integer has a leading zero byte');
      return v.length === 0 ? 0n : BigInt('0x' + Buffer.from(v).toString('hex'));
    },
  };
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    kind: 'nullable',
    parse(v, path = '') {
      return v === null ? null : inner.parse(v, path);
    },
  };
}

export function array<T>(item: Schema<T>, opts: { min?: number; max: number }): Schema<T[]> {
  return {
    kind: 'array',
    parse(v, path = '') {
      if (!Array.isArray(v)) fail(path, `expected array, got ${typeName(v)}`);
      if (v.length > opts.max) fail(path, `expected at most ${opts.max} items`);
      if (opts.min !== undefined && v.length < opts.min) fail(path, `expected at least ${opts.min} items`);
      return v.map((x, i) => item.parse(x, `${path}[${i}]`));
    },
  };
}

const OPTIONAL = Symbol('optional');
export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly [OPTIONAL]: true;
}

/** A struct field that may be absent (CBOR: key not present). Present-but-null is not absent. */
export function optional<T>(inner: Schema<T>): OptionalSchema<T> {
  return {
    kind: 'optional',
    [OPTIONAL]: true,
    parse(v, path = '') {
      return v === undefined ? undefined : inner.parse(v, path);
    },
  };
}

type Fields = Record<string, Schema<unknown>>;
type RequiredKeys<F extends Fields> = { [K in keyof F]: F[K] extends OptionalSchema<unknown> ? never : K }[keyof F];
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends OptionalSchema<unknown> ? K : never }[keyof F];
export type StructOf<F extends Fields> = { [K in RequiredKeys<F>]: Infer<F[K]> } & { [K in OptionalKeys<F>]?: Exclude<Infer<F[K]>, undefined> };

export interface StructSchema<F extends Fields> extends Schema<StructOf<F>> {
  readonly fields: F;
}

export function struct<F extends Fields>(fields: F): StructSchema<F> {
  return {
    kind: 'struct',
    fields,
    parse(v, path = '') {
      if (!isPlainObject(v)) fail(path, `expected map, got ${typeName(v)}`);
      for (const key of Object.keys(v)) {
        if (!Object.prototype.hasOwnProperty.call(fields, key)) fail(path, `unexpected field ${JSON.stringify(key.slice(0, 64))}`);
      }
      const out: Record<string, unknown> = {};
      for (const [key, schema] of Object.entries(fields)) {
        const present = Object.prototype.hasOwnProperty.call(v, key);
        const isOptional = (schema as Partial<OptionalSchema<unknown>>)[OPTIONAL] === true;
        if (!present && !isOptional) fail(path, `missing field ${JSON.stringify(key)}`);
        const parsed = schema.parse(present ? v[key] : undefined, path ? `${path}.${key}` : key);
        if (parsed !== undefined) out[key] = parsed;
      }
      return out as StructOf<F>;
    },
  };
}

/** Tagged union on a text discriminant field, e.g. { type: 'a', ... } | { type: 'b', ... }. */
export function union<K extends string, V extends Record<string, StructSchema<Fields>>>(
  discriminant: K,
  variants: V,
): Schema<{ [T in keyof V]: Infer<V[T]> }[keyof V]> {
  return {
    kind: 'union',
    parse(v, path = '') {
      if (!isPlainObject(v)) fail(path, `expected map, got ${typeName(v)}`);
      const tag = v[discriminant];
      if (typeof tag !== 'string' || !Object.prototype.hasOwnProperty.call(variants, tag)) {
        fail(path, `unknown ${discriminant} ${JSON.stringify(String(tag).slice(0, 64))}`);
      }
      return variants[tag]!.parse(v, path) as { [T in keyof V]: Infer<V[T]> }[keyof V];
    },
  };
}

/** Parse and return, throwing CosignerError('SCHEMA_VIOLATION') on mismatch. */
export function parse<T>(schema: Schema<T>, value: unknown, path = ''): T {
  return schema.parse(value, path);
}
