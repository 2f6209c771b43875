// The key-generation proofs at production sizes (2048-bit N̂ and N), 128 repetitions each for Πprm
// and Πmod (CRYPTO.md #4): prover and verifier separately. They run once per key, inside the
// "ECDSA 2P keygen" row; this shows what the repetition count costs.
import { generateRingPedersen, proveRingPedersen, verifyRingPedersen, PRM_REPETITIONS, type RingPedersenSecret } from '../shared/mpc/zk/ring-pedersen.js';
import { proveModulus, verifyModulus, MOD_REPETITIONS } from '../shared/mpc/zk/pi-mod.js';
import { generatePaillierKeyPair } from '../shared/mpc/paillier/paillier.js';
import type { ProofContext } from '../shared/mpc/zk/context.js';
import { measure, type Measurement } from './harness.js';

export interface ProofsBench {
  prmRepetitions: number;
  modRepetitions: number;
  prmProve: Measurement;
  prmVerify: Measurement;
  modProve: Measurement;
  modVerify: Measurement;
}

const ctx: ProofContext = { sessionId: new Uint8Array(32).fill(1), prover: 2, label: 'bench' };
const FEW = { warmup: 1, iterations: 5, budgetMs: 3000, minIterations: 3 };

export function measureProofs(ringPedersen: RingPedersenSecret = generateRingPedersen(2048)): ProofsBench {
  const { secretKey } = generatePaillierKeyPair(2048);
  const prm = proveRingPedersen(ringPedersen, ctx);
  const mod = proveModulus(secretKey, ctx);
  return {
    prmRepetitions: PRM_REPETITIONS,
    modRepetitions: MOD_REPETITIONS,
    prmProve: measure('Πprm prove', () => void proveRingPedersen(ringPedersen, ctx), FEW),
    prmVerify: measure('Πprm verify', () => verifyRingPedersen(ringPedersen.params, prm, ctx), FEW),
    modProve: measure('Πmod prove', () => void proveModulus(secretKey, ctx), FEW),
    modVerify: measure('Πmod verify', () => verifyModulus(secretKey.publicKey.n, mod, ctx), FEW),
  };
}
