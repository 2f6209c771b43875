// Canonical JSON for signed structures of the co-signer API: RFC 8785 (JCS) for the values these
// structures carry — object keys sorted by UTF-16 code units, no whitespace, strings and numbers
// as ECMAScript's JSON.stringify writes them. Both sides sign and verify these exact bytes, so
// anything JSON cannot carry unambiguously (non-finite numbers, undefined, bytes, class
// instances, cycles) is refused rather than silently dropped.
import { CosignerError } from '../errors.js';

const MAX_DEPTH = 64;

function fail(what: string): never {
  throw new CosignerError('SCHEMA_VIOLATION', `not canonical JSON: ${what}`);
}

function write(v: unknown, depth: number, out: string[]): void {
  if (depth > MAX_DEPTH) fail('nested too deeply');
  if (v === null || typeof v === 'boolean' || typeof v === 'string') {
    out.push(JSON.stringify(v));
    return;
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail('non-finite number');
    out.push(JSON.stringify(Object.is(v, -0) ? 0 : v));
    return;
  }
  if (Array.isArray(v)) {
    out.push('[');
    v.forEach((x, i) => {
      if (i) out.push(',');
      write(x, depth + 1, out);
    });
    out.push(']');
    return;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) fail('an object that is not plain data');
    const keys = Object.keys(v).sort();
    out.push('{');
    keys.forEach((k, i) => {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined) fail(`undefined at ${JSON.stringify(k).slice(0, 40)}`);
      if (i) out.push(',');
      out.push(JSON.stringify(k), ':');
      write(x, depth + 1, out);
    });
    out.push('}');
    return;
  }
  fail(`a ${typeof v}`);
}

export function canonicalJson(v: unknown): string {
  const out: string[] = [];
  write(v, 0, out);
  return out.join('');
}

/** Domain-separated bytes to sign: `${domain}\n` then the canonical JSON, UTF-8. */
export function signingBytes(domain: string, v: unknown): Uint8Array {
  return new TextEncoder().encode(`${domain}\n${canonicalJson(v)}`);
}
