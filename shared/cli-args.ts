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

/** The options every entry point on the vsock channel takes. */
export const TRANSPORT_OPTIONS = {
  transport: { type: 'string', default: 'vsock' },
  'loopback-dir': { type: 'string' },
} as const;

/** Real AF_VSOCK, or the loopback emulator (which needs its socket folder). */
export function transportOption(values: { transport?: string; 'loopback-dir'?: string }): { transport: 'vsock' | 'loopback'; loopbackDir: string | undefined } {
  const t = values.transport ?? 'vsock';
  if (t !== 'vsock' && t !== 'loopback') throw new CosignerError('CONFIG_INVALID', '--transport must be vsock or loopback');
  if (t === 'loopback' && !values['loopback-dir']) throw new CosignerError('CONFIG_INVALID', '--transport loopback needs --loopback-dir');
  return { transport: t, loopbackDir: values['loopback-dir'] };
}
