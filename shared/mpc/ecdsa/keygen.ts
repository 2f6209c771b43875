// Two-party ECDSA key generation on secp256k1 — Lindell 2017 (ePrint 2017/552) Protocol 3.2 with
// additive shares (Q = Q1 + Q2, as in coinbase/cb-mpc "ECDSA-2PC KeyGen"), the interactive PDL +
// range proof replaced by CGGMP21 Πlog* (ePrint 2021/060 Fig. 25), and P1's Paillier key proven
// with Πmod + Πfac (Figs. 16, 28) against P2's ring-Pedersen parameters (proven with Πprm, Fig. 17).
//
//   1. P1 → P2  com(Q1, π_DL(x1), cc1)                         (Protocol 3.2 step 1: commit before seeing Q2)
//   2. P2 → P1  Q2, π_DL(x2), cc2, (N̂, s, t), Πprm             (Protocol 3.2 step 2)
//   3. P1 → P2  open(Q1, π_DL(x1), cc1), N, Πmod, Πfac, c_key = Enc_N(x1), Πlog*(c_key, Q1)   (Protocol 3.2 step 3)
//   4. P2 → P1  Q, chainCode (key confirmation; P2 accepts only after verifying everything in 3)
//
// cc1, cc2 are 32-byte contributions to the BIP32 master chain code (not part of Lindell's protocol;
// chain-code.ts): committed before cc2 is seen, so neither party can choose chainCode = H(sid, cc1, cc2).
//
// P2 (the enclave in deployment) verifies every point, scalar, proof and modulus shape before it
// accepts (CRYPTO.md attacks 1, 3, 5, 7). Neither party's secret ever appears in a message or error.
import * as s from '../../schema.js';
import { CosignerError } from '../../errors.js';
import type { MpcMessage, Party } from '../party.js';
import type { AuthenticatedMessage } from '../authenticated-message.js';
import type { ProofContext } from '../zk/context.js';
import type { RingPedersenParams, RingPedersenSecret } from '../zk/ring-pedersen.js';
import { commit, verifyCommitment, COMMITMENT_BYTES, COMMITMENT_SALT_BYTES } from '../commitment.js';
import { DlogProofSchema, proveDlog, verifyDlog, type DlogProof } from '../zk/dlog.js';
import { LogStarProofSchema, encodeLogStarProof, proveLogStar, verifyLogStar } from '../zk/pi-log.js';
import { PaillierPublicKey, PaillierSecretKey, generatePaillierKeyPair } from '../paillier/paillier.js';
import { PAILLIER_MAX_BITS } from '../paillier/modulus-shape.js';
import { uintToWire } from '../bigint/wire.js';
import { bitLength } from '../bigint/modarith.js';
import { type Point, POINT_BYTES, mulBase, pointFromBytes, pointToBytes, randomScalar } from './curve.js';
import { EcdsaKeyShareP1, EcdsaKeyShareP2 } from './key-share.js';
import { TwoPartySession, proofFailed, type TwoPartyIds } from './two-party-session.js';
import { RING_PEDERSEN_MIN_BITS } from './bounds.js';
import { CHAIN_CODE_BYTES, jointChainCode, randomChainCodeContribution } from './chain-code.js';
import { equalBytes } from '../../bytes.js';
import {
  AuxParamsWireSchema, PaillierKeyWireSchema, proveAuxParams, provePaillierKey, verifyAuxParams, verifyPaillierKey,
} from './aux-proofs.js';

// v2: chain-code contributions in rounds 1–3 and the chain code in the confirmation; v3: Πprm and Πmod
// with 128 repetitions instead of 80 (older peers are refused).
export const ECDSA_KEYGEN_PROTOCOL = 'ecdsa2p-secp256k1-keygen/v3';

const Round1 = s.struct({ commitment: s.bytes({ len: COMMITMENT_BYTES }) });
const Round2 = s.struct({ Q2: s.bytes({ len: POINT_BYTES }), proofQ2: DlogProofSchema, cc2: s.bytes({ len: CHAIN_CODE_BYTES }), aux: AuxParamsWireSchema });
const Round3 = s.struct({
  Q1: s.bytes({ len: POINT_BYTES }),
  proofQ1: DlogProofSchema,
  cc1: s.bytes({ len: CHAIN_CODE_BYTES }),
  salt: s.bytes({ len: COMMITMENT_SALT_BYTES }),
  paillier: PaillierKeyWireSchema,
  cKey: s.biguint({ maxBytes: (2 * PAILLIER_MAX_BITS) / 8 }),
  proofLog: LogStarProofSchema,
});
const Round4 = s.struct({ Q: s.bytes({ len: POINT_BYTES }), chainCode: s.bytes({ len: CHAIN_CODE_BYTES }) });

function ctx(session: TwoPartySession, prover: number, label: string): ProofContext {
  return { sessionId: session.sessionId, prover, label: `${ECDSA_KEYGEN_PROTOCOL}/${label}` };
}

