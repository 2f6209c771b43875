// Interoperability of our RFC 9591 signing code with @noble/curves' FROST (ed25519_FROST and
// schnorr_FROST, the implementation we replaced on the hot path): shares our parties produce
// verify and aggregate with noble, and our parties accept noble-made commitments and shares. Keys
// include 2-of-3 sets (non-trivial Lagrange coefficients), Taproot-tweaked keys and odd-Y keys.
import { expect } from 'chai';
import { deliverTo } from './deliver.js';
import { createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { schnorr } from '@noble/curves/secp256k1.js';
import type { NonceCommitments } from '@noble/curves/abstract/frost.js';
import type { MpcMessage, Party } from '../../shared/mpc/party.js';
import {
  FrostDkgParty,
  FrostSignParty,
  commitmentShare,
  computeBindingFactors,
  groupCommitment,
  signingKeyOf,
  taprootFrostKeyShare,
  tweakFrostKeyShare,
  type FrostKeyShare,
  type FrostScheme,
  type SignerCommitment,
} from '../../shared/mpc/frost/index.js';

type Payload = Record<string, Uint8Array>;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function run<T>(parties: Party<T>[], tap?: (m: MpcMessage) => void): T[] {
  const byId = new Map(parties.map((p) => [p.self, p]));
  let queue = parties.flatMap((p) => p.start());
  while (queue.length > 0) {
    const next: MpcMessage[] = [];
    for (const m of queue) {
      tap?.(m);
      next.push(...deliverTo(byId.get(m.to)!, m));
    }
    queue = next;
  }
  return parties.map((p) => p.result());
}

function dkg(scheme: FrostScheme, parties: number[], threshold: number): FrostKeyShare[] {
  const sessionId = randomBytes(32);
  return run(parties.map((self) => new FrostDkgParty({ scheme, sessionId, self, parties, threshold })));
}

function independentlyValid(scheme: FrostScheme, sig: Uint8Array, msg: Uint8Array, key: FrostKeyShare): boolean {
  if (scheme === 'bip340') return schnorr.verify(sig, msg, key.externalPublicKey);
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(key.groupPublicKey)]);
  return nodeVerify(null, msg, createPublicKey({ key: spki, format: 'der', type: 'spki' }), sig);
}

/** Key sets to sign with: plain 2-of-2, a 2-of-3 pair, and (bip340) Taproot-tweaked and odd-Y keys. */
function keySets(scheme: FrostScheme): Array<[string, FrostKeyShare[]]> {
  const two = dkg(scheme, [1, 2], 2);
  const three = dkg(scheme, [1, 2, 3], 2);
  const sets: Array<[string, FrostKeyShare[]]> = [
    ['2-of-2', two],
    ['2-of-3 {1,3}', [three[0]!, three[2]!]],
  ];
  if (scheme === 'bip340') {
    let t = 1n;
    while (tweakFrostKeyShare(two[0]!, t).groupPublicKey[0] !== 3) t++;
    sets.push(['odd-Y key', two.map((k) => tweakFrostKeyShare(k, t))]);
    sets.push(['Taproot-tweaked 2-of-3 {2,3}', [three[1]!, three[2]!].map((k) => taprootFrostKeyShare(k))]);
  }
  return sets;
}

