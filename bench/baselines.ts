// One-party baselines measured in the same run as the MPC cases: what a single key holder pays
// for the same signature with node:crypto (OpenSSL) and with @noble/curves.
import { createHash, generateKeyPairSync, randomBytes, sign as nodeSign } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { measure, type Measurement } from './harness.js';

const FAST = { warmup: 20, iterations: 500, budgetMs: 1500, minIterations: 50 };

export interface Baselines {
  nodeSecp256k1Keygen: Measurement;
  nobleSecp256k1Keygen: Measurement;
  nodeSecp256k1Sign: Measurement;
  nobleSecp256k1Sign: Measurement;
  nodeEd25519Sign: Measurement;
  nobleEd25519Sign: Measurement;
  nobleSchnorrSign: Measurement;
}

export function measureBaselines(): Baselines {
  const msg = randomBytes(64);
  const hash = new Uint8Array(createHash('sha256').update(msg).digest());
  const ecKey = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
  const edKey = generateKeyPairSync('ed25519').privateKey;
  const k1 = secp256k1.utils.randomSecretKey();
  const ed = ed25519.utils.randomSecretKey();
  const sch = schnorr.utils.randomSecretKey();
  return {
    nodeSecp256k1Keygen: measure('node:crypto keygen', () => void generateKeyPairSync('ec', { namedCurve: 'secp256k1' }), FAST),
    nobleSecp256k1Keygen: measure('noble keygen', () => void secp256k1.keygen(), FAST),
    nodeSecp256k1Sign: measure('node:crypto', () => void nodeSign('sha256', msg, ecKey), FAST),
    nobleSecp256k1Sign: measure('noble', () => void secp256k1.sign(hash, k1, { prehash: false }), FAST),
    nodeEd25519Sign: measure('node:crypto', () => void nodeSign(null, msg, edKey), FAST),
    nobleEd25519Sign: measure('noble', () => void ed25519.sign(msg, ed), FAST),
    nobleSchnorrSign: measure('noble schnorr', () => void schnorr.sign(hash, sch), FAST),
  };
}
