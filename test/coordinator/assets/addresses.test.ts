// Deposit addresses and public keys: each equals what a standard wallet library derives
// independently from the exported master key (@scure/bip32 + viem for Ethereum, @scure/btc-signer
// for Taproot), published vectors (BIP86; Fireblocks' open-source recovery tool for ETH and SOL),
// and — for the FROST keys — a real DKG whose derived key shares sign for exactly that address.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { base58 } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { Address, NETWORK, p2tr, TEST_NETWORK } from '@scure/btc-signer';
import { getAddress } from 'viem';
import { publicKeyToAddress } from 'viem/accounts';
import { isCosignerError, type ErrorCode } from '../../../shared/errors.js';
import { decodeExtendedKey } from '../../../shared/mpc/derivation/index.js';
import { deriveFrostKeyShare, FrostDkgParty, FrostSignParty, taprootFrostKeyShare, type FrostKeyShare, type FrostScheme } from '../../../shared/mpc/frost/index.js';
import { runTwoParties } from '../../support/run-parties.js';
import { Value } from '@sinclair/typebox/value';
import {
  AssetCatalogue, bip44Path, deriveAddress, deriveChildKey, evmAddressFromPublicKey, masterXpub, parseAlgorithm, parseDerivationPathParam,
  publicKeyInfo as info_, PublicKeyInfoSchema, solanaAddressFromPublicKey, taprootAddressFromInternalKey, type MasterPublicKeys,
} from '../../../coordinator/assets/index.js';

/** publicKeyInfo, checked against the response schema a route would serialise it with. */
const publicKeyInfo: typeof info_ = (...args) => {
  const info = info_(...args);
  expect(Value.Check(PublicKeyInfoSchema, info), JSON.stringify(info)).to.equal(true);
  return info;
};

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const catalogue = new AssetCatalogue({ evmChainId: 31337, testToken: { contractAddress: '0x5fbdb2315678afecb367f032d93f642f64180aa3' } });

function expectCode(fn: () => unknown, code: ErrorCode): void {
  expect(fn).to.throw().that.satisfies((e: unknown) => isCosignerError(e, code));
}

function randomSecpMaster() {
  const m = HDKey.fromMasterSeed(randomBytes(32));
  return { publicKey: m.publicKey!, chainCode: m.chainCode! };
}
function randomEdMaster() {
  const a = ed25519.Point.Fn.create(BigInt('0x' + hex(randomBytes(40))));
  return { publicKey: ed25519.Point.BASE.multiply(a).toBytes(), chainCode: randomBytes(32) };
}

function dkg(scheme: FrostScheme): [FrostKeyShare, FrostKeyShare] {
  const sessionId = randomBytes(32);
  const a = new FrostDkgParty({ scheme, sessionId, self: 1, parties: [1, 2], threshold: 2 });
  const b = new FrostDkgParty({ scheme, sessionId, self: 2, parties: [1, 2], threshold: 2 });
  runTwoParties(a, b);
  return [a.result(), b.result()];
}
function frostSign(shares: [FrostKeyShare, FrostKeyShare], message: Uint8Array): Uint8Array {
  const sessionId = randomBytes(32);
  const [a, b] = shares.map((keyShare) => new FrostSignParty({ keyShare, sessionId, signers: [1, 2], message }));
  runTwoParties(a!, b!);
  return a!.result().signature;
}

// Locations of vault wallets exercised everywhere: [account, change, index].
const AT: [number, number, number][] = [[0, 0, 0], [1, 0, 0], [7, 0, 3], [42, 1, 5], [2147483647, 0, 2147483647]];