for (const scheme of ['ed25519', 'bip340'] as const) {
  describe(`FROST ${scheme} interoperability with @noble/curves`, function () {
    this.timeout(60_000);

    it('our signature shares pass noble verifyShare and aggregate with noble to our signature', () => {
      for (const [what, keys] of keySets(scheme)) {
        const suite = keys[0]!.suite;
        const signers = keys.map((k) => k.self);
        const msg = randomBytes(32);
        const sessionId = randomBytes(32);
        const commitments = new Map<number, NonceCommitments>();
        const shares: Record<string, Uint8Array> = {};
        const sigs = run(
          keys.map((keyShare) => new FrostSignParty({ keyShare, sessionId, signers, message: msg })),
          (m) => {
            const p = m.payload as Payload;
            if (m.round === 1) commitments.set(m.from, { identifier: suite.identifier(m.from), hiding: p.hiding!, binding: p.binding! } as NonceCommitments);
            else shares[suite.identifier(m.from)] = p.signatureShare!;
          },
        );
        const list = signers.map((p) => commitments.get(p)!);
        const pub = keys[0]!.noblePublic();
        expect(Object.keys(shares).length, what).to.equal(signers.length);
        for (const id of Object.keys(shares)) expect(suite.frost.verifyShare(pub, list, msg, id, shares[id]!), `${what}: noble verifyShare ${id}`).to.equal(true);
        const nobleSig = suite.frost.aggregate(pub, list, msg, shares);
        expect(hex(nobleSig), what).to.equal(hex(sigs[0]!.signature));
        expect(independentlyValid(scheme, nobleSig, msg, keys[0]!), what).to.equal(true);
        // and a share that is off by one is refused by noble too (the check above can fail)
        const bad = { ...shares, [suite.identifier(signers[0]!)]: suite.encodeScalar((suite.decodeScalar(shares[suite.identifier(signers[0]!)]!, 'z') + 1n) % suite.order) };
        expect(() => suite.frost.aggregate(pub, list, msg, bad), what).to.throw();
      }
    });

    it('our party accepts commitments and a signature share made by noble (noble signs as the peer)', () => {
      for (const [what, keys] of keySets(scheme)) {
        const [ours, theirs] = keys as [FrostKeyShare, FrostKeyShare];
        const suite = ours.suite;
        const signers = [ours.self, theirs.self];
        const msg = randomBytes(32);
        const sessionId = randomBytes(32);
        const party = new FrostSignParty({ keyShare: ours, sessionId, signers, message: msg });
        const r1 = party.start()[0]!;
        const { secret, public: pub } = theirs.toNoble();
        const gen = suite.frost.commit(secret);
        const envelope = (round: number, payload: unknown): MpcMessage => ({ protocol: r1.protocol, sessionId, from: theirs.self, to: ours.self, round, payload });
        const r2 = deliverTo(party, 
          envelope(1, { hiding: gen.commitments.hiding, binding: gen.commitments.binding, groupKey: theirs.groupPublicKey, messageHash: (r1.payload as Payload).messageHash }),
        );
        expect(r2.length, what).to.equal(1);
        const ourCommitment = { identifier: suite.identifier(ours.self), hiding: (r1.payload as Payload).hiding, binding: (r1.payload as Payload).binding } as NonceCommitments;
        const list = ours.self < theirs.self ? [ourCommitment, gen.commitments] : [gen.commitments, ourCommitment];
        // noble checks our share against our verifying share, then signs its own.
        expect(suite.frost.verifyShare(pub, list, msg, suite.identifier(ours.self), (r2[0]!.payload as Payload).signatureShare!), what).to.equal(true);
        const theirShare = suite.frost.signShare(secret, pub, gen.nonces, list, msg);
        expect(deliverTo(party, envelope(2, { signatureShare: theirShare })), what).to.deep.equal([]);
        const sig = party.result().signature;
        expect(independentlyValid(scheme, sig, msg, ours), what).to.equal(true);
        expect(hex(sig), what).to.equal(hex(suite.frost.aggregate(pub, list, msg, { [suite.identifier(ours.self)]: (r2[0]!.payload as Payload).signatureShare!, [suite.identifier(theirs.self)]: theirShare })));
      }
    });
  });
}

describe('FROST bip340: both parities of the group commitment R (TR nonce negation)', function () {
  this.timeout(60_000);

  it('signatures with even-Y and odd-Y R both verify with schnorr.verify and noble verifyShare', () => {
    const keys = dkg('bip340', [1, 2], 2).map((k) => taprootFrostKeyShare(k));
    const suite = keys[0]!.suite;
    const seen = new Set<boolean>();
    for (let i = 0; i < 64 && seen.size < 2; i++) {
      const msg = randomBytes(32);
      const sessionId = randomBytes(32);
      const payloads = new Map<string, Payload>();
      const [sig] = run(
        keys.map((keyShare) => new FrostSignParty({ keyShare, sessionId, signers: [1, 2], message: msg })),
        (m) => void payloads.set(`${m.round}/${m.from}`, m.payload as Payload),
      );
      // R recomputed from the public round-1 values (RFC 9591 §4.4–4.5), only to learn its parity.
      const list: SignerCommitment[] = [1, 2].map((p) => {
        const r1 = payloads.get(`1/${p}`)!;
        return { party: p, hiding: suite.decodePoint(r1.hiding!, 'h'), binding: suite.decodePoint(r1.binding!, 'b'), hidingBytes: r1.hiding!, bindingBytes: r1.binding! };
      });
      const rho = computeBindingFactors(suite, signingKeyOf(keys[0]!).groupKeyBytes, list, msg);
      const R = groupCommitment(list.map((c, j) => commitmentShare(c, rho[j]!)));
      expect(Buffer.from(R.toBytes(true).subarray(1)).equals(Buffer.from(sig!.signature.subarray(0, 32)))).to.equal(true);
      seen.add(suite.hasOddY(R));
      expect(schnorr.verify(sig!.signature, msg, keys[0]!.externalPublicKey)).to.equal(true);
      const nobleList = [1, 2].map((p) => ({ identifier: suite.identifier(p), hiding: payloads.get(`1/${p}`)!.hiding!, binding: payloads.get(`1/${p}`)!.binding! }) as NonceCommitments);
      for (const p of [1, 2]) expect(suite.frost.verifyShare(keys[0]!.noblePublic(), nobleList, msg, suite.identifier(p), payloads.get(`2/${p}`)!.signatureShare!)).to.equal(true);
    }
    expect([...seen].sort()).to.deep.equal([false, true]);
  });
});
