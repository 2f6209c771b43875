// Base58Check (Bitcoin alphabet; payload ‖ first 4 bytes of SHA256(SHA256(payload))), the
// encoding of BIP32 extended keys.
import { sha256 } from '@noble/hashes/sha2.js';
import { CosignerError } from '../../errors.js';
import { concatBytes, equalBytes } from '../../bytes.js';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function checksum(payload: Uint8Array): Uint8Array {
  return sha256(sha256(payload)).subarray(0, 4);
}

export function base58Encode(bytes: Uint8Array): string {
  let x = 0n;
  for (const b of bytes) x = (x << 8n) | BigInt(b);
  let out = '';
  while (x > 0n) {
    out = ALPHABET[Number(x % 58n)] + out;
    x /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = '1' + out;
  }
  return out;
}

export function base58Decode(text: string): Uint8Array {
  if (typeof text !== 'string' || text.length > 256) throw new CosignerError('KEY_DERIVATION_INVALID', 'base58: expected a short string');
  let x = 0n;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new CosignerError('KEY_DERIVATION_INVALID', 'base58: invalid character');
    x = x * 58n + BigInt(v);
  }
  const body: number[] = [];
  while (x > 0n) {
    body.unshift(Number(x & 0xffn));
    x >>= 8n;
  }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros++;
  return new Uint8Array([...new Array<number>(zeros).fill(0), ...body]);
}

export function base58CheckEncode(payload: Uint8Array): string {
  return base58Encode(concatBytes(payload, checksum(payload)));
}

export function base58CheckDecode(text: string): Uint8Array {
  const raw = base58Decode(text);
  if (raw.length < 4) throw new CosignerError('KEY_DERIVATION_INVALID', 'base58check: too short');
  const payload = raw.subarray(0, raw.length - 4);
  if (!equalBytes(raw.subarray(raw.length - 4), checksum(payload))) throw new CosignerError('KEY_DERIVATION_INVALID', 'base58check: checksum mismatch');
  return new Uint8Array(payload);
}
