// Destination address parsing per chain, cross-checked with viem (EVM) and @scure/btc-signer
// (segwit), and with published BIP173/BIP350 addresses.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { schnorr } from '@noble/curves/secp256k1.js';
import { base58, bech32, bech32m } from '@scure/base';
import { Address, TEST_NETWORK } from '@scure/btc-signer';
import { getAddress, isAddress } from 'viem';
import { isCosignerError } from '../../../shared/errors.js';
import { AssetCatalogue, normaliseAddress } from '../../../coordinator/assets/index.js';

const catalogue = new AssetCatalogue({ evmChainId: 31337 });
const ETH = catalogue.get('ETH_TEST5');
const SOL = catalogue.get('SOL_TEST');
const BTC = catalogue.get('BTC_TEST');

function refused(asset: typeof ETH, text: unknown): boolean {
  try { normaliseAddress(asset, text); } catch (e) {
    if (isCosignerError(e, 'ADDRESS_INVALID')) return true;
    throw e;
  }
  return false;
}

describe('destination address parsing', () => {
  it('EVM: any-case hex is returned EIP-55 (as viem getAddress); a mixed-case typo is refused (as viem isAddress)', () => {
    for (let i = 0; i < 50; i++) {
      const lower = '0x' + randomBytes(20).toString('hex');
      const checksummed = getAddress(lower);
      expect(normaliseAddress(ETH, lower)).to.equal(checksummed);
      expect(normaliseAddress(ETH, '0x' + lower.slice(2).toUpperCase())).to.equal(checksummed);
      expect(normaliseAddress(ETH, checksummed)).to.equal(checksummed);
      // Flip the case of one letter of a checksummed address: viem and we both refuse it.
      const at = [...checksummed].findIndex((c, j) => j > 1 && /[a-fA-F]/.test(c));
      if (at < 0) continue;
      const c = checksummed[at]!;
      const typo = checksummed.slice(0, at) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + checksummed.slice(at + 1);
      const stillMixed = typo.slice(2) !== typo.slice(2).toLowerCase() && typo.slice(2) !== typo.slice(2).toUpperCase();
      expect(refused(ETH, typo)).to.equal(stillMixed);
      // viem (strict) also refuses an all-uppercase address, which we accept as unchecksummed: compare mixed case only.
      if (stillMixed) expect(isAddress(typo)).to.equal(false);
    }
    expect(() => normaliseAddress(ETH, '0x' + '0'.repeat(40))).to.throw(/the zero address/);
    for (const bad of ['', '0x', '0x123', 'de0b295669a9fd93d5f28d9ec85e40f4cb697bae', '0X' + 'a'.repeat(40), '0x' + 'g'.repeat(40), '0x' + 'a'.repeat(41), ' 0x' + 'a'.repeat(40), null, 42]) {
      expect(refused(ETH, bad), String(bad)).to.equal(true);
    }
  });

  it('Solana: base58 of exactly 32 bytes, returned unchanged', () => {
    for (let i = 0; i < 20; i++) {
      const a = base58.encode(randomBytes(32));
      expect(normaliseAddress(SOL, a)).to.equal(a);
    }
    expect(normaliseAddress(SOL, '11111111111111111111111111111111')).to.equal('11111111111111111111111111111111'); // the system program
    expect(normaliseAddress(SOL, 'Es8cMivoZYEsCfKBYvZEkgeyYN3saNpzfkoagUBCLy5p')).to.equal('Es8cMivoZYEsCfKBYvZEkgeyYN3saNpzfkoagUBCLy5p');
    for (const bad of [base58.encode(randomBytes(31)), base58.encode(randomBytes(33)), 'Es8cMivoZYEsCfKBYvZEkgeyYN3saNpzfkoagUBCLy5O', '0' + 'Es8cMivoZYEsCfKBYvZEkgeyYN3saNpzfkoagUBCLy5', '0x' + 'a'.repeat(40), '']) {
      expect(refused(SOL, bad), bad).to.equal(true);
    }
  });

  it('Bitcoin testnet: BIP173/BIP350 segwit v0 and v1 addresses, as @scure/btc-signer reads them', () => {
    const valid = [
      'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', // BIP173 / BIP350: v0, 32-byte program
      'tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy', // BIP350: v0
      'tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c', // BIP350: v1
    ];
    for (const a of valid) {
      expect(normaliseAddress(BTC, a)).to.equal(a);
      expect(() => Address(TEST_NETWORK).decode(a)).to.not.throw();
      expect(normaliseAddress(BTC, a.toUpperCase())).to.equal(a);
    }
    const program = schnorr.getPublicKey(randomBytes(32)); // a valid x-only key
    const p2tr = bech32m.encode('tb', [1, ...bech32m.toWords(program)]);
    expect(normaliseAddress(BTC, p2tr)).to.equal(p2tr);
    const p2wpkh = bech32.encode('tb', [0, ...bech32.toWords(program.subarray(0, 20))]);
    expect(normaliseAddress(BTC, p2wpkh)).to.equal(p2wpkh);

    const wrong = [
      bech32.encode('tb', [1, ...bech32.toWords(program)]), // v1 with the bech32 (v0) checksum
      bech32m.encode('tb', [0, ...bech32m.toWords(program)]), // v0 with the bech32m checksum
      bech32.encode('tb', [0, ...bech32.toWords(program.subarray(0, 25))]), // v0 program of 25 bytes
      bech32m.encode('tb', [1, ...bech32m.toWords(program.subarray(0, 1))]), // 1-byte program
      bech32m.encode('bc', [1, ...bech32m.toWords(program)]), // mainnet
      bech32m.encode('tb', [17, ...bech32m.toWords(program)]), // no witness version 17
      'tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0d', // bad checksum
      'tb1Pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c', // mixed case
    ];
    for (const a of wrong) {
      expect(refused(BTC, a), a).to.equal(true);
      expect(() => Address(TEST_NETWORK).decode(a), a).to.throw();
    }
    // Valid encodings, but not accepted here: outputs anyone could spend (witness v2+, a v1
    // program that is not 32 bytes), a Taproot key nobody can spend for, another prefix.
    const notOnCurve = new Uint8Array(32);
    notOnCurve[31] = 5; // x = 5: 5³ + 7 is not a square mod p
    const unspendable: [string, RegExp][] = [
      [bech32m.encode('tb', [2, ...bech32m.toWords(program)]), /witness version 2 is not supported/],
      [bech32m.encode('tb', [16, ...bech32m.toWords(program.subarray(0, 2))]), /witness version 16 is not supported/],
      [bech32m.encode('tb', [1, ...bech32m.toWords(program.subarray(0, 20))]), /v1 \(Taproot\) witness program is 32 bytes/],
      [bech32m.encode('tb', [1, ...bech32m.toWords(notOnCurve)]), /not a valid x coordinate/],
      [bech32m.encode('tb1p', [1, ...bech32m.toWords(program)]), /expected the prefix "tb"/], // the separator is the last "1"
    ];
    for (const [a, why] of unspendable) expect(() => normaliseAddress(BTC, a), a).to.throw(why);
    // Valid bitcoin, but not accepted here: legacy base58 addresses (only segwit is supported).
    const legacy = 'mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn';
    expect(Address(TEST_NETWORK).decode(legacy).type).to.equal('pkh');
    expect(refused(BTC, legacy)).to.equal(true);
    expect(refused(BTC, '')).to.equal(true);
  });

  it('the error names the asset and never echoes more than it must', () => {
    let err: unknown;
    try { normaliseAddress(ETH, 'x'.repeat(10_000)); } catch (e) { err = e; }
    expect(isCosignerError(err, 'ADDRESS_INVALID')).to.equal(true);
    expect((err as Error).message).to.match(/^not a ETH_TEST5 address: /);
    expect((err as Error).message.length).to.be.below(200);
  });
});
