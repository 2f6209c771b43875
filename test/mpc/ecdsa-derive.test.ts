// BIP32 for two-party ECDSA keys (shared/mpc/ecdsa/derive.ts): the xpub exported from the joint key
// and chain code, checked against @scure/bip32 as an independent BIP32 implementation, signing under
// derived keys (verified by @noble/curves, node:crypto and viem), and offline recovery of a child
// private key as x1 + x2 + tweak. One key generation for the whole file (1024-bit ring-Pedersen to
// stay fast; the Paillier key is the production 2048 bits). Messages cross a real CBOR round trip.
import { expect } from 'chai';
import { createHash, createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { HDKey } from '@scure/bip32';
import { publicKeyToAddress } from 'viem/accounts';
import { keccak256, recoverTransactionAddress, serializeTransaction, toHex, type TransactionSerializableEIP1559 } from 'viem';
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import type { ErrorCode } from '../../shared/errors.js';
import type { MpcMessage, Party } from '../../shared/mpc/party.js';
import { TPUB_VERSION } from '../../shared/mpc/derivation/xpub.js';
import { EcdsaKeyShareP1, EcdsaKeyShareP2 } from '../../shared/mpc/ecdsa/key-share.js';
import { EcdsaSignP1, EcdsaSignP2 } from '../../shared/mpc/ecdsa/sign.js';
import { deriveEcdsaChild, ecdsaXpub } from '../../shared/mpc/ecdsa/derive.js';
import { CURVE_ORDER, scalarToBytes } from '../../shared/mpc/ecdsa/curve.js';
import { MemoryKeyLockStore } from '../../shared/mpc/ecdsa/key-lock-store.js';
import { expectCosignerError } from '../support/expect-error.js';
import { runTwoParties } from '../support/run-parties.js';
import { ecdsaTestKeys } from '../support/ecdsa-keys.js';

const sid = () => new Uint8Array(randomBytes(32));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const PATHS = ['m/44/60/0/0/0', 'm/44/60/0/0/7', 'm/0/1/2/3', 'm/2147483647'];

function expectCode(f: () => unknown, code: ErrorCode): Error {
  return expectCosignerError(f, code);
}

const run = runTwoParties;

function nodeKey(Q: Uint8Array) {
  const u = secp256k1.Point.fromBytes(Q).toBytes(false);
  return createPublicKey({
    key: { kty: 'EC', crv: 'secp256k1', x: Buffer.from(u.subarray(1, 33)).toString('base64url'), y: Buffer.from(u.subarray(33)).toString('base64url') },
    format: 'jwk',
  });
}

describe('mpc/ecdsa — BIP32 xpub and derived keys', function () {
  this.timeout(120_000);
  let share1: EcdsaKeyShareP1;
  let share2: EcdsaKeyShareP2;

  before(() => {
    ({ share1, share2 } = ecdsaTestKeys());
  });

  /** Each party derives on its own share; both must get the same child; P1's is returned. */
  function derive(path: string) {
    const d1 = deriveEcdsaChild(share1, path);
    const d2 = deriveEcdsaChild(share2, path);
    expect(hex(d2.publicKey)).to.equal(hex(d1.publicKey));
    expect(d2.tweak).to.equal(d1.tweak);
    return d1;
  }

  /** A full two-party signing session for the child at `path`; each party derives its tweak itself. */
  function signDerived(path: string, messageHash: Uint8Array) {
    const sessionId = sid();
    const p1 = new EcdsaSignP1(EcdsaKeyShareP1.decode(share1.encode()), { lockStore: new MemoryKeyLockStore(), sessionId, messageHash, tweak: deriveEcdsaChild(share1, path).tweak });
    const p2 = new EcdsaSignP2(share2, { sessionId, messageHash, tweak: deriveEcdsaChild(share2, path).tweak });
    run(p1, p2);
    expect(hex(p2.result().toCompact())).to.equal(hex(p1.result().toCompact()));
    return { sig: p1.result(), p1, p2 };
  }

  it('both parties export the same master xpub: depth 0, the joint key and the joint chain code', () => {
    const xpub = ecdsaXpub(share1);
    expect(xpub.startsWith('xpub')).to.equal(true);
    expect(ecdsaXpub(share2)).to.equal(xpub);
    const hd = HDKey.fromExtendedKey(xpub);
    expect(hd.depth).to.equal(0);
    expect(hd.privateKey).to.equal(null);
    expect(hex(hd.publicKey!)).to.equal(hex(share1.publicKey));
    expect(hex(hd.chainCode!)).to.equal(hex(share1.chainCode));
    // And scure serialises the same fields to the same string.
    expect(new HDKey({ publicKey: share2.publicKey, chainCode: share2.chainCode }).publicExtendedKey).to.equal(xpub);
  });

  it('child public keys equal those @scure/bip32 derives from the exported xpub', () => {
    const hd = HDKey.fromExtendedKey(ecdsaXpub(share2));
    const seen = new Set<string>();
    for (const path of PATHS) {
      const ours = derive(path);
      const theirs = hd.derive(path);
      expect(hex(ours.publicKey), path).to.equal(hex(theirs.publicKey!));
      expect(hex(ours.chainCode), path).to.equal(hex(theirs.chainCode!));
      expect(hex(ours.publicKey)).to.not.equal(hex(share1.publicKey));
      // child = parent + tweak·G, the relation signing relies on.
      expect(hex(secp256k1.Point.fromBytes(share1.publicKey).add(secp256k1.Point.BASE.multiply(ours.tweak)).toBytes(true))).to.equal(hex(ours.publicKey));
      // The xpub of the child itself (depth, parent fingerprint, child number) matches scure's.
      expect(ecdsaXpub(share1, { path })).to.equal(theirs.publicExtendedKey);
      seen.add(hex(ours.publicKey));
    }
    expect(seen.size).to.equal(PATHS.length);
    // The array form is the same derivation.
    expect(hex(deriveEcdsaChild(share1, [44, 60, 0, 0, 7]).publicKey)).to.equal(hex(hd.derive('m/44/60/0/0/7').publicKey!));
    expect(deriveEcdsaChild(share1, 'm').tweak).to.equal(0n);
  });

  it('an account xpub (m/44/60/0) derives the same addresses as the master below it, also as tpub', () => {
    const account = ecdsaXpub(share1, { path: 'm/44/60/0' });
    const hd = HDKey.fromExtendedKey(account);
    expect(hd.depth).to.equal(3);
    expect(hd.index).to.equal(0);
    expect(hex(hd.derive('m/0/7').publicKey!)).to.equal(hex(derive('m/44/60/0/0/7').publicKey));
    const tpub = ecdsaXpub(share1, { path: 'm/44/60/0', version: TPUB_VERSION });
    expect(tpub.startsWith('tpub')).to.equal(true);
    const testnet = HDKey.fromExtendedKey(tpub, { private: 0x04358394, public: TPUB_VERSION });
    expect(hex(testnet.publicKey!)).to.equal(hex(hd.publicKey!));
  });

  it('a two-party signature with the child tweak verifies under scure\'s child key (noble and node:crypto)', () => {
    const hd = HDKey.fromExtendedKey(ecdsaXpub(share1));
    for (const path of ['m/44/60/0/0/0', 'm/2147483647']) {
      const child = hd.derive(path).publicKey!;
      const msg = new TextEncoder().encode(`withdraw ${path} ${randomBytes(4).toString('hex')}`);
      const hash = new Uint8Array(createHash('sha256').update(msg).digest());
      const { sig, p1, p2 } = signDerived(path, hash);
      expect(hex(p1.publicKey)).to.equal(hex(child));
      expect(hex(p2.publicKey)).to.equal(hex(child));
      expect(secp256k1.verify(sig.toCompact(), hash, child, { prehash: false, lowS: true })).to.equal(true);
      expect(secp256k1.verify(sig.toCompact(), hash, share1.publicKey, { prehash: false })).to.equal(false);
      expect(nodeVerify('sha256', msg, nodeKey(child), sig.toDer())).to.equal(true);
      expect(nodeVerify('sha256', msg, nodeKey(hd.derive('m/44/60/0/0/1').publicKey!), sig.toDer())).to.equal(false);
    }
  });

  it('an Ethereum transaction signed under m/44/60/0/0/7 recovers to the address of scure\'s child key (viem)', async () => {
    const path = 'm/44/60/0/0/7';
    const tx: TransactionSerializableEIP1559 = {
      type: 'eip1559', chainId: 11155111, nonce: 3, to: '0x2222222222222222222222222222222222222222',
      value: 12345n, gas: 21000n, maxFeePerGas: 20n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n,
    };
    const hash = keccak256(serializeTransaction(tx), 'bytes');
    const { sig } = signDerived(path, hash);
    const signed = serializeTransaction(tx, { r: toHex(sig.r, { size: 32 }), s: toHex(sig.s, { size: 32 }), yParity: sig.recoveryId & 1 });
    const from = await recoverTransactionAddress({ serializedTransaction: signed as `0x02${string}` });
    const child = HDKey.fromExtendedKey(ecdsaXpub(share1)).derive(path).publicKey!;
    expect(from).to.equal(publicKeyToAddress(toHex(secp256k1.Point.fromBytes(child).toBytes(false))));
    expect(from).to.not.equal(publicKeyToAddress(toHex(secp256k1.Point.fromBytes(share1.publicKey).toBytes(false))));
  });

  it('offline recovery: x1 + x2 + tweak is the child private key a BIP32 wallet derives from x and the chain code', () => {
    const x = (share1.x1 + share2.x2) % CURVE_ORDER;
    const master = new HDKey({ privateKey: scalarToBytes(x), chainCode: share1.chainCode });
    expect(master.publicExtendedKey).to.equal(ecdsaXpub(share1));
    for (const path of PATHS) {
      const d = derive(path);
      const childPriv = (share1.x1 + share2.x2 + d.tweak) % CURVE_ORDER;
      expect(hex(master.derive(path).privateKey!), path).to.equal(hex(scalarToBytes(childPriv)));
    }
  });

  it('refuses hardened and malformed paths with KEY_DERIVATION_INVALID', () => {
    for (const path of ["m/44'/60'/0'", 'm/44h/0', '44/60', 'm/-1', 'm/2147483648']) {
      expectCode(() => deriveEcdsaChild(share1, path), 'KEY_DERIVATION_INVALID');
      expectCode(() => ecdsaXpub(share2, { path }), 'KEY_DERIVATION_INVALID');
    }
    expectCode(() => deriveEcdsaChild(share1, [0x80000000]), 'KEY_DERIVATION_INVALID');
    expectCode(() => deriveEcdsaChild(share1, [1.5]), 'KEY_DERIVATION_INVALID');
  });

  it('a sealed and unsealed share keeps its chain code, hence its xpub and derived keys', () => {
    const d1 = EcdsaKeyShareP1.decode(share1.encode());
    const d2 = EcdsaKeyShareP2.decode(share2.encode());
    expect(ecdsaXpub(d1)).to.equal(ecdsaXpub(share1));
    expect(ecdsaXpub(d2)).to.equal(ecdsaXpub(share1));
    expect(hex(deriveEcdsaChild(d2, 'm/0/1/2/3').publicKey)).to.equal(hex(deriveEcdsaChild(share1, 'm/0/1/2/3').publicKey));
    // A blob whose chain code was altered still decodes (it is not checkable against anything)
    // but exports a different xpub: the chain code is part of what is sealed and authenticated.
    const w = decodeCbor(share2.encode()) as Record<string, unknown>;
    const chainCode = new Uint8Array(w.chainCode as Uint8Array);
    chainCode[0]! ^= 1;
    expect(ecdsaXpub(EcdsaKeyShareP2.decode(encodeCbor({ ...w, chainCode })))).to.not.equal(ecdsaXpub(share2));
  });
});
