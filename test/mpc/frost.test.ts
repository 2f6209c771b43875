// FROST DKG + signing end to end, checked by verifiers that share no code with the signer:
// node:crypto (OpenSSL) for Ed25519, @noble schnorr.verify for BIP340, @scure/bip32 for BIP32.
import { expect } from 'chai';
import { deliverTo } from './deliver.js';
import { createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { ed25519_FROST } from '@noble/curves/ed25519.js';
import { schnorr_FROST } from '@noble/curves/secp256k1.js';
import { HDKey } from '@scure/bip32';
import { isCosignerError } from '../../shared/errors.js';
import type { MpcMessage, Party } from '../../shared/mpc/party.js';
import {
  FrostDkgParty,
  FrostKeyShare,
  FrostSignParty,
  deriveFrostKeyShare,
  taprootFrostKeyShare,
  taprootOutputKey,
  tweakFrostKeyShare,
  type FrostScheme,
  type FrostSignature,
} from '../../shared/mpc/frost/index.js';
import { deriveEd25519, deriveSecp256k1, encodeXpub, parseDerivationPath } from '../../shared/mpc/derivation/index.js';

/** Deliver every message until nobody has anything left to say. */
function run<T>(parties: Party<T>[]): T[] {
  const byId = new Map(parties.map((p) => [p.self, p]));
  let queue: MpcMessage[] = parties.flatMap((p) => p.start());
  while (queue.length > 0) {
    const next: MpcMessage[] = [];
    for (const m of queue) next.push(...deliverTo(byId.get(m.to)!, m));
    queue = next;
  }
  for (const p of parties) expect(p.done).to.equal(true);
  return parties.map((p) => p.result());
}

function dkg(scheme: FrostScheme, parties = [1, 2], threshold = 2): FrostKeyShare[] {
  const sessionId = randomBytes(32);
  return run(parties.map((self) => new FrostDkgParty({ scheme, sessionId, self, parties, threshold })));
}

function sign(shares: FrostKeyShare[], message: Uint8Array): FrostSignature[] {
  const sessionId = randomBytes(32);
  const signers = shares.map((s) => s.self);
  return run(shares.map((keyShare) => new FrostSignParty({ keyShare, sessionId, signers, message })));
}

function nodeEd25519Verify(sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array): boolean {
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKey)]);
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  return nodeVerify(null, msg, key, sig);
}

