// Small helpers for the entry points' command lines (enclave, parent, emulators).
import { CosignerError } from './errors.js';

/** An integer option in [min, max], or `dflt` when absent; CONFIG_INVALID names the option otherwise. */
export function integerOption(name: string, value: string | undefined, dflt: number, min = 1, max = 0xffffffff): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new CosignerError('CONFIG_INVALID', `--${name} must be an integer in ${min}..${max}`);
  }
  return n;
}