function commitmentItems(Q1: Uint8Array, proof: DlogProof, cc1: Uint8Array): Uint8Array[] {
  return [Q1, proof.A, proof.z, cc1];
}

function jointKey(Q1: Point, Q2: Point): Point {
  const Q = Q1.add(Q2);
  if (Q.is0()) throw new CosignerError('MPC_INVALID_MESSAGE', 'joint public key is the point at infinity');
  return Q;
}

export interface EcdsaKeygenP1Options extends TwoPartyIds {
  /** A pre-generated Paillier key (generated here, ~1 s, when absent). Used for this key only. */
  paillier?: PaillierSecretKey;
  /** Minimum bit length of P2's ring-Pedersen modulus (default 2048; tests may lower it). */
  minRingPedersenBits?: number;
}

/** P1 of key generation: will own the Paillier secret key. */
export class EcdsaKeygenP1 implements Party<EcdsaKeyShareP1> {
  readonly protocol = ECDSA_KEYGEN_PROTOCOL;
  private readonly session: TwoPartySession;
  private x1: bigint = 0n;
  private Q1: Point | undefined;
  private proofQ1: DlogProof | undefined;
  private salt: Uint8Array | undefined;
  private cc1: Uint8Array | undefined;
  private pending: EcdsaKeyShareP1 | undefined;
  private output: EcdsaKeyShareP1 | undefined;
  private paillier: PaillierSecretKey | undefined;

  constructor(private readonly options: EcdsaKeygenP1Options) {
    this.session = new TwoPartySession(ECDSA_KEYGEN_PROTOCOL, options, 'p1');
    this.paillier = options.paillier;
  }

  get sessionId(): Uint8Array { return this.session.sessionId; }
  get self(): number { return this.session.self; }
  get done(): boolean { return this.session.done; }

  start(): MpcMessage[] {
    this.session.begin(2);
    this.x1 = randomScalar();
    this.Q1 = mulBase(this.x1);
    this.proofQ1 = proveDlog(this.x1, this.Q1, ctx(this.session, this.session.p1, 'Q1'));
    this.cc1 = randomChainCodeContribution();
    const c = commit(
      { sessionId: this.session.sessionId, party: this.session.p1, label: `${ECDSA_KEYGEN_PROTOCOL}/Q1` },
      commitmentItems(pointToBytes(this.Q1), this.proofQ1, this.cc1),
    );
    this.salt = c.salt;
    return [this.session.envelope(1, { commitment: c.commitment })];
  }

  receive(message: AuthenticatedMessage): MpcMessage[] {
    try {
      if (!this.pending) return this.session.handle(message, Round2, (m) => this.onRound2(m));
      return this.session.handle(message, Round4, (m) => this.onRound4(m));
    } catch (e) {
      // A failed key generation leaves no secret behind in this object.
      this.x1 = 0n;
      this.pending = undefined;
      throw e;
    }
  }

  private onRound2(m: s.Infer<typeof Round2>): MpcMessage[] {
    const S = this.session;
    const Q2 = pointFromBytes(m.Q2, 'Q2');
    if (!verifyDlog(Q2, m.proofQ2, ctx(S, S.p2, 'Q2'))) proofFailed('proof of knowledge of x2');
    const aux: RingPedersenParams = verifyAuxParams(m.aux, ctx(S, S.p2, 'aux'), this.options.minRingPedersenBits ?? RING_PEDERSEN_MIN_BITS);
    const Q1 = this.Q1!;
    const Q = jointKey(Q1, Q2);
    const chainCode = jointChainCode(S.sessionId, this.cc1!, m.cc2);

    const sk = this.paillier ?? generatePaillierKeyPair().secretKey;
    const { c: cKey, r } = sk.encrypt(this.x1);
    const paillierWire = provePaillierKey(sk, aux, ctx(S, S.p1, 'paillier'));
    const proofLog = proveLogStar({ paillier: sk.publicKey, C: cKey, X: Q1 }, { x: this.x1, rho: r }, aux, ctx(S, S.p1, 'c_key'));

    this.pending = new EcdsaKeyShareP1(this.x1, sk, cKey, Q1, Q2, Q, chainCode);
    this.paillier = undefined;
    const out = this.session.envelope(3, {
      Q1: pointToBytes(Q1),
      proofQ1: this.proofQ1!,
      cc1: this.cc1!,
      salt: this.salt!,
      paillier: paillierWire,
      cKey: uintToWire(cKey),
      proofLog: encodeLogStarProof(proofLog),
    });
    this.x1 = 0n;
    S.expect(4);
    return [out];
  }

  private onRound4(m: s.Infer<typeof Round4>): MpcMessage[] {
    const share = this.pending!;
    const Q = pointFromBytes(m.Q, 'Q');
    if (!Q.equals(share.Q)) throw new CosignerError('MPC_INVALID_MESSAGE', 'P2 confirmed a different public key');
    if (!equalBytes(m.chainCode, share.chainCode)) throw new CosignerError('MPC_INVALID_MESSAGE', 'P2 confirmed a different chain code');
    this.output = share;
    this.pending = undefined;
    this.session.finish();
    return [];
  }

