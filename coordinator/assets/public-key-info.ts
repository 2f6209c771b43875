// GET /v1/vault/public_key_info (by raw path) and GET /v1/vault/accounts/{id}/{asset}/{change}/
// {index}/public_key_info: the derived public key as hex, with the path and algorithm name.
// v5 types the answer PublicKeyResponse {status, algorithm, derivationPath, publicKey}, ts-sdk
// PublicKeyInformation {algorithm, derivationPath, publicKey}; this serves both.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Type } from '@sinclair/typebox';
import { CosignerError } from '../../shared/errors.js';
import { checkNonHardenedPath } from '../../shared/mpc/derivation/index.js';
import { ASSET_ALGORITHMS, type AssetAlgorithm } from './catalogue.js';
import { taprootOutputKey } from '../../shared/mpc/frost/tweak.js';
import { deriveChildKey, type MasterPublicKeys } from './addresses.js';

export const PublicKeyInfoSchema = Type.Object(
  {
    status: Type.Literal(0),
    algorithm: Type.Union(ASSET_ALGORITHMS.map((a) => Type.Literal(a))),
    derivationPath: Type.Array(Type.Integer({ minimum: 0 })),
    publicKey: Type.String({ description: 'hex; secp256k1: 33-byte compressed or 65-byte uncompressed, Ed25519: 32 bytes' }),
    taprootOutputKey: Type.Optional(Type.String({ description: 'MPC_BIP340_SECP256K1 only: x-only Taproot output key, hex' })),
  },
  { additionalProperties: false },
);

export interface PublicKeyInfo {
  status: 0;
  algorithm: AssetAlgorithm;
  derivationPath: number[];
  /** secp256k1: 33-byte compressed or 65-byte uncompressed hex; Ed25519: the 32-byte key (no other form). */
  publicKey: string;
  /** MPC_BIP340_SECP256K1 only: the x-only Taproot output key (what signatures verify against). */
  taprootOutputKey?: string;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function publicKeyInfo(keys: MasterPublicKeys, algorithm: AssetAlgorithm, path: readonly number[], opts: { compressed: boolean }): PublicKeyInfo {
  const child = deriveChildKey(keys, parseAlgorithm(algorithm), path);
  if (algorithm === 'MPC_EDDSA_ED25519') return { status: 0, algorithm, derivationPath: child.derivationPath, publicKey: hex(child.publicKey) };
  const publicKey = opts.compressed ? hex(child.publicKey) : hex(secp256k1.Point.fromBytes(child.publicKey).toBytes(false));
  const info: PublicKeyInfo = { status: 0, algorithm, derivationPath: child.derivationPath, publicKey };
  if (algorithm === 'MPC_BIP340_SECP256K1') info.taprootOutputKey = hex(taprootOutputKey(child.publicKey));
  return info;
}

/** The `algorithm` query parameter; refuses anything else (MPC_ECDSA_SECP256R1 is not offered). */
export function parseAlgorithm(text: unknown): AssetAlgorithm {
  if (typeof text !== 'string' || !(ASSET_ALGORITHMS as readonly string[]).includes(text)) {
    throw new CosignerError('KEY_DERIVATION_INVALID', `algorithm must be one of ${ASSET_ALGORITHMS.join(', ')}`);
  }
  return text as AssetAlgorithm;
}

/**
 * The `derivationPath` query parameter: a JSON array of indices. v5 sends JSON.stringify(array)
 * ("[44,1,0,0,0]"); ts-sdk callers pass their own string, often with spaces ("[44, 1, 0, 0, 0]").
 */
export function parseDerivationPathParam(text: unknown): number[] {
  const bad = (why: string): never => { throw new CosignerError('KEY_DERIVATION_INVALID', `derivationPath: ${why}`); };
  if (typeof text !== 'string') bad('expected a JSON array such as [44,1,0,0,0]');
  if ((text as string).length > 4096) bad('too long');
  let v: unknown;
  try {
    v = JSON.parse(text as string);
  } catch {
    bad('not JSON; expected an array such as [44,1,0,0,0]');
  }
  if (!Array.isArray(v) || v.length === 0) bad('expected a non-empty array of indices');
  return checkNonHardenedPath(v as number[]);
}
