// The final check of FROST bip340 signatures (bip340-verify.ts) against @noble's schnorr.verify:
// the same answer on valid signatures, tampered signatures, other messages and keys, odd-Y R,
// r ≥ p, s ≥ n and s = 0 — including after the key's wNAF table has been built.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bip340Verifier } from '../../shared/mpc/frost/bip340-verify.js';

const n = secp256k1.Point.Fn.ORDER;
const p = secp256k1.Point.Fp.ORDER;
const be32 = (x: bigint) => new Uint8Array(Buffer.from(x.toString(16).padStart(64, '0'), 'hex'));

/** A BIP340-shaped signature whose R has odd Y (x(R) of a point with odd y): must be refused. */
function oddRSignature(sk: Uint8Array, msg: Uint8Array): Uint8Array {
  const pk = schnorr.getPublicKey(sk);
  let d = BigInt('0x' + Buffer.from(sk).toString('hex'));
  if (secp256k1.Point.BASE.multiply(d).toAffine().y & 1n) d = n - d;
  for (;;) {
    const k = BigInt('0x' + randomBytes(32).toString('hex')) % n;
    if (k === 0n) continue;
    const R = secp256k1.Point.BASE.multiply(k);
    if ((R.toAffine().y & 1n) === 0n) continue;
    const rx = be32(R.toAffine().x);
    const e = BigInt('0x' + Buffer.from(schnorr.utils.taggedHash('BIP0340/challenge', rx, pk, msg)).toString('hex')) % n;
    return new Uint8Array([...rx, ...be32((k + e * d) % n)]);
  }
}

describe('FROST bip340 final verification (BIP340 Verify) agrees with @noble schnorr.verify', function () {
  this.timeout(60_000);

  it('valid, tampered, foreign and malformed signatures: same verdict, before and after the key table is built', () => {
    let valid = 0;
    let invalid = 0;
    for (let k = 0; k < 6; k++) {
      const sk = schnorr.utils.randomSecretKey();
      const pk = schnorr.getPublicKey(sk);
      const verify = bip340Verifier(pk);
      for (let i = 0; i < 8; i++) {
        const msg = randomBytes(i % 2 ? 32 : 7 + i);
        const sig = schnorr.sign(msg, sk);
        const flipped = new Uint8Array(sig);
        flipped[i * 7 % 64]! ^= 1 << (i % 8);
        const rTooBig = new Uint8Array([...be32(p + 1n), ...sig.subarray(32)]);
        const sTooBig = new Uint8Array([...sig.subarray(0, 32), ...be32(n + 1n)]);
        const sIsN = new Uint8Array([...sig.subarray(0, 32), ...be32(n)]);
        const sZero = new Uint8Array([...sig.subarray(0, 32), ...new Uint8Array(32)]);
        const cases: Array<[Uint8Array, Uint8Array]> = [
          [sig, msg],
          [flipped, msg],
          [sig, randomBytes(32)],
          [schnorr.sign(msg, schnorr.utils.randomSecretKey()), msg],
          [oddRSignature(sk, msg), msg],
          [rTooBig, msg],
          [sTooBig, msg],
          [sIsN, msg],
          [sZero, msg],
          [sig.subarray(0, 63), msg],
        ];
        for (const [s, m] of cases) {
          const expected = s.length === 64 ? schnorr.verify(s, m, pk) : false;
          expect(verify(s, m), `key ${k} case ${i}`).to.equal(expected);
          if (expected) valid++;
          else invalid++;
        }
      }
    }
    expect(valid).to.be.greaterThan(40);
    expect(invalid).to.be.greaterThan(300);
  });

  it('an x coordinate that is not on the curve is refused as a key', () => {
    let x = 5n;
    for (;;) {
      try {
        schnorr.utils.lift_x(x);
        x++;
      } catch {
        break;
      }
    }
    expect(() => bip340Verifier(be32(x))).to.throw();
    expect(() => bip340Verifier(be32(p))).to.throw();
  });
});
