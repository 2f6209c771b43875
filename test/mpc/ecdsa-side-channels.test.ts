// The two places where P2's secret nonce meets variable-time arithmetic (security review): the
// inversion of k2 is blinded, and c_key^(k2⁻¹·r) refuses to run on the BigInt fallback.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { modPowImplementation, runModPowSelfTest } from '../../shared/mpc/bigint/modarith.js';
import { EcdsaSignP1, EcdsaSignP2 } from '../../shared/mpc/ecdsa/sign.js';
import type { EcdsaKeyShareP1, EcdsaKeyShareP2 } from '../../shared/mpc/ecdsa/key-share.js';
import { CURVE_ORDER, invQ, invQSecret, randomScalar } from '../../shared/mpc/ecdsa/curve.js';
import { expectCosignerError } from '../support/expect-error.js';
import { lockStoreOf } from './lock-stores.js';
import { runTwoParties } from '../support/run-parties.js';
import { ecdsaTestKeys } from '../support/ecdsa-keys.js';

const sid = () => new Uint8Array(randomBytes(32));

describe('mpc/ecdsa — secret-nonce arithmetic', function () {
  this.timeout(120_000);

  it('invQSecret is the inverse (blinded), for random and edge scalars, and refuses zero', () => {
    for (const k of [1n, 2n, CURVE_ORDER - 1n, ...Array.from({ length: 20 }, randomScalar)]) {
      const inv = invQSecret(k);
      expect((inv * k) % CURVE_ORDER).to.equal(1n);
      expect(inv).to.equal(invQ(k));
    }
    expectCosignerError(() => invQSecret(0n), 'INTERNAL');
    expectCosignerError(() => invQSecret(CURVE_ORDER), 'INTERNAL');
  });

  describe('without the OpenSSL route', () => {
    let share1: EcdsaKeyShareP1;
    let share2: EcdsaKeyShareP2;

    before(() => {
      ({ share1, share2 } = ecdsaTestKeys());
    });

    after(() => {
      runModPowSelfTest({ force: true });
      expect(modPowImplementation()).to.equal('openssl');
    });

    it('P2 refuses to compute its secret-exponent message on the BigInt fallback', () => {
      const messageHash = new Uint8Array(randomBytes(32));
      // A broken OpenSSL candidate fails the self-test: every modPow goes to BigInt.
      expect(runModPowSelfTest({ force: true, candidate: () => 0n })).to.equal(false);
      expect(modPowImplementation()).to.equal('bigint');
      const sessionId = sid();
      const p1 = new EcdsaSignP1(share1, { lockStore: lockStoreOf(share1), sessionId, messageHash });
      const p2 = new EcdsaSignP2(share2, { sessionId, messageHash });
      expectCosignerError(() => runTwoParties(p1, p2), 'CRYPTO_SELF_TEST_FAILED', /refusing to sign/);
      expect(p2.done).to.equal(false);
    });

    it('signs again once the OpenSSL route is back', () => {
      expect(runModPowSelfTest({ force: true })).to.equal(true);
      const messageHash = new Uint8Array(randomBytes(32));
      const sessionId = sid();
      const p1 = new EcdsaSignP1(share1, { lockStore: lockStoreOf(share1), sessionId, messageHash });
      const p2 = new EcdsaSignP2(share2, { sessionId, messageHash });
      runTwoParties(p1, p2);
      expect(p2.result().r).to.equal(p1.result().r);
    });
  });
});