/** BIP341 output key computed here from noble's BIP340 primitives, independently of tweak.ts. */
function independentTaprootKey(internal33: Uint8Array): Uint8Array {
  const x = internal33.slice(1);
  const t = BigInt('0x' + Buffer.from(schnorr.utils.taggedHash('TapTweak', x)).toString('hex'));
  const P = schnorr.utils.lift_x(BigInt('0x' + Buffer.from(x).toString('hex')));
  return schnorr.utils.pointToBytes(P.add(secp256k1.Point.BASE.multiply(t)));
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('FROST DKG and signing', function () {
  this.timeout(60_000);

  describe('Ed25519', () => {
    it('2-of-2 DKG (default parties) gives one group key; the signature verifies with node:crypto and noble', () => {
      const [a, b] = dkg('ed25519');
      expect(hex(a!.groupPublicKey)).to.equal(hex(b!.groupPublicKey));
      expect(hex(a!.chainCode)).to.equal(hex(b!.chainCode));
      expect(a!.threshold).to.equal(2);
      expect(hex(a!.signingShareBytes())).to.not.equal(hex(b!.signingShareBytes()));
      const msg = new TextEncoder().encode('pay 1 SOL to someone');
      const sigs = sign([a!, b!], msg);
      expect(hex(sigs[0]!.signature)).to.equal(hex(sigs[1]!.signature));
      expect(nodeEd25519Verify(sigs[0]!.signature, msg, a!.groupPublicKey)).to.equal(true);
      expect(ed25519.verify(sigs[0]!.signature, msg, a!.groupPublicKey)).to.equal(true);
      expect(nodeEd25519Verify(sigs[0]!.signature, new TextEncoder().encode('pay 2 SOL to someone'), a!.groupPublicKey)).to.equal(false);
    });

    it('2-of-3 with an offline backup: DKG with 3 parties, sign with {1,2}, {1,3} and {2,3}', () => {
      const shares = dkg('ed25519', [1, 2, 3], 2);
      const msg = randomBytes(48);
      for (const set of [[1, 2], [1, 3], [2, 3]]) {
        const sigs = sign(set.map((i) => shares[i - 1]!), msg);
        expect(nodeEd25519Verify(sigs[0]!.signature, msg, shares[0]!.groupPublicKey), `signers ${set}`).to.equal(true);
      }
      // The backup's share recombines with either other share to the group secret (offline recovery).
      const secret = ed25519_FROST.combineSecret(
        [shares[0]!, shares[2]!].map((s) => s.toNoble().secret),
        { min: 2, max: 3 },
      );
      const scalar = ed25519.Point.Fn.fromBytes(secret);
      expect(hex(ed25519.Point.BASE.multiply(scalar).toBytes())).to.equal(hex(shares[0]!.groupPublicKey));
    });

    it('nonces are fresh per session: two signatures of one message have different R', () => {
      const [a, b] = dkg('ed25519');
      const msg = randomBytes(32);
      const s1 = sign([a!, b!], msg)[0]!.signature;
      const s2 = sign([a!, b!], msg)[0]!.signature;
      expect(hex(s1.slice(0, 32))).to.not.equal(hex(s2.slice(0, 32)));
    });

    it('a derived child share signs under the child key that deriveEd25519 computes from the public key alone', () => {
      const [a, b] = dkg('ed25519');
      const path = parseDerivationPath('m/44/501/0/0/7');
      const expected = deriveEd25519({ publicKey: a!.groupPublicKey, chainCode: a!.chainCode }, path);
      const ca = deriveFrostKeyShare(a!, path).keyShare;
      const cb = deriveFrostKeyShare(b!, path).keyShare;
      expect(hex(ca.groupPublicKey)).to.equal(hex(expected.publicKey));
      expect(hex(ca.groupPublicKey)).to.not.equal(hex(a!.groupPublicKey));
      const msg = randomBytes(40);
      const sig = sign([ca, cb], msg)[0]!;
      expect(hex(sig.publicKey)).to.equal(hex(expected.publicKey));
      expect(nodeEd25519Verify(sig.signature, msg, expected.publicKey)).to.equal(true);
      expect(nodeEd25519Verify(sig.signature, msg, a!.groupPublicKey)).to.equal(false);
    });

    it('tweakFrostKeyShare: the same t on every share gives a 2-of-3 sharing of parent + t·G', () => {
      const shares = dkg('ed25519', [1, 2, 3], 2);
      const t = 123456789n;
      const child = shares.map((s) => tweakFrostKeyShare(s, t));
      const expected = ed25519.Point.fromBytes(shares[0]!.groupPublicKey).add(ed25519.Point.BASE.multiply(t)).toBytes();
      expect(hex(child[0]!.groupPublicKey)).to.equal(hex(expected));
      const msg = randomBytes(16);
      for (const set of [[1, 3], [2, 3]]) {
        const sig = sign(set.map((i) => child[i - 1]!), msg)[0]!;
        expect(nodeEd25519Verify(sig.signature, msg, expected)).to.equal(true);
      }
    });
  });

  describe('BIP340 (Taproot)', () => {
    it('2-of-2 DKG stores the untweaked internal key; signing under it verifies with schnorr.verify (x-only)', () => {
      const [a, b] = dkg('bip340');
      expect(a!.groupPublicKey.length).to.equal(33);
      expect(a!.groupPublicKey[0]).to.equal(2); // normalised to even Y by the DKG
      expect(hex(a!.externalPublicKey)).to.equal(hex(a!.groupPublicKey.slice(1)));
      const msg = randomBytes(32);
      const sig = sign([a!, b!], msg)[0]!;
      expect(hex(sig.publicKey)).to.equal(hex(a!.externalPublicKey));
      expect(schnorr.verify(sig.signature, msg, a!.externalPublicKey)).to.equal(true);
    });

    it('Taproot key-path: the tweaked share signs under the BIP341 output key of the internal key', () => {
      const parties = [1, 2];
      const sessionId = randomBytes(32);
      const [a, b] = run(parties.map((self) => new FrostDkgParty({ scheme: 'bip340', sessionId, self, parties })));
      const outputKey = independentTaprootKey(a!.groupPublicKey);
      expect(hex(taprootOutputKey(a!.groupPublicKey))).to.equal(hex(outputKey));
      const ta = taprootFrostKeyShare(a!);
      const tb = taprootFrostKeyShare(b!);
      expect(hex(ta.externalPublicKey)).to.equal(hex(outputKey));
      const msg = randomBytes(32);
      const sig = sign([ta, tb], msg)[0]!;
      expect(schnorr.verify(sig.signature, msg, outputKey)).to.equal(true);
      expect(schnorr.verify(sig.signature, msg, a!.externalPublicKey)).to.equal(false);
      // schnorr_FROST's own verifier agrees (it takes the x-only output key too).
      expect(schnorr_FROST.verify(sig.signature, msg, outputKey)).to.equal(true);
    });

    it("what noble does: schnorr_FROST DKG output is the BIP86 output key of Σφ_j0; trustedDealer output is untweaked", () => {
      const signers = { min: 2, max: 2 };
      const ids = [1, 2].map((n) => schnorr_FROST.Identifier.fromNumber(n));
      const r1 = ids.map((id) => schnorr_FROST.DKG.round1(id, signers));
      const r2 = r1.map((r, i) => schnorr_FROST.DKG.round2(r.secret, [r1[1 - i]!.public]));
      const key = schnorr_FROST.DKG.round3(r1[0]!.secret, [r1[1]!.public], [r2[1]![ids[0]!]!]);
      const P = secp256k1.Point.fromBytes(r1[0]!.public.commitment[0]!).add(secp256k1.Point.fromBytes(r1[1]!.public.commitment[0]!));
      expect(hex(key.public.commitments[0]!.slice(1))).to.equal(hex(independentTaprootKey(P.toBytes(true))));
      expect(hex(key.public.commitments[0]!.slice(1))).to.not.equal(hex(P.toBytes(true).slice(1)));
      const secret = secp256k1.Point.Fn.toBytes(987654321n);
      const deal = schnorr_FROST.trustedDealer(signers, undefined, secret);
      expect(hex(deal.public.commitments[0]!)).to.equal(hex(secp256k1.Point.BASE.multiply(987654321n).toBytes(true)));
    });

    it('2-of-3 with an offline backup: sign with {1,2} and {1,3}', () => {
      const shares = dkg('bip340', [1, 2, 3], 2).map((s) => taprootFrostKeyShare(s));
      const msg = randomBytes(32);
      for (const set of [[1, 2], [1, 3]]) {
        const sig = sign(set.map((i) => shares[i - 1]!), msg)[0]!;
        expect(schnorr.verify(sig.signature, msg, shares[0]!.externalPublicKey), `signers ${set}`).to.equal(true);
      }
    });

    it('BIP32 child of the internal key equals @scure/bip32 from the xpub, and both raw and Taproot child signatures verify', () => {
      const [a, b] = dkg('bip340');
      const xpub = encodeXpub({ publicKey: a!.groupPublicKey, chainCode: a!.chainCode, depth: 0, parentFingerprint: 0, index: 0 });
      const msg = randomBytes(32);
      for (const path of ['m/86/0/0/0/0', 'm/0/1', 'm/7/2147483647', 'm/86/0/0/1/3', 'm/1/2/3/4/5/6']) {
        const steps = parseDerivationPath(path);
        const scure = HDKey.fromExtendedKey(xpub).derive(path);
        const ca = deriveFrostKeyShare(a!, steps);
        const cb = deriveFrostKeyShare(b!, steps);
        expect(hex(ca.publicKey), path).to.equal(hex(scure.publicKey!));
        expect(hex(ca.chainCode), path).to.equal(hex(scure.chainCode!));
        expect(ca.tweak).to.equal(deriveSecp256k1({ publicKey: a!.groupPublicKey, chainCode: a!.chainCode }, steps).tweak);
        // Raw BIP340 under the child's x-only key (odd-Y children are negated inside signing).
        const raw = sign([ca.keyShare, cb.keyShare], msg)[0]!;
        expect(schnorr.verify(raw.signature, msg, scure.publicKey!.slice(1)), path).to.equal(true);
        // Taproot key-path under the child's output key.
        const tr = sign([taprootFrostKeyShare(ca.keyShare), taprootFrostKeyShare(cb.keyShare)], msg)[0]!;
        expect(schnorr.verify(tr.signature, msg, independentTaprootKey(scure.publicKey!)), path).to.equal(true);
      }
      // Odd-Y children occur at random here; the next test forces one.
    });

    it('an odd-Y internal key signs correctly (parity handled by negating every share)', () => {
      const [a, b] = dkg('bip340');
      // Find a small tweak that gives an odd-Y key, so the negation branch is exercised deterministically.
      let t = 1n;
      while (tweakFrostKeyShare(a!, t).groupPublicKey[0] !== 3) t++;
      const oa = tweakFrostKeyShare(a!, t);
      const ob = tweakFrostKeyShare(b!, t);
      const msg = randomBytes(32);
      const sig = sign([oa, ob], msg)[0]!;
      expect(schnorr.verify(sig.signature, msg, oa.groupPublicKey.slice(1))).to.equal(true);
      const tr = sign([taprootFrostKeyShare(oa), taprootFrostKeyShare(ob)], msg)[0]!;
      expect(schnorr.verify(tr.signature, msg, independentTaprootKey(oa.groupPublicKey))).to.equal(true);
    });
  });

  describe('offline recovery derives the same keys', () => {
    it('Ed25519: combined scalar + additive tweak signs (raw-scalar Ed25519) under the MPC child key; node:crypto verifies', () => {
      const shares = dkg('ed25519', [1, 2, 3], 2);
      const path = parseDerivationPath('m/44/501/2/0/11');
      const child = deriveFrostKeyShare(shares[1]!, path);
      // Recovery: any two shares (here the backup 3 and party 1) → group scalar a; child scalar a + t.
      const a = ed25519.Point.Fn.fromBytes(ed25519_FROST.combineSecret([shares[2]!, shares[0]!].map((k) => k.toNoble().secret), { min: 2, max: 3 }));
      const d = deriveEd25519({ publicKey: ed25519.Point.BASE.multiply(a).toBytes(), chainCode: shares[0]!.chainCode }, path);
      expect(hex(d.publicKey)).to.equal(hex(child.publicKey));
      const childScalar = ed25519.Point.Fn.create(a + d.tweak);
      const msg = randomBytes(33);
      const sig = ed25519_FROST.sign(msg, ed25519.Point.Fn.toBytes(childScalar)); // RFC 8032 equation, raw scalar
      expect(nodeEd25519Verify(sig, msg, child.publicKey)).to.equal(true);
    });

    it('BIP340: combined scalar as an xprv derives (with @scure/bip32) the same child as the MPC shares', () => {
      const shares = dkg('bip340', [1, 2, 3], 2);
      const k = secp256k1.Point.Fn.fromBytes(schnorr_FROST.combineSecret([shares[0]!, shares[2]!].map((x) => x.toNoble().secret), { min: 2, max: 3 }));
      expect(hex(secp256k1.Point.BASE.multiply(k).toBytes(true))).to.equal(hex(shares[0]!.groupPublicKey));
      const xprv = new HDKey({ privateKey: secp256k1.Point.Fn.toBytes(k), chainCode: shares[0]!.chainCode });
      const path = 'm/0/7';
      const viaXprv = xprv.derive(path);
      const mpcChild = deriveFrostKeyShare(shares[1]!, parseDerivationPath(path));
      expect(hex(viaXprv.publicKey!)).to.equal(hex(mpcChild.publicKey));
      // Taproot key-path with the recovered child private key (BIP341 taproot_tweak_seckey) verifies under the MPC output key.
      let d = secp256k1.Point.Fn.fromBytes(viaXprv.privateKey!);
      if (viaXprv.publicKey![0] === 3) d = secp256k1.Point.Fn.neg(d);
      const t = BigInt('0x' + hex(schnorr.utils.taggedHash('TapTweak', viaXprv.publicKey!.slice(1))));
      const tweaked = secp256k1.Point.Fn.toBytes(secp256k1.Point.Fn.create(d + t));
      const msg = randomBytes(32);
      const outputKey = taprootFrostKeyShare(mpcChild.keyShare).externalPublicKey;
      expect(schnorr.verify(schnorr.sign(msg, tweaked), msg, outputKey)).to.equal(true);
    });
  });

  describe('key share sealing format', () => {
    for (const scheme of ['ed25519', 'bip340'] as const) {
      it(`${scheme}: encode/decode round-trips and the decoded shares still sign`, () => {
        const [a, b] = dkg(scheme);
        const a2 = FrostKeyShare.decode(a!.encode());
        const b2 = FrostKeyShare.decode(b!.encode());
        expect(hex(a2.encode())).to.equal(hex(a!.encode()));
        const msg = randomBytes(32);
        const sig = sign([a2, b2], msg)[0]!;
        expect(scheme === 'ed25519' ? nodeEd25519Verify(sig.signature, msg, a2.groupPublicKey) : schnorr.verify(sig.signature, msg, a2.externalPublicKey)).to.equal(true);
      });
    }

    it('decode re-validates: a changed signing share, verifying share, commitment or threshold is refused', () => {
      const [a] = dkg('ed25519', [1, 2, 3], 2);
      const parts = a!.toParts();
      const variants: Array<[string, (p: ReturnType<FrostKeyShare['toParts']>) => void]> = [
        ['signing share', (p) => (p.signingShare[0] ^= 1)],
        ['verifying share', (p) => (p.verifyingShares[1] = ed25519.Point.BASE.toBytes())],
        ['commitment', (p) => (p.commitments[1] = ed25519.Point.BASE.toBytes())],
        ['threshold', (p) => (p.threshold = 3)],
        ['self', (p) => (p.self = 4)],
      ];
      for (const [what, change] of variants) {
        const p = a!.toParts();
        change(p);
        expect(() => FrostKeyShare.fromParts(p), what).to.throw().that.satisfies((e: unknown) => isCosignerError(e, 'MPC_KEY_SHARE_INVALID'));
      }
      expect(() => FrostKeyShare.fromParts(parts)).to.not.throw();
      expect(() => FrostKeyShare.decode(new Uint8Array([0xa1, 0x61, 0x76, 0x02]))).to.throw().that.satisfies((e: unknown) => isCosignerError(e, 'SEALED_STATE_INVALID'));
    });
  });
});