describe('addresses and public keys', function () {
  this.timeout(60_000);

  it('bip44Path: [44, coin, account, change, index], non-hardened only', () => {
    expect(bip44Path(1, 3, 0, 9)).to.deep.equal([44, 1, 3, 0, 9]);
    expectCode(() => bip44Path(1, 0x80000000, 0, 0), 'KEY_DERIVATION_INVALID');
    expectCode(() => bip44Path(1, -1, 0, 0), 'KEY_DERIVATION_INVALID');
    expectCode(() => bip44Path(1, 0, 0, 1.5), 'KEY_DERIVATION_INVALID');
  });

  describe('Ethereum (ETH_TEST5, TTK_TEST): EIP-55 of the BIP32 child', () => {
    it('Fireblocks recovery-tool vector: xpub at [44, 60, 0, 0, 0]', () => {
      // github.com/fireblocks/recovery packages/wallet-derivation/tests/index.test.ts ("ETH wallet using xpub").
      const xpub = decodeExtendedKey('xpub661MyMwAqRbcFUTqYcrDh3pBvXu1uQeJZR9rizkNCiWZnddTAgnz7UMejwX7u4xLmh2JMTtL7DdZmBWGUKa7v836UarassQ3DVFATMzRycV');
      const child = deriveChildKey({ MPC_ECDSA_SECP256K1: xpub }, 'MPC_ECDSA_SECP256K1', [44, 60, 0, 0, 0]);
      expect(hex(child.publicKey)).to.equal('02b5586fb410aafd76305705149069f7282de8b7a535ab96a252a41208edf78737');
      expect(evmAddressFromPublicKey(child.publicKey)).to.equal('0x9f3A41DF8191Cf4605623dD637326CBc63D1d92f');
    });

    it('equals @scure/bip32 HDKey from the exported xpub + viem publicKeyToAddress, for several keys and wallets', () => {
      for (let k = 0; k < 3; k++) {
        const master = randomSecpMaster();
        const keys: MasterPublicKeys = { MPC_ECDSA_SECP256K1: master };
        const xpub = masterXpub(master);
        for (const [account, change, index] of AT) {
          const path = `m/44/1/${account}/${change}/${index}`;
          const theirs = HDKey.fromExtendedKey(xpub).derive(path);
          const uncompressed = secp256k1.Point.fromBytes(theirs.publicKey!).toBytes(false);
          const expected = getAddress(publicKeyToAddress(`0x${hex(uncompressed)}`));
          const eth = deriveAddress(catalogue.get('ETH_TEST5'), keys, { account, change, index });
          expect(eth.address, path).to.equal(expected);
          expect(eth.derivationPath).to.deep.equal([44, 1, account, change, index]);
          expect(hex(eth.publicKey)).to.equal(hex(theirs.publicKey!));
          // The token lives at the same address as the chain's native asset.
          expect(deriveAddress(catalogue.get('TTK_TEST'), keys, { account, change, index }).address).to.equal(expected);
        }
        expect(HDKey.fromExtendedKey(masterXpub(master, 'testnet'), { private: 0x04358394, public: 0x043587cf }).publicKey).to.deep.equal(master.publicKey);
      }
    });

    it('change and index default to 0', () => {
      const keys = { MPC_ECDSA_SECP256K1: randomSecpMaster() };
      expect(deriveAddress(catalogue.get('ETH_TEST5'), keys, { account: 5 }).address).to.equal(deriveAddress(catalogue.get('ETH_TEST5'), keys, { account: 5, change: 0, index: 0 }).address);
    });
  });

  describe('Solana (SOL_TEST): base58 of the additively derived Ed25519 key', () => {
    it('Fireblocks recovery-tool vector: fpub at [44, 501, 0, 0, 0]', () => {
      const fpub = decodeExtendedKey('fpub8sZZXw2wbqVpURAAA9cCBpv2256rejFtCayHuRAzcYN1qciBxMVmB6UgiDAQTUZh5EP9JZciPQPjKAHyqPYHELqEHWkvo1sxreEJgLyfCJj');
      const keys = { MPC_EDDSA_ED25519: { publicKey: fpub.publicKey.slice(1), chainCode: fpub.chainCode } };
      const child = deriveChildKey(keys, 'MPC_EDDSA_ED25519', [44, 501, 0, 0, 0]);
      expect(hex(child.publicKey)).to.equal('cdff9320114119fd2add3a20b5cf852470dc08d4cefb31874304d3813a0ad51f');
      expect(solanaAddressFromPublicKey(child.publicKey)).to.equal('Es8cMivoZYEsCfKBYvZEkgeyYN3saNpzfkoagUBCLy5p');
    });

    it('a real FROST Ed25519 DKG: the derived key shares sign under the key the address encodes', () => {
      const shares = dkg('ed25519');
      const keys = { MPC_EDDSA_ED25519: { publicKey: shares[0].groupPublicKey, chainCode: shares[0].chainCode } };
      for (const [account, change, index] of AT.slice(0, 3)) {
        const sol = deriveAddress(catalogue.get('SOL_TEST'), keys, { account, change, index });
        const key = base58.decode(sol.address);
        expect(key.length).to.equal(32);
        expect(hex(key)).to.equal(hex(sol.publicKey));
        const path = [44, 1, account, change, index];
        const child = shares.map((s) => deriveFrostKeyShare(s, path).keyShare) as [FrostKeyShare, FrostKeyShare];
        const msg = randomBytes(48);
        expect(ed25519.verify(frostSign(child, msg), msg, key)).to.equal(true);
      }
    });

    it('different wallets give different addresses', () => {
      const keys = { MPC_EDDSA_ED25519: randomEdMaster() };
      const seen = new Set(AT.map(([account, change, index]) => deriveAddress(catalogue.get('SOL_TEST'), keys, { account, change, index }).address));
      expect(seen.size).to.equal(AT.length);
    });
  });

  describe('Taproot (BTC_TEST): BIP86 key-path output, bech32m', () => {
    it('BIP86 published vectors (mainnet): account xpub m/86\'/0\'/0\' → receive 0, receive 1, change 0', () => {
      // bitcoin/bips bip-0086.mediawiki test vectors (mnemonic "abandon … about").
      const root = HDKey.fromExtendedKey('xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu');
      const account = root.derive("m/86'/0'/0'"); // hardened part: a wallet's job, with the private key
      const keys = { MPC_BIP340_SECP256K1: { publicKey: account.publicKey!, chainCode: account.chainCode! } };
      const vectors = [
        { path: [0, 0], internal: 'cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115', output: 'a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c', address: 'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr' },
        { path: [0, 1], internal: '83dfe85a3151d2517290da461fe2815591ef69f2b18a2ce63f01697a8b313145', output: 'a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb', address: 'bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh' },
        { path: [1, 0], internal: '399f1b2f4393f29a18c937859c5dd8a77350103157eb880f02e8c08214277cef', output: '882d74e5d0572d5a816cef0041a96b6c1de832f6f9676d9605c44d5e9a97d3dc', address: 'bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7' },
      ];
      for (const v of vectors) {
        const child = deriveChildKey(keys, 'MPC_BIP340_SECP256K1', v.path);
        expect(hex(child.publicKey.slice(1))).to.equal(v.internal);
        const t = taprootAddressFromInternalKey(child.publicKey, 'mainnet');
        expect(hex(t.outputKey)).to.equal(v.output);
        expect(t.address).to.equal(v.address);
      }
    });

    it('equals @scure/btc-signer p2tr of the HDKey child from the exported xpub (testnet tb1p…)', () => {
      for (let k = 0; k < 3; k++) {
        const master = randomSecpMaster();
        const keys = { MPC_BIP340_SECP256K1: master };
        for (const [account, change, index] of AT) {
          const theirs = HDKey.fromExtendedKey(masterXpub(master)).derive(`m/44/1/${account}/${change}/${index}`);
          const expected = p2tr(theirs.publicKey!.slice(1), undefined, TEST_NETWORK);
          const btc = deriveAddress(catalogue.get('BTC_TEST'), keys, { account, change, index });
          expect(btc.address).to.match(/^tb1p[02-9ac-hj-np-z]{58}$/);
          expect(btc.address).to.equal(expected.address);
          expect(hex(btc.taprootOutputKey!)).to.equal(hex(expected.tweakedPubkey));
          expect(hex(btc.publicKey)).to.equal(hex(theirs.publicKey!));
        }
      }
      const someKey = randomSecpMaster().publicKey;
      expect(taprootAddressFromInternalKey(someKey, 'mainnet').address).to.equal(p2tr(someKey.slice(1), undefined, NETWORK).address);
      expect(taprootAddressFromInternalKey(someKey, 'regtest').address).to.match(/^bcrt1p/);
    });

    it('a real FROST BIP340 DKG: the derived, Taproot-tweaked key shares sign for the address (odd and even Y)', () => {
      const shares = dkg('bip340');
      const keys = { MPC_BIP340_SECP256K1: { publicKey: shares[0].groupPublicKey, chainCode: shares[0].chainCode } };
      // Pick one child with an even-Y and one with an odd-Y internal key (cheap: no signing), so
      // both parity paths of the Taproot tweak are signed for. P(no odd one in 64) = 2^-64.
      const byParity = new Map<number, number>();
      for (let index = 0; index < 64 && byParity.size < 2; index++) {
        const parity = deriveAddress(catalogue.get('BTC_TEST'), keys, { account: 3, index }).publicKey[0]!;
        if (!byParity.has(parity)) byParity.set(parity, index);
      }
      expect([...byParity.keys()].sort()).to.deep.equal([2, 3]);
      for (const index of byParity.values()) {
        const btc = deriveAddress(catalogue.get('BTC_TEST'), keys, { account: 3, index });
        const decoded = Address(TEST_NETWORK).decode(btc.address);
        expect(decoded.type).to.equal('tr');
        const outputKey = (decoded as { pubkey: Uint8Array }).pubkey;
        const child = shares.map((s) => taprootFrostKeyShare(deriveFrostKeyShare(s, [44, 1, 3, 0, index]).keyShare)) as [FrostKeyShare, FrostKeyShare];
        const sighash = randomBytes(32);
        expect(schnorr.verify(frostSign(child, sighash), sighash, outputKey), `index ${index}`).to.equal(true);
        // A signature by the untweaked child key must not verify for the address.
        const untweaked = shares.map((s) => deriveFrostKeyShare(s, [44, 1, 3, 0, index]).keyShare) as [FrostKeyShare, FrostKeyShare];
        expect(schnorr.verify(frostSign(untweaked, sighash), sighash, outputKey)).to.equal(false);
      }
    });
  });

  describe('public_key_info', () => {
    const ecdsa = randomSecpMaster();
    const eddsa = randomEdMaster();
    const bip340 = randomSecpMaster();
    const keys: MasterPublicKeys = { MPC_ECDSA_SECP256K1: ecdsa, MPC_EDDSA_ED25519: eddsa, MPC_BIP340_SECP256K1: bip340 };

    it('ECDSA: compressed (33 bytes) or uncompressed (65 bytes) hex of the HDKey child', () => {
      const theirs = HDKey.fromExtendedKey(masterXpub(ecdsa)).derive('m/44/1/2/0/0');
      expect(publicKeyInfo(keys, 'MPC_ECDSA_SECP256K1', [44, 1, 2, 0, 0], { compressed: true })).to.deep.equal({
        status: 0, algorithm: 'MPC_ECDSA_SECP256K1', derivationPath: [44, 1, 2, 0, 0], publicKey: hex(theirs.publicKey!),
      });
      const u = publicKeyInfo(keys, 'MPC_ECDSA_SECP256K1', [44, 1, 2, 0, 0], { compressed: false });
      expect(u.publicKey).to.equal(hex(secp256k1.Point.fromBytes(theirs.publicKey!).toBytes(false)));
      expect(u.publicKey).to.have.length(130).and.match(/^04/);
    });

    it('EdDSA: the 32-byte key, whatever `compressed` says; BIP340: the internal key plus the Taproot output key', () => {
      const ed = publicKeyInfo(keys, 'MPC_EDDSA_ED25519', [44, 1, 0, 0, 0], { compressed: false });
      expect(ed.publicKey).to.equal(hex(deriveAddress(catalogue.get('SOL_TEST'), keys, { account: 0 }).publicKey));
      expect(ed.publicKey).to.have.length(64);
      expect(publicKeyInfo(keys, 'MPC_EDDSA_ED25519', [44, 1, 0, 0, 0], { compressed: true })).to.deep.equal(ed);
      const b = publicKeyInfo(keys, 'MPC_BIP340_SECP256K1', [44, 1, 4, 0, 1], { compressed: true });
      const btc = deriveAddress(catalogue.get('BTC_TEST'), keys, { account: 4, index: 1 });
      expect(b).to.deep.equal({ status: 0, algorithm: 'MPC_BIP340_SECP256K1', derivationPath: [44, 1, 4, 0, 1], publicKey: hex(btc.publicKey), taprootOutputKey: hex(btc.taprootOutputKey!) });
    });

    it('a key the workspace does not have yet is MPC_STATE; bad algorithms and paths are KEY_DERIVATION_INVALID', () => {
      expectCode(() => publicKeyInfo({ MPC_ECDSA_SECP256K1: ecdsa }, 'MPC_EDDSA_ED25519', [44, 1, 0, 0, 0], { compressed: true }), 'MPC_STATE');
      expectCode(() => deriveAddress(catalogue.get('BTC_TEST'), {}, { account: 0 }), 'MPC_STATE');
      expectCode(() => publicKeyInfo(keys, 'MPC_ECDSA_SECP256R1' as 'MPC_ECDSA_SECP256K1', [44, 1, 0, 0, 0], { compressed: true }), 'KEY_DERIVATION_INVALID');
      expectCode(() => publicKeyInfo(keys, 'MPC_ECDSA_SECP256K1', [44, 0x80000001, 0, 0, 0], { compressed: true }), 'KEY_DERIVATION_INVALID');
      for (const a of ['MPC_ECDSA_SECP256K1', 'MPC_EDDSA_ED25519', 'MPC_BIP340_SECP256K1']) expect(parseAlgorithm(a)).to.equal(a);
      for (const a of ['mpc_ecdsa_secp256k1', 'MPC_ECDSA_SECP256R1', '', undefined, 1]) expectCode(() => parseAlgorithm(a), 'KEY_DERIVATION_INVALID');
    });

    it('derivationPath query parameter: either SDK\'s JSON form, nothing else', () => {
      expect(parseDerivationPathParam('[44,1,0,0,0]')).to.deep.equal([44, 1, 0, 0, 0]);
      expect(parseDerivationPathParam('[44, 1, 7, 0, 3]')).to.deep.equal([44, 1, 7, 0, 3]);
      for (const bad of ['', '44/1/0/0/0', 'm/44/1/0', '[]', '[44,1,"0",0,0]', '[44,1,-1,0,0]', '[44,1,2147483648,0,0]', '[44,1.5]', '{"0":44}', 'null', '[' + '1,'.repeat(300) + '1]', '[44,1,0,0,0', undefined]) {
        expectCode(() => parseDerivationPathParam(bad), 'KEY_DERIVATION_INVALID');
      }
    });
  });
});