  result(): EcdsaKeyShareP1 {
    if (!this.output) throw new CosignerError('MPC_STATE', 'key generation not finished');
    return this.output;
  }
}

export interface EcdsaKeygenP2Options extends TwoPartyIds {
  /** P2's ring-Pedersen parameters with their trapdoor, generated once per party (slow) and reused. */
  ringPedersen: RingPedersenSecret;
  /** Refuse to run with own parameters shorter than this (default 2048; tests may lower it). */
  minRingPedersenBits?: number;
}

/** P2 of key generation: contributes x2, verifies P1's Paillier key and c_key; never decrypts. */
export class EcdsaKeygenP2 implements Party<EcdsaKeyShareP2> {
  readonly protocol = ECDSA_KEYGEN_PROTOCOL;
  private readonly session: TwoPartySession;
  private x2: bigint = 0n;
  private Q2: Point | undefined;
  private commitment: Uint8Array | undefined;
  private cc2: Uint8Array | undefined;
  private output: EcdsaKeyShareP2 | undefined;
  private readonly minAuxBits: number;

  constructor(private readonly options: EcdsaKeygenP2Options) {
    this.session = new TwoPartySession(ECDSA_KEYGEN_PROTOCOL, options, 'p2');
    this.minAuxBits = options.minRingPedersenBits ?? RING_PEDERSEN_MIN_BITS;
    if (bitLength(options.ringPedersen.params.N) < this.minAuxBits) {
      throw new CosignerError('MPC_INVALID_KEY', `own ring-Pedersen modulus shorter than ${this.minAuxBits} bits`);
    }
  }

  get sessionId(): Uint8Array { return this.session.sessionId; }
  get self(): number { return this.session.self; }
  get done(): boolean { return this.session.done; }

  start(): MpcMessage[] {
    this.session.begin(1);
    return [];
  }

  receive(message: AuthenticatedMessage): MpcMessage[] {
    try {
      if (!this.commitment) return this.session.handle(message, Round1, (m) => this.onRound1(m));
      return this.session.handle(message, Round3, (m) => this.onRound3(m));
    } catch (e) {
      this.x2 = 0n;
      throw e;
    }
  }

  private onRound1(m: s.Infer<typeof Round1>): MpcMessage[] {
    const S = this.session;
    this.commitment = m.commitment;
    this.x2 = randomScalar();
    this.Q2 = mulBase(this.x2);
    const proofQ2 = proveDlog(this.x2, this.Q2, ctx(S, S.p2, 'Q2'));
    // Chosen after P1 is bound to cc1 (its commitment), which P2 cannot see yet.
    this.cc2 = randomChainCodeContribution();
    const aux = proveAuxParams(this.options.ringPedersen, ctx(S, S.p2, 'aux'));
    S.expect(3);
    return [S.envelope(2, { Q2: pointToBytes(this.Q2), proofQ2, cc2: this.cc2, aux })];
  }

  private onRound3(m: s.Infer<typeof Round3>): MpcMessage[] {
    const S = this.session;
    // Open P1's commitment first: Q1, its proof and cc1 were fixed before P1 saw Q2 and cc2.
    const opened = verifyCommitment(
      { sessionId: S.sessionId, party: S.p1, label: `${ECDSA_KEYGEN_PROTOCOL}/Q1` },
      this.commitment!, m.salt, commitmentItems(m.Q1, m.proofQ1, m.cc1),
    );
    if (!opened) proofFailed('opening of the commitment to Q1 and cc1');
    const Q1 = pointFromBytes(m.Q1, 'Q1');
    if (!verifyDlog(Q1, m.proofQ1, ctx(S, S.p1, 'Q1'))) proofFailed('proof of knowledge of x1');
    const Q = jointKey(Q1, this.Q2!);

    // P1's Paillier modulus: shape, Πmod, Πfac (w.r.t. our ring-Pedersen parameters).
    const aux = this.options.ringPedersen.params;
    const paillier: PaillierPublicKey = verifyPaillierKey(m.paillier, aux, ctx(S, S.p1, 'paillier'), this.minAuxBits);
    if (!paillier.isValidCiphertext(m.cKey)) throw new CosignerError('MPC_INVALID_MESSAGE', 'c_key is not a valid Paillier ciphertext');
    if (!verifyLogStar({ paillier, C: m.cKey, X: Q1 }, aux, m.proofLog, ctx(S, S.p1, 'c_key'))) proofFailed('Πlog* for c_key');

    const chainCode = jointChainCode(S.sessionId, m.cc1, this.cc2!);
    this.output = new EcdsaKeyShareP2(this.x2, paillier, m.cKey, Q1, this.Q2!, Q, chainCode);
    this.x2 = 0n;
    S.finish();
    return [S.envelope(4, { Q: pointToBytes(Q), chainCode })];
  }

  result(): EcdsaKeyShareP2 {
    if (!this.output) throw new CosignerError('MPC_STATE', 'key generation not finished');
    return this.output;
  }
}
