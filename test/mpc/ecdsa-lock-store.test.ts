// One live lock per KEY, not per share object (issue 7 item 10; shared/mpc/ecdsa/key-lock-store.ts).
// P1's terminal abort (CVE-2023-33242) is recorded in a KeyLockStore that every P1 signing session
// consults at start and before decryption: a second object decoded from the same encoding, an old
// pre-lock encoding decoded again, a session already running, and derived keys of the same master
// key are all refused once the key is locked; the lock is recorded before the error is thrown.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { MpcMessage } from '../../shared/mpc/party.js';
import { EcdsaKeyShareP1, type EcdsaKeyShareP2 } from '../../shared/mpc/ecdsa/key-share.js';
import { EcdsaSignP1, EcdsaSignP2 } from '../../shared/mpc/ecdsa/sign.js';
import { MemoryKeyLockStore, ecdsaKeyId, type KeyLockStore } from '../../shared/mpc/ecdsa/key-lock-store.js';
import { deriveEcdsaChild } from '../../shared/mpc/ecdsa/derive.js';
import { uintToWire } from '../../shared/mpc/bigint/wire.js';
import { isCosignerError, type CosignerError } from '../../shared/errors.js';
import { expectCosignerError } from '../support/expect-error.js';
import { runTwoParties } from '../support/run-parties.js';
import { ecdsaTestKeys } from '../support/ecdsa-keys.js';
import { deliverTo as deliver } from './deliver.js';

const sid = () => new Uint8Array(randomBytes(32));
const hash = new Uint8Array(32).fill(8);

/** A P2 that adds 1 to its contribution in c3: the signature fails at P1 after decryption. */
function breakC3(share1: EcdsaKeyShareP1) {
  const pk = share1.paillier.publicKey;
  return (m: MpcMessage): MpcMessage => {
    if (m.round !== 4) return m;
    const c3 = BigInt('0x' + Buffer.from((m.payload as { c3: Uint8Array }).c3).toString('hex'));
    return { ...m, payload: { c3: uintToWire(pk.add(c3, pk.encrypt(1n).c)) } };
  };
}

function signWith(s1: EcdsaKeyShareP1, s2: EcdsaKeyShareP2, lockStore: KeyLockStore, opts: { tweak?: bigint; tamper?: (m: MpcMessage) => MpcMessage } = {}) {
  const sessionId = sid();
  const p1 = new EcdsaSignP1(s1, { sessionId, messageHash: hash, lockStore, tweak: opts.tweak });
  const p2 = new EcdsaSignP2(s2, { sessionId, messageHash: hash, tweak: opts.tweak });
  runTwoParties(p1, p2, opts.tamper);
  return p1.result();
}

