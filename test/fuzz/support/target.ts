// What a fuzz target is, and the property every parser must keep (issue 13): on any input it
// returns a value or throws the project's typed error (CosignerError) — never a TypeError,
// RangeError or stack overflow — and it finishes within a time bound proportional to the input.
// The same targets run in the regular suite (a few hundred seeded cases) and in `npm run fuzz`.
import fc from 'fast-check';
import { CosignerError, type ErrorCode } from '../../../shared/errors.js';

export interface FuzzTarget {
  /** Stable name; findings are saved under it (fuzz/findings/<name>.<hash>.bin). */
  readonly name: string;
  /** Generator of raw inputs (every target takes bytes, as the wire or the disk delivers them). */
  readonly input: fc.Arbitrary<Uint8Array>;
  /** Runs the parser on one input; throws PropertyViolation when a property fails. */
  check(input: Uint8Array): void | Promise<void>;
  /** Cases in the regular suite (default 300); expensive targets run fewer. */
  readonly suiteRuns?: number;
  /**
   * Cost of one input relative to the cheapest target (default 1): `npm run fuzz` gives a target
   * 1/weight of the cheapest one's inputs, so each target gets about the same time.
   */
  readonly weight?: number;
  /**
   * Fixed part of the time bound, for parsers whose valid input starts real work (an MPC party
   * proving its Paillier key takes seconds on a loaded machine). Default 2000 ms.
   */
  readonly timeBaseMs?: number;
  /** One-time preparation (keys, valid messages); run before the first case. */
  setup?(): Promise<void>;
}

/** A broken property: the input a regression test must keep. Deliberately not a CosignerError. */
export class PropertyViolation extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PropertyViolation';
  }
}

/**
 * Hang detection, not a speed assertion (speed belongs to `npm run bench`): generous enough for two
 * shared cores under load, far below what a quadratic blow-up or an endless loop would take.
 */
export function timeBoundMs(inputBytes: number, baseMs = 2_000): number {
  return baseMs + inputBytes / 64;
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`.slice(0, 300);
  return `non-error thrown: ${String(e).slice(0, 100)}`;
}

/** Check one thrown value: a CosignerError (with one of `codes`, when given) or a violation. */
export function requireTyped(e: unknown, codes?: readonly ErrorCode[]): CosignerError {
  if (e instanceof PropertyViolation) throw e;
  if (!(e instanceof CosignerError)) throw new PropertyViolation(`untyped error: ${describe(e)}`, { cause: e });
  if (codes && !codes.includes(e.code)) throw new PropertyViolation(`unexpected error code ${e.code} (expected ${codes.join('|')}): ${e.message.slice(0, 200)}`, { cause: e });
  return e;
}

/**
 * Run `parse` on `input`: returns { ok, value } or { ok: false, error } for a typed error;
 * throws PropertyViolation for anything else or when it takes longer than the bound.
 */
export function typedOnly<T>(input: Uint8Array, parse: () => T, codes?: readonly ErrorCode[], baseMs?: number): { ok: true; value: T } | { ok: false; error: CosignerError } {
  const t0 = performance.now();
  let result: { ok: true; value: T } | { ok: false; error: CosignerError };
  try {
    result = { ok: true, value: parse() };
  } catch (e) {
    result = { ok: false, error: requireTyped(e, codes) };
  }
  const ms = performance.now() - t0;
  if (ms > timeBoundMs(input.length, baseMs)) throw new PropertyViolation(`took ${ms.toFixed(0)} ms for ${input.length} bytes (bound ${timeBoundMs(input.length, baseMs).toFixed(0)} ms)`);
  return result;
}

/** The same for an async parser. */
export async function typedOnlyAsync<T>(input: Uint8Array, parse: () => Promise<T>, codes?: readonly ErrorCode[], baseMs?: number): Promise<{ ok: true; value: T } | { ok: false; error: CosignerError }> {
  const t0 = performance.now();
  let result: { ok: true; value: T } | { ok: false; error: CosignerError };
  try {
    result = { ok: true, value: await parse() };
  } catch (e) {
    result = { ok: false, error: requireTyped(e, codes) };
  }
  const ms = performance.now() - t0;
  if (ms > timeBoundMs(input.length, baseMs)) throw new PropertyViolation(`took ${ms.toFixed(0)} ms for ${input.length} bytes (bound ${timeBoundMs(input.length, baseMs).toFixed(0)} ms)`);
  return result;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

export function violation(message: string): never {
  throw new PropertyViolation(message);
}
