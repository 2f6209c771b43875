// The BIP32 master chain code of a two-party ECDSA key, generated jointly so that neither party can
// choose it (a party that could pick the chain code could steer every derived key's tweak). It is a
// coin-tossing: P1 commits to cc1 in key-generation round 1 (with Q1 and its proof), P2 sends cc2 in
// round 2 after seeing only that (hiding) commitment, P1 opens cc1 in round 3 (binding). Then
//
//   chainCode = SHA-256( lp("domain") ‖ lp("nitro-cosigner/ecdsa2p/chain-code/v1")
//                      ‖ lp("session") ‖ lp(sessionId) ‖ lp("cc1") ‖ lp(cc1) ‖ lp("cc2") ‖ lp(cc2) )
//
// where lp(x) = u32be(|x|) ‖ x: the labelled length-prefixed encoding of shared/mpc/transcript.ts
// (CRYPTO.md attack 4: no ambiguous encodings), hashed with SHA-256 to the 32 bytes BIP32 needs.
// Uniform as long as one contribution is uniform and independent of the other. The chain code is
// not a key share: it is part of the exported xpub (BIP32 "Serialization format").
import { randomBytes } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../../bytes.js';
import { CosignerError } from '../../errors.js';

export const CHAIN_CODE_BYTES = 32;
export const CHAIN_CODE_DOMAIN = 'nitro-cosigner/ecdsa2p/chain-code/v1';

const enc = new TextEncoder();

function lengthPrefixed(label: string, data: Uint8Array): Uint8Array {
  const l = enc.encode(label);
  const out = new Uint8Array(8 + l.length + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, l.length, false);
  out.set(l, 4);
  v.setUint32(4 + l.length, data.length, false);
  out.set(data, 8 + l.length);
  return out;
}

/** A fresh 32-byte contribution from node:crypto. */
export function randomChainCodeContribution(): Uint8Array {
  return new Uint8Array(randomBytes(CHAIN_CODE_BYTES));
}

/** The joint chain code from both contributions (each exactly 32 bytes) and the key-generation session id. */
export function jointChainCode(sessionId: Uint8Array, cc1: Uint8Array, cc2: Uint8Array): Uint8Array {
  for (const [name, cc] of [['cc1', cc1], ['cc2', cc2]] as const) {
    if (!(cc instanceof Uint8Array) || cc.length !== CHAIN_CODE_BYTES) {
      throw new CosignerError('MPC_INVALID_MESSAGE', `chain-code contribution ${name} must be ${CHAIN_CODE_BYTES} bytes`);
    }
  }
  return sha256(concatBytes(
    lengthPrefixed('domain', enc.encode(CHAIN_CODE_DOMAIN)),
    lengthPrefixed('session', sessionId),
    lengthPrefixed('cc1', cc1),
    lengthPrefixed('cc2', cc2),
  ));
}
