// One honest two-party ECDSA key generation for tests that need shares to sign with.
// Test-size ring-Pedersen parameters (1024 bits; production minimum is 2048) keep files fast;
// the Paillier key stays at the production 2048 bits.
import { randomBytes } from 'node:crypto';
import { generatePaillierKeyPair } from '../../shared/mpc/paillier/paillier.js';
import { generateRingPedersen } from '../../shared/mpc/zk/ring-pedersen.js';
import { EcdsaKeygenP1, EcdsaKeygenP2 } from '../../shared/mpc/ecdsa/keygen.js';
import type { EcdsaKeyShareP1, EcdsaKeyShareP2 } from '../../shared/mpc/ecdsa/key-share.js';
import type { MpcMessage } from '../../shared/mpc/party.js';
import { runTwoParties } from './run-parties.js';

export const TEST_RING_PEDERSEN_BITS = 1024;

export function ecdsaTestKeys(tap?: (m: MpcMessage) => void): { share1: EcdsaKeyShareP1; share2: EcdsaKeyShareP2 } {
  const ringPedersen = generateRingPedersen(TEST_RING_PEDERSEN_BITS);
  const paillier = generatePaillierKeyPair(2048).secretKey;
  const sessionId = new Uint8Array(randomBytes(32));
  const k1 = new EcdsaKeygenP1({ sessionId, paillier, minRingPedersenBits: TEST_RING_PEDERSEN_BITS });
  const k2 = new EcdsaKeygenP2({ sessionId, ringPedersen, minRingPedersenBits: TEST_RING_PEDERSEN_BITS });
  runTwoParties(k1, k2, (m) => {
    tap?.(m);
    return m;
  });
  return { share1: k1.result(), share2: k2.result() };
}
