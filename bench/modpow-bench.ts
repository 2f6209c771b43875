// Modular exponentiation at Paillier sizes: plain BigInt square-and-multiply vs the OpenSSL route
// (crypto.createDiffieHellman(m) + setPrivateKey(e) + computeSecret(b), guarded by a start-up
// self-test in shared/mpc/bigint). Same inputs for both; results compared.
import { randomBytes } from 'node:crypto';
import { generatePaillierKeyPair } from '../shared/mpc/paillier/paillier.js';
import { modPowBigint, modPowImplementation, modPowOpenssl } from '../shared/mpc/bigint/modarith.js';
import { measure, type Measurement } from './harness.js';

export interface ModPowRow {
  shape: string;
  bigint: Measurement;
  openssl: Measurement;
}

function randomBelow(m: bigint): bigint {
  const bytes = Math.ceil(m.toString(2).length / 8) + 16;
  return 2n + (BigInt('0x' + randomBytes(bytes).toString('hex')) % (m - 4n));
}

export function measureModPow(): { route: string; rows: ModPowRow[] } {
  const route = modPowImplementation();
  const { publicKey, secretKey } = generatePaillierKeyPair(2048);
  const N = publicKey.n;
  const p = secretKey.p;
  const shapes: Array<[string, bigint, bigint]> = [
    ['r^N mod N² (Paillier encrypt, 4096-bit modulus)', N * N, N],
    ['c^(p-1) mod p² (CRT decrypt half, 2048-bit modulus)', p * p, p - 1n],
  ];
  const rows: ModPowRow[] = [];
  for (const [shape, m, e] of shapes) {
    const b = randomBelow(m);
    if (modPowBigint(b, e, m) !== modPowOpenssl(b, e, m)) throw new Error(`bench: modPow routes disagree for ${shape}`);
    rows.push({
      shape,
      bigint: measure('BigInt', () => void modPowBigint(b, e, m), { warmup: 1, iterations: 15, budgetMs: 3000 }),
      openssl: measure('OpenSSL', () => void modPowOpenssl(b, e, m), { warmup: 2, iterations: 40, budgetMs: 2000 }),
    });
  }
  return { route, rows };
}
