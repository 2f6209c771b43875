// The key-generation messages that carry the Paillier-layer proofs, in one place:
//  - P2's ring-Pedersen parameters (N̂, s, t) with Πprm (CGGMP21 Fig. 17), which P1 needs before it
//    commits to anything under them (Πfac, Πlog*);
//  - P1's Paillier modulus N with Πmod (Fig. 16, Paillier–Blum) and Πfac (Fig. 28, no factor below
//    2^ℓ, w.r.t. P2's parameters), after the cheap shape checks (CRYPTO.md attacks 1 "BitForge", 5).
import * as s from '../../schema.js';
import { CosignerError } from '../../errors.js';
import type { ProofContext } from '../zk/context.js';
import {
  PrmProofSchema, RingPedersenParamsSchema, encodePrmProof, encodeRingPedersenParams, proveRingPedersen, verifyRingPedersen,
  type RingPedersenParams, type RingPedersenSecret,
} from '../zk/ring-pedersen.js';
import { ModProofSchema, encodeModProof, proveModulus, verifyModulus } from '../zk/pi-mod.js';
import { FacProofSchema, encodeFacProof, proveNoSmallFactors, verifyNoSmallFactors } from '../zk/pi-fac.js';
import { PaillierPublicKey, type PaillierSecretKey, checkPaillierModulusShape } from '../paillier/paillier.js';
import { PAILLIER_MAX_BITS, PAILLIER_MIN_BITS } from '../paillier/modulus-shape.js';
import { uintToWire } from '../bigint/wire.js';

export const AuxParamsWireSchema = s.struct({ params: RingPedersenParamsSchema, proof: PrmProofSchema });
export const PaillierKeyWireSchema = s.struct({
  N: s.biguint({ maxBytes: PAILLIER_MAX_BITS / 8 }),
  mod: ModProofSchema,
  fac: FacProofSchema,
});

/** P2: its (cached) ring-Pedersen parameters and a fresh Πprm bound to this session. */
export function proveAuxParams(secret: RingPedersenSecret, ctx: ProofContext): unknown {
  return { params: encodeRingPedersenParams(secret.params), proof: encodePrmProof(proveRingPedersen(secret, ctx)) };
}

/** P1: accept P2's parameters only with a valid Πprm and at least minBits. Throws MPC_PROOF_FAILED. */
export function verifyAuxParams(wire: s.Infer<typeof AuxParamsWireSchema>, ctx: ProofContext, minBits: number): RingPedersenParams {
  verifyRingPedersen(wire.params, wire.proof, ctx, { minBits });
  return wire.params;
}

/** P1: its Paillier modulus with Πmod and Πfac (the latter under the verifier's parameters). */
export function provePaillierKey(sk: PaillierSecretKey, verifierAux: RingPedersenParams, ctx: ProofContext): unknown {
  return {
    N: uintToWire(sk.publicKey.n),
    mod: encodeModProof(proveModulus(sk, ctx)),
    fac: encodeFacProof(proveNoSmallFactors(sk, verifierAux, ctx)),
  };
}

/**
 * P2: shape checks (size, odd, not prime, not a square, no small factor), then Πmod and Πfac.
 * Throws MPC_INVALID_KEY for a bad shape and MPC_PROOF_FAILED for a bad proof.
 */
export function verifyPaillierKey(
  wire: s.Infer<typeof PaillierKeyWireSchema>, ownAux: RingPedersenParams, ctx: ProofContext, minAuxBits: number,
): PaillierPublicKey {
  checkPaillierModulusShape(wire.N, PAILLIER_MIN_BITS);
  if (wire.N === ownAux.N) throw new CosignerError('MPC_INVALID_KEY', 'Paillier modulus equals our ring-Pedersen modulus');
  verifyModulus(wire.N, wire.mod, ctx);
  verifyNoSmallFactors(wire.N, ownAux, wire.fac, ctx, { minAuxBits });
  return new PaillierPublicKey(wire.N);
}
