// Derived keys are cached per (key object, path) (issue 12, "Derivation cost"): the same path
// costs its HMACs once per party, a FROST child share is the same object each time (so its
// signing tables are built once), and the cached results stay equal to a fresh derivation and
// to @scure/bip32 / the independent noble arithmetic.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { HDKey } from '@scure/bip32';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { FrostDkgParty, FrostSignParty, deriveFrostKeyShare, taprootFrostKeyShare, type FrostKeyShare, type FrostScheme } from '../../shared/mpc/frost/index.js';
import { deriveEcdsaChild, ecdsaXpub } from '../../shared/mpc/ecdsa/derive.js';
import { derivePublicKey } from '../../shared/mpc/ecdsa/sign.js';
import { EcdsaKeyShareP1, type EcdsaKeyShareP2 } from '../../shared/mpc/ecdsa/key-share.js';
import { deriveSecp256k1 } from '../../shared/mpc/derivation/bip32.js';
import { deriveEd25519 } from '../../shared/mpc/derivation/ed25519-additive.js';
import { PerKeyCache } from '../../shared/mpc/derivation/per-key-cache.js';
import { ecdsaTestKeys } from '../support/ecdsa-keys.js';
import { deliverTo } from './deliver.js';

const PATH = [44, 60, 0, 0, 0];

function frostKeys(scheme: FrostScheme): FrostKeyShare[] {
  const sessionId = randomBytes(32);
  const parties = [1, 2].map((self) => new FrostDkgParty({ scheme, sessionId, self, parties: [1, 2], threshold: 2 }));
  let q = parties.flatMap((p) => p.start());
  while (q.length) q = q.flatMap((m) => deliverTo(parties.find((p) => p.self === m.to)!, m));
  return parties.map((p) => p.result());
}

function signFrost(shares: FrostKeyShare[], message: Uint8Array) {
  const sessionId = randomBytes(32);
  const parties = shares.map((keyShare) => new FrostSignParty({ keyShare, sessionId, signers: [1, 2], message }));
  let q = parties.flatMap((p) => p.start());
  while (q.length) q = q.flatMap((m) => deliverTo(parties.find((p) => p.self === m.to)!, m));
  return parties[0]!.result();
}

describe('mpc/derivation — derived keys cached per (key, path)', function () {
  this.timeout(120_000);
  let share1: EcdsaKeyShareP1;
  let share2: EcdsaKeyShareP2;

  before(() => {
    ({ share1, share2 } = ecdsaTestKeys());
  });

  it('FROST: the same path gives the same child share object (tables built once), equal to a fresh derivation', () => {
    for (const scheme of ['ed25519', 'bip340'] as const) {
      const [a, b] = frostKeys(scheme);
      const first = deriveFrostKeyShare(a!, PATH);
      const again = deriveFrostKeyShare(a!, PATH);
      expect(again.keyShare).to.equal(first.keyShare);
      const parent = { publicKey: a!.groupPublicKey, chainCode: a!.chainCode };
      const fresh = scheme === 'ed25519' ? deriveEd25519(parent, PATH) : deriveSecp256k1(parent, PATH);
      expect(Buffer.from(again.publicKey).toString('hex')).to.equal(Buffer.from(fresh.publicKey).toString('hex'));
      expect(again.tweak).to.equal(fresh.tweak);
      // Another path is another entry; the other party derives the same child key on its own.
      expect(deriveFrostKeyShare(a!, [44, 60, 0, 0, 1]).keyShare).to.not.equal(first.keyShare);
      expect(deriveFrostKeyShare(b!, PATH).publicKey).to.deep.equal(first.publicKey);
      // A caller changing what it got back does not change the cache.
      again.publicKey.fill(0);
      expect(deriveFrostKeyShare(a!, PATH).publicKey).to.deep.equal(first.publicKey);
      // The cached child signs (twice: the second signature uses its tables).
      const children = [a!, b!].map((s) => deriveFrostKeyShare(s, PATH).keyShare);
      const shares = scheme === 'bip340' ? children.map((c) => taprootFrostKeyShare(c)) : children;
      for (let i = 0; i < 2; i++) expect(signFrost(shares, randomBytes(32)).signature).to.have.length(64);
    }
  });

  it('FROST: a wiped cached share is derived again, and the Taproot-tweaked share is cached per merkle root', () => {
    const [a] = frostKeys('bip340');
    const child = deriveFrostKeyShare(a!, PATH).keyShare;
    child.wipe();
    const rederived = deriveFrostKeyShare(a!, PATH).keyShare;
    expect(rederived).to.not.equal(child);
    expect(rederived.wiped).to.equal(false);
    const t1 = taprootFrostKeyShare(rederived);
    expect(taprootFrostKeyShare(rederived)).to.equal(t1);
    const root = new Uint8Array(32).fill(7);
    const t2 = taprootFrostKeyShare(rederived, root);
    expect(t2).to.not.equal(t1);
    expect(t2.externalPublicKey).to.not.deep.equal(t1.externalPublicKey);
    t1.wipe();
    const t3 = taprootFrostKeyShare(rederived);
    expect(t3).to.not.equal(t1);
    expect(t3.externalPublicKey).to.deep.equal(t1.externalPublicKey);
  });

  it('ECDSA: cached child keys equal @scure/bip32 and noble arithmetic, for either party and any share object', () => {
    const hd = HDKey.fromExtendedKey(ecdsaXpub(share1)).derive('m/44/60/0/0/0');
    for (const share of [share1, share2, EcdsaKeyShareP1.decode(share1.encode())]) {
      for (let i = 0; i < 2; i++) {
        const d = deriveEcdsaChild(share, PATH);
        expect(Buffer.from(d.publicKey).toString('hex')).to.equal(Buffer.from(hd.publicKey!).toString('hex'));
        expect(Buffer.from(d.chainCode).toString('hex')).to.equal(Buffer.from(hd.chainCode!).toString('hex'));
        d.publicKey.fill(0);
        d.path.push(9);
      }
    }
    const d = deriveEcdsaChild(share1, 'm/44/60/0/0/0');
    expect(d.path).to.deep.equal(PATH);
    // Q' = Q + t·G from the cache equals noble's own computation, on every call.
    for (let i = 0; i < 3; i++) {
      const child = derivePublicKey(share1.Q, d.tweak);
      expect(child.toBytes(true)).to.deep.equal(secp256k1.Point.fromBytes(share1.publicKey).add(secp256k1.Point.BASE.multiply(d.tweak)).toBytes(true));
    }
  });

  it('PerKeyCache keeps the most recently used paths of each key', () => {
    const cache = new PerKeyCache<object, number>(2);
    const key = {};
    let made = 0;
    const get = (p: number[]) => cache.get(key, p, () => ++made);
    expect([get([1]), get([2]), get([1])]).to.deep.equal([1, 2, 1]);
    get([3]); // evicts [2], the least recently used
    expect(get([1])).to.equal(1);
    expect(get([2])).to.equal(4);
    expect(cache.get({}, [1], () => 99)).to.equal(99); // another key, another entry
    expect(cache.get(key, [1], () => 5, () => false)).to.equal(5); // a stale entry is remade
  });
});