describe('mpc/ecdsa — one lock per key, kept in a lock store', function () {
  this.timeout(120_000);
  let share1: EcdsaKeyShareP1;
  let share2: EcdsaKeyShareP2;
  let sealed: Uint8Array;

  before(() => {
    ({ share1, share2 } = ecdsaTestKeys());
    sealed = share1.encode();
  });

  it('names a key by its master public key', () => {
    expect(ecdsaKeyId(share1)).to.equal(`ecdsa2p-secp256k1/${Buffer.from(share1.publicKey).toString('hex')}`);
    expect(ecdsaKeyId(EcdsaKeyShareP1.decode(sealed))).to.equal(ecdsaKeyId(share2));
  });

  it('after a failed signature, no other object of the key signs: not one decoded from the same bytes, not the pre-lock encoding decoded again', () => {
    const store = new MemoryKeyLockStore();
    const a = EcdsaKeyShareP1.decode(sealed);
    const b = EcdsaKeyShareP1.decode(sealed);
    expect(signWith(b, share2, store).r > 0n).to.equal(true);
    expectCosignerError(() => signWith(a, share2, store, { tamper: breakC3(a) }), 'MPC_SIGNATURE_INVALID');
    expect(store.isLocked(ecdsaKeyId(share1))).to.equal(true);
    expect(store.reason(ecdsaKeyId(share1))).to.match(/terminal abort/);
    // b was decoded before the lock and its own flag is still clear: the store refuses it.
    expect(b.locked).to.equal(false);
    expectCosignerError(() => new EcdsaSignP1(b, { sessionId: sid(), messageHash: hash, lockStore: store }), 'MPC_KEY_LOCKED');
    // The pre-lock sealed bytes, decoded again (a rolled-back blob), give an unlocked-looking object: refused.
    const rolledBack = EcdsaKeyShareP1.decode(sealed);
    expect(rolledBack.locked).to.equal(false);
    expectCosignerError(() => signWith(rolledBack, share2, store), 'MPC_KEY_LOCKED');
    // Derived keys share the master key's lock (a leak through a child key is a leak of the same x1).
    const tweak = deriveEcdsaChild(share1, 'm/44/60/0/0/0').tweak;
    expectCosignerError(() => signWith(EcdsaKeyShareP1.decode(sealed), share2, store, { tweak }), 'MPC_KEY_LOCKED');
  });

  it('a session that started before another object locked the key refuses to decrypt', () => {
    const store = new MemoryKeyLockStore();
    const running = EcdsaKeyShareP1.decode(sealed);
    const sessionId = sid();
    const p1 = new EcdsaSignP1(running, { sessionId, messageHash: hash, lockStore: store });
    const p2 = new EcdsaSignP2(share2, { sessionId, messageHash: hash });
    p2.start();
    let m = deliver(p2, p1.start()[0]!);
    m = deliver(p1, m[0]!);
    m = deliver(p2, m[0]!);
    // Meanwhile another object of the same key fails a signature and locks the key.
    const other = EcdsaKeyShareP1.decode(sealed);
    expectCosignerError(() => signWith(other, share2, store, { tamper: breakC3(other) }), 'MPC_SIGNATURE_INVALID');
    expectCosignerError(() => deliver(p1, m[0]!), 'MPC_KEY_LOCKED');
    expect(running.locked).to.equal(false);
  });

  it('records the lock before the error leaves P1, and says so when the store could not record it', () => {
    const events: string[] = [];
    const inner = new MemoryKeyLockStore();
    const observing: KeyLockStore = {
      isLocked: (id) => inner.isLocked(id),
      lock: (id, why) => { events.push('lock'); inner.lock(id, why); },
    };
    const s = EcdsaKeyShareP1.decode(sealed);
    try {
      signWith(s, share2, observing, { tamper: breakC3(s) });
    } catch (e) {
      events.push(isCosignerError(e) ? (e as CosignerError).code : 'other');
      expect((e as CosignerError).details?.lockRecorded).to.equal(true);
    }
    expect(events).to.deep.equal(['lock', 'MPC_SIGNATURE_INVALID']);

    const failing: KeyLockStore = { isLocked: () => false, lock: () => { throw new Error('database is down'); } };
    const t = EcdsaKeyShareP1.decode(sealed);
    const err = expectCosignerError(() => signWith(t, share2, failing, { tamper: breakC3(t) }), 'MPC_SIGNATURE_INVALID');
    expect(err.details?.lockRecorded).to.equal(false);
    expect(err.message).to.match(/could not record/);
    expect(err.message).to.not.match(/database is down/);
    // The object itself is locked, and a store that later works is told about it before refusing.
    expect(t.locked).to.equal(true);
    const later = new MemoryKeyLockStore();
    expectCosignerError(() => new EcdsaSignP1(t, { sessionId: sid(), messageHash: hash, lockStore: later }), 'MPC_KEY_LOCKED');
    expect(later.isLocked(ecdsaKeyId(t))).to.equal(true);
  });

  it('fails closed when the store cannot answer, answers asynchronously, or is missing', () => {
    const s = EcdsaKeyShareP1.decode(sealed);
    const throwing: KeyLockStore = { isLocked: () => { throw new Error('timeout'); }, lock: () => undefined };
    expectCosignerError(() => new EcdsaSignP1(s, { sessionId: sid(), messageHash: hash, lockStore: throwing }), 'INTERNAL', /refusing to sign/);
    const asyncStore = { isLocked: async () => false, lock: async () => undefined } as unknown as KeyLockStore;
    expectCosignerError(() => new EcdsaSignP1(s, { sessionId: sid(), messageHash: hash, lockStore: asyncStore }), 'INTERNAL', /synchronous/);
    expectCosignerError(() => new EcdsaSignP1(s, { sessionId: sid(), messageHash: hash } as never), 'MPC_STATE', /lock store/);
  });

  it('a lock on one key leaves other keys alone', () => {
    const store = new MemoryKeyLockStore();
    store.lock('ecdsa2p-secp256k1/' + '02'.padEnd(66, '0'), 'another key');
    expect(signWith(EcdsaKeyShareP1.decode(sealed), share2, store).r > 0n).to.equal(true);
  });
});
