// Two-party ECDSA (shared/mpc/ecdsa, Lindell 2017 with the CGGMP21 proofs) at production sizes:
// 2048-bit Paillier, 2048-bit ring-Pedersen. P2's ring-Pedersen parameters are generated once per
// party and reused across keys (as the engine's API intends); their one-off cost is reported on
// its own. Key generation includes P1's fresh Paillier key.
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { generateRingPedersen, type RingPedersenSecret } from '../shared/mpc/zk/ring-pedersen.js';
import { generatePaillierKeyPair } from '../shared/mpc/paillier/paillier.js';
import { EcdsaKeygenP1, EcdsaKeygenP2 } from '../shared/mpc/ecdsa/keygen.js';
import { EcdsaSignP1, EcdsaSignP2 } from '../shared/mpc/ecdsa/sign.js';
import type { EcdsaKeyShareP1, EcdsaKeyShareP2 } from '../shared/mpc/ecdsa/key-share.js';
import { PaillierRandomizerPool } from '../shared/mpc/ecdsa/randomizer-pool.js';
import { MemoryKeyLockStore } from '../shared/mpc/ecdsa/key-lock-store.js';
import { drive } from './drive.js';
import { deriveEcdsaChild } from '../shared/mpc/ecdsa/derive.js';
import { BENCH_PATH } from './frost-bench.js';
import { measure, type Measurement } from './harness.js';

export interface EcdsaBench {
  ringPedersenSetupMs: number;
  /** P2's parameters, reused by the proof bench. */
  ringPedersen: RingPedersenSecret;
  paillierKeygen: Measurement;
  keygen: Measurement;
  sign: Measurement;
  /** P2's r^N precomputed while idle (PaillierRandomizerPool), as the enclave does between requests. */
  signPooled: Measurement;
  /** The same, for the child key at BENCH_PATH, each party deriving its tweak from the path per request. */
  signPooledPath: Measurement;
}

export function measureEcdsa(): EcdsaBench {
  const t0 = performance.now();
  const ringPedersen = generateRingPedersen(2048);
  const ringPedersenSetupMs = performance.now() - t0;

  const paillierKeygen = measure('Paillier-2048 keygen', () => void generatePaillierKeyPair(2048), { warmup: 0, iterations: 5, budgetMs: 8000 });

  let shares: [EcdsaKeyShareP1, EcdsaKeyShareP2] | undefined;
  const keygen = measure(
    'ECDSA 2P keygen',
    () => {
      const sessionId = new Uint8Array(randomBytes(32));
      const p1 = new EcdsaKeygenP1({ sessionId });
      const p2 = new EcdsaKeygenP2({ sessionId, ringPedersen });
      const spent = drive([p1, p2]);
      shares = [p1.result(), p2.result()];
      return spent;
    },
    { warmup: 1, iterations: 5, budgetMs: 20000, minIterations: 3 },
  );

  const [s1, s2] = shares!;
  const lockStore = new MemoryKeyLockStore();
  // The warm-up runs also build what a running co-signer has built already: the G tables (once per
  // process) and the key's verification table (shared/mpc/ecdsa/curve.ts keyWithTable, after 3 uses).
  // Every signing run here uses the master key Q; derived keys get their own tables the same way.
  const messageHash = new Uint8Array(createHash('sha256').update(randomBytes(64)).digest());
  const sign = measure(
    'ECDSA 2P sign',
    () => {
      const sessionId = new Uint8Array(randomBytes(32));
      return drive([new EcdsaSignP1(s1, { sessionId, messageHash, lockStore }), new EcdsaSignP2(s2, { sessionId, messageHash })]);
    },
    { warmup: 2, iterations: 30, budgetMs: 10000 },
  );
  const pool = new PaillierRandomizerPool(s2.paillier, 1);
  const signPooled = measure(
    'ECDSA 2P sign, P2 randomizer precomputed',
    () => {
      const sessionId = new Uint8Array(randomBytes(32));
      return drive([new EcdsaSignP1(s1, { sessionId, messageHash, lockStore }), new EcdsaSignP2(s2, { sessionId, messageHash, randomizers: pool })]);
    },
    { warmup: 2, iterations: 30, budgetMs: 10000, before: () => pool.refill() },
  );
  const signPooledPath = measure(
    `ECDSA 2P sign, r^N precomputed, path ${BENCH_PATH.join('/')}`,
    () => {
      const sessionId = new Uint8Array(randomBytes(32));
      const t1 = deriveEcdsaChild(s1, BENCH_PATH).tweak;
      const t2 = deriveEcdsaChild(s2, BENCH_PATH).tweak;
      return drive([
        new EcdsaSignP1(s1, { sessionId, messageHash, lockStore, tweak: t1 }),
        new EcdsaSignP2(s2, { sessionId, messageHash, randomizers: pool, tweak: t2 }),
      ]);
    },
    { warmup: 4, iterations: 30, budgetMs: 8000, before: () => pool.refill() },
  );
  return { ringPedersenSetupMs, ringPedersen, paillierKeygen, keygen, sign, signPooled, signPooledPath };
}
