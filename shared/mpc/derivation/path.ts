// BIP32 path strings ("m/44/60/0/0/5") for the non-hardened derivation the co-signer can do from
// a public key. Hardened steps ("44'" or "44h") need the private key, which no party holds, so
// they are refused rather than silently treated as normal indices.
import { CosignerError } from '../../errors.js';

/** BIP32: indices ≥ 2^31 are hardened. */
export const HARDENED_OFFSET = 0x80000000;
/** BIP32 serialises depth in one byte. */
export const MAX_DEPTH = 255;

function invalid(why: string): never {
  throw new CosignerError('KEY_DERIVATION_INVALID', `derivation path: ${why}`);
}

/** Check a list of child indices: integers in [0, 2^31), at most 255 of them. */
export function checkNonHardenedPath(path: readonly number[]): number[] {
  if (!Array.isArray(path)) invalid('expected an array of indices');
  if (path.length > MAX_DEPTH) invalid(`deeper than ${MAX_DEPTH}`);
  for (const i of path) {
    if (!Number.isSafeInteger(i) || i < 0) invalid(`index ${String(i).slice(0, 16)} is not a non-negative integer`);
    if (i >= HARDENED_OFFSET) invalid(`index ${i} is hardened; only non-hardened derivation is possible from a public key`);
  }
  return [...path];
}

/** "m/44/60/0/0/5" → [44, 60, 0, 0, 5]; "m" → []. Hardened markers (' h H) are rejected. */
export function parseDerivationPath(path: string): number[] {
  if (typeof path !== 'string' || path.length > 4096) invalid('expected a string');
  const parts = path.split('/');
  if (parts[0] !== 'm') invalid('must start with "m"');
  const out: number[] = [];
  for (const part of parts.slice(1)) {
    if (/['hH]$/.test(part)) invalid(`component "${part.slice(0, 16)}" is hardened; only non-hardened derivation is possible from a public key`);
    if (!/^(0|[1-9][0-9]{0,9})$/.test(part)) invalid(`component "${part.slice(0, 16)}" is not a decimal index`);
    out.push(Number(part));
  }
  return checkNonHardenedPath(out);
}

export function formatDerivationPath(path: readonly number[]): string {
  return ['m', ...checkNonHardenedPath(path).map(String)].join('/');
}
