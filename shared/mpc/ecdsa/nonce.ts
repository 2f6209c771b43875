// One party's signing nonce k_i (Lindell 2017 Protocol 3.3 steps 1–2: R1 = k1·G, R2 = k2·G; each party
// then computes R = k_i·R_j). The scalar comes from node:crypto randomness and lives inside an
// OpenSSL EC key (node:crypto ECDH), which gives constant-time k·G and k·P about twice as fast as
// the pure-JS ladder; a nonce is used for exactly one signature and dropped (wiped) after use.
import { createECDH, type ECDH } from 'node:crypto';
import { CosignerError } from '../../errors.js';
import { bytesToBigint } from '../transcript.js';
import type { ProofContext } from '../zk/context.js';
import { proveDlog, type DlogProof } from '../zk/dlog.js';
import { CURVE_ORDER, Point, invQ, pointToBytes, randomScalar, scalarToBytes } from './curve.js';

export class EcdsaNonce {
  private k: bigint;
  private ecdh: ECDH | undefined;
  /** k·G, compressed. */
  readonly publicPoint: Uint8Array;

  constructor() {
    this.k = randomScalar();
    this.ecdh = createECDH('secp256k1');
    const kb = scalarToBytes(this.k);
    this.ecdh.setPrivateKey(kb);
    kb.fill(0);
    this.publicPoint = new Uint8Array(this.ecdh.getPublicKey(null, 'compressed'));
  }

  /** x-coordinate of k·P as an integer (P already validated by the caller). */
  sharedX(P: Point): bigint {
    if (!this.ecdh) throw new CosignerError('MPC_STATE', 'nonce already used');
    return bytesToBigint(this.ecdh.computeSecret(pointToBytes(P)));
  }

  /** Schnorr proof of knowledge of k for k·G (Lindell 2017 Protocol 3.3 steps 1–2). */
  prove(ctx: ProofContext): DlogProof {
    if (this.k === 0n) throw new CosignerError('MPC_STATE', 'nonce already used');
    return proveDlog(this.k, Point.fromBytes(this.publicPoint), ctx);
  }

  /** k⁻¹ mod q. */
  inverse(): bigint {
    if (this.k === 0n) throw new CosignerError('MPC_STATE', 'nonce already used');
    return invQ(this.k);
  }

  /** Drop the nonce: the bigint is overwritten and the OpenSSL key released (best effort in a GC'd runtime). */
  wipe(): void {
    this.k = 0n;
    this.ecdh = undefined;
  }
}

/** r = R.x mod q; r = 0 is a (negligible-probability) failure, reported instead of signing. */
export function rFromX(x: bigint): bigint {
  const r = x % CURVE_ORDER;
  if (r === 0n) throw new CosignerError('MPC_INVALID_MESSAGE', 'nonce point has r = 0');
  return r;
}
