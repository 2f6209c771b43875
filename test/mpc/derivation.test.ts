// Key derivation against independent implementations and published vectors:
// secp256k1 BIP32 CKDpub vs @scure/bip32 (and the BIP32 test vector 1 xpubs), Ed25519 additive
// derivation vs the test vector of Fireblocks' open-source recovery tool.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { HDKey } from '@scure/bip32';
import { isCosignerError, type ErrorCode } from '../../shared/errors.js';
import {
  base58CheckDecode,
  base58CheckEncode,
  ckdPubSecp256k1,
  decodeExtendedKey,
  deriveEd25519,
  deriveEd25519Scalar,
  deriveSecp256k1,
  encodeXpub,
  fingerprint,
  formatDerivationPath,
  parseDerivationPath,
} from '../../shared/mpc/derivation/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function expectCode(fn: () => unknown, code: ErrorCode): void {
  expect(fn).to.throw().that.satisfies((e: unknown) => isCosignerError(e, code));
}

describe('key derivation', () => {
  describe('path parsing', () => {
    it('parses non-hardened paths', () => {
      expect(parseDerivationPath('m/44/60/0/0/5')).to.deep.equal([44, 60, 0, 0, 5]);
      expect(parseDerivationPath('m')).to.deep.equal([]);
      expect(parseDerivationPath('m/2147483647')).to.deep.equal([2147483647]);
      expect(formatDerivationPath([86, 0, 0, 1, 9])).to.equal('m/86/0/0/1/9');
    });

    it("rejects hardened markers (' h H), hardened-range numbers and malformed paths", () => {
      for (const bad of ["m/44'/60/0", 'm/44h/0', 'm/44H', 'm/2147483648', 'm/4294967296', 'M/1', '44/60', 'm/', 'm//1', 'm/01', 'm/-1', 'm/1.5', 'm/ 1', 'm/0x10', '']) {
        expectCode(() => parseDerivationPath(bad), 'KEY_DERIVATION_INVALID');
      }
      expectCode(() => parseDerivationPath('m' + '/1'.repeat(256)), 'KEY_DERIVATION_INVALID');
    });
  });

  describe('secp256k1 BIP32 (public parent → public child)', () => {
    // BIP32 test vector 1 (bitcoin/bips bip-0032.mediawiki): the xpub at m/0H/1/2H and its
    // non-hardened descendants m/0H/1/2H/2 and m/0H/1/2H/2/1000000000.
    const TV1_M_0H_1_2H = 'xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5';
    const TV1_M_0H_1_2H_2 = 'xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV';
    const TV1_M_0H_1_2H_2_1000000000 = 'xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy';

    it('reproduces BIP32 test vector 1 from the published xpub (depth, fingerprint, child number, xpub)', () => {
      const parent = decodeExtendedKey(TV1_M_0H_1_2H);
      const d = deriveSecp256k1({ publicKey: parent.publicKey, chainCode: parent.chainCode }, [2, 1000000000]);
      expect(encodeXpub({ publicKey: d.publicKey, chainCode: d.chainCode, depth: parent.depth + 2, parentFingerprint: d.parentFingerprint, index: 1000000000 })).to.equal(TV1_M_0H_1_2H_2_1000000000);
      const one = deriveSecp256k1({ publicKey: parent.publicKey, chainCode: parent.chainCode }, [2]);
      expect(encodeXpub({ ...one, depth: parent.depth + 1, index: 2 })).to.equal(TV1_M_0H_1_2H_2);
      expect(one.parentFingerprint).to.equal(fingerprint(parent.publicKey));
      // Re-encoding the parsed parent gives the same string.
      expect(encodeXpub(parent, parent.version)).to.equal(TV1_M_0H_1_2H);
    });

    it('equals HDKey.fromExtendedKey(xpub).derive(path) for several keys and paths; child = parent + tweak·G', () => {
      const paths = ['m/0', 'm/1', 'm/44/60/0/0/5', 'm/44/0/0/1/17', 'm/84/0/0/0/2147483647', 'm/86/1/0/0/3', 'm/0/0/0/0/0/0/0/0', 'm'];
      for (let k = 0; k < 4; k++) {
        const master = HDKey.fromMasterSeed(randomBytes(32));
        const xpub = master.publicExtendedKey;
        const parent = { publicKey: master.publicKey!, chainCode: master.chainCode! };
        expect(encodeXpub({ ...parent, depth: 0, parentFingerprint: 0, index: 0 })).to.equal(xpub);
        for (const path of paths) {
          const steps = parseDerivationPath(path);
          const ours = deriveSecp256k1(parent, steps);
          const theirs = HDKey.fromExtendedKey(xpub).derive(path);
          expect(hex(ours.publicKey), path).to.equal(hex(theirs.publicKey!));
          expect(hex(ours.chainCode), path).to.equal(hex(theirs.chainCode!));
          if (steps.length > 0) {
            expect(encodeXpub({ ...ours, depth: steps.length, index: steps[steps.length - 1]! }), path).to.equal(theirs.publicExtendedKey);
          }
          const moved = secp256k1.Point.fromBytes(parent.publicKey).add(ours.tweak === 0n ? secp256k1.Point.ZERO : secp256k1.Point.BASE.multiply(ours.tweak));
          expect(hex(moved.toBytes(true)), path).to.equal(hex(ours.publicKey));
          // The private side agrees: (k + tweak)·G is the child.
          const childPriv = secp256k1.Point.Fn.create(secp256k1.Point.Fn.fromBytes(master.privateKey!) + ours.tweak);
          expect(hex(secp256k1.Point.BASE.multiply(childPriv).toBytes(true))).to.equal(hex(ours.publicKey));
        }
      }
    });

    it('invalid I_L (≥ n, or a child at infinity) proceeds with the next index, exactly like @scure/bip32', () => {
      const n = secp256k1.Point.Fn.ORDER;
      const master = HDKey.fromMasterSeed(new Uint8Array(32).fill(3));
      const pub = HDKey.fromExtendedKey(master.publicExtendedKey);
      const parent = { publicKey: master.publicKey!, chainCode: master.chainCode! };
      const k = secp256k1.Point.Fn.fromBytes(master.privateKey!);
      const ilTooBig = Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
      const ilToInfinity = Buffer.from((n - k).toString(16).padStart(64, '0'), 'hex');
      for (const il of [ilTooBig, ilToInfinity]) {
        const I = new Uint8Array([...il, ...randomBytes(32)]);
        const ours = ckdPubSecp256k1(parent, 7, I);
        // @scure/bip32 test seam (same first-attempt override as ours); private in its .d.ts.
        const theirs = (pub as unknown as { _deriveChild(i: number, I: Uint8Array): HDKey })._deriveChild(7, I);
        expect(ours.index).to.equal(8);
        expect(theirs.index).to.equal(8);
        expect(hex(ours.publicKey)).to.equal(hex(theirs.publicKey!));
        expect(hex(ours.publicKey)).to.equal(hex(deriveSecp256k1(parent, [8]).publicKey));
      }
      // The last non-hardened index has no next one to proceed to.
      expectCode(() => ckdPubSecp256k1(parent, 0x7fffffff, new Uint8Array([...ilTooBig, ...new Uint8Array(32)])), 'KEY_DERIVATION_INVALID');
    });

    it('rejects hardened indices, bad keys and bad chain codes', () => {
      const master = HDKey.fromMasterSeed(new Uint8Array(32).fill(5));
      const parent = { publicKey: master.publicKey!, chainCode: master.chainCode! };
      expectCode(() => deriveSecp256k1(parent, [0x80000000]), 'KEY_DERIVATION_INVALID');
      expectCode(() => deriveSecp256k1(parent, [44, 0x80000000 + 60]), 'KEY_DERIVATION_INVALID');
      expectCode(() => deriveSecp256k1(parent, [-1]), 'KEY_DERIVATION_INVALID');
      expectCode(() => deriveSecp256k1({ ...parent, chainCode: new Uint8Array(31) }, [1]), 'KEY_DERIVATION_INVALID');
      expectCode(() => deriveSecp256k1({ ...parent, publicKey: secp256k1.Point.BASE.toBytes(false) }, [1]), 'KEY_DERIVATION_INVALID');
      const offCurve = new Uint8Array(33);
      offCurve[0] = 2;
      offCurve[32] = 5; // x = 5: 5³ + 7 = 132 is not a square mod p
      expectCode(() => deriveSecp256k1({ ...parent, publicKey: offCurve }, [1]), 'KEY_DERIVATION_INVALID');
    });

    it('base58check round-trips and detects a changed character', () => {
      const payload = randomBytes(78);
      payload[0] = 0;
      const text = base58CheckEncode(payload);
      expect(hex(base58CheckDecode(text))).to.equal(hex(payload));
      const broken = text.slice(0, 10) + (text[10] === 'a' ? 'b' : 'a') + text.slice(11);
      expectCode(() => base58CheckDecode(broken), 'KEY_DERIVATION_INVALID');
    });
  });

  describe('Ed25519 additive derivation (Fireblocks recovery-tool scheme)', () => {
    // github.com/fireblocks/recovery packages/wallet-derivation/tests/index.test.ts: the SOL wallet
    // at [44, 501, 0, 0, 0] derived from this fpub/fprv pair.
    const FPUB = 'fpub8sZZXw2wbqVpURAAA9cCBpv2256rejFtCayHuRAzcYN1qciBxMVmB6UgiDAQTUZh5EP9JZciPQPjKAHyqPYHELqEHWkvo1sxreEJgLyfCJj';
    const FPRV = 'fprv4LsXPWzhTTp9ax8NGVwbnRFuT3avVQ4ydHNWcu8hCGZd18TRKxgAzbrpY9bLJRe4Y2AyX9TfQdDPbmqEYoDCTju9QFZbUgdsxsmUgfvuEDK';
    const SOL_PUBLIC = 'cdff9320114119fd2add3a20b5cf852470dc08d4cefb31874304d3813a0ad51f';
    const SOL_PRIVATE = '0770b61f53acbc7e59024fb2f012f4ade45cb56e0adc191f21f4361c19521952';

    it('reproduces the Fireblocks recovery-tool vector (public from the fpub, private from the fprv)', () => {
      const fpub = decodeExtendedKey(FPUB);
      expect(fpub.publicKey[0]).to.equal(0); // the 33-byte key field is 0x00 ‖ A
      const d = deriveEd25519({ publicKey: fpub.publicKey.slice(1), chainCode: fpub.chainCode }, [44, 501, 0, 0, 0]);
      expect(hex(d.publicKey)).to.equal(SOL_PUBLIC);
      const fprv = decodeExtendedKey(FPRV);
      expect(hex(fprv.chainCode)).to.equal(hex(fpub.chainCode));
      const a = BigInt('0x' + hex(fprv.publicKey.slice(1))); // private scalar, big-endian
      expect(hex(ed25519.Point.BASE.multiply(a).toBytes())).to.equal(hex(fpub.publicKey.slice(1)));
      expect(deriveEd25519Scalar(a, d.tweak).toString(16).padStart(64, '0')).to.equal(SOL_PRIVATE);
    });

    it('child = parent + tweak·G, steps compose, and a different index or chain code gives a different key', () => {
      const a = ed25519.Point.Fn.create(BigInt('0x' + hex(randomBytes(40))));
      const parent = { publicKey: ed25519.Point.BASE.multiply(a).toBytes(), chainCode: randomBytes(32) };
      const d = deriveEd25519(parent, [44, 501, 3, 0, 9]);
      expect(hex(ed25519.Point.BASE.multiply(deriveEd25519Scalar(a, d.tweak)).toBytes())).to.equal(hex(d.publicKey));
      const half = deriveEd25519(parent, [44, 501, 3]);
      const rest = deriveEd25519({ publicKey: half.publicKey, chainCode: half.chainCode }, [0, 9]);
      expect(hex(rest.publicKey)).to.equal(hex(d.publicKey));
      expect(hex(deriveEd25519(parent, [44, 501, 3, 0, 10]).publicKey)).to.not.equal(hex(d.publicKey));
      expect(hex(deriveEd25519({ ...parent, chainCode: randomBytes(32) }, [44, 501, 3, 0, 9]).publicKey)).to.not.equal(hex(d.publicKey));
    });

    it('rejects hardened indices and invalid parent keys', () => {
      const parent = { publicKey: ed25519.Point.BASE.toBytes(), chainCode: new Uint8Array(32) };
      expectCode(() => deriveEd25519(parent, [0x80000000]), 'KEY_DERIVATION_INVALID');
      const identity = new Uint8Array(32);
      identity[0] = 1;
      expectCode(() => deriveEd25519({ ...parent, publicKey: identity }, [1]), 'KEY_DERIVATION_INVALID');
      const torsion = new Uint8Array(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex'));
      expectCode(() => deriveEd25519({ ...parent, publicKey: torsion }, [1]), 'KEY_DERIVATION_INVALID');
    });
  });
});
