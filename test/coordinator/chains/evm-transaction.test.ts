// EIP-1559 transactions without a node: one encoding per transaction, signatures checked before
// they are attached.
import { expect } from 'chai';
import { encodeFunctionData, keccak256, parseTransaction, serializeTransaction, toRlp } from 'viem';
import type { Address, EvmAssetConfig } from '../../../coordinator/chains/chain-adapter.js';
import { ERC20_ABI } from '../../../coordinator/chains/evm/erc20-abi.js';
import { assembleSigned, decodeSignedEvmTransaction, decodeUnsignedEvmTransfer, serializeUnsigned, transferIntent } from '../../../coordinator/chains/evm/evm-transaction.js';
import { expectChainError, newSigner } from './chain-test-kit.js';

const TO = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' as Address;
const fields = { chainId: 11155111, nonce: 3, to: TO, value: 10n ** 17n, data: '0x' as const, gas: 21_000n, maxFeePerGas: 30_000_000_000n, maxPriorityFeePerGas: 1_500_000_000n };

describe('EIP-1559 transfer encoding', () => {
  it('serialises as 0x02 || rlp of the nine fields, and hashes that', () => {
    const signer = newSigner();
    const u = serializeUnsigned(signer.address, fields);
    // EIP-1559: 0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList])
    // RLP integers: big-endian, no leading zero bytes, zero as the empty string.
    const hex = (n: bigint | number): `0x${string}` => {
      const h = BigInt(n).toString(16);
      return BigInt(n) === 0n ? '0x' : `0x${h.length % 2 ? '0' : ''}${h}`;
    };
    const expected = `0x02${toRlp([hex(fields.chainId), hex(fields.nonce), hex(fields.maxPriorityFeePerGas), hex(fields.maxFeePerGas), hex(fields.gas), TO.toLowerCase() as `0x${string}`, hex(fields.value), '0x', []]).slice(2)}`;
    expect(u.serializedUnsigned).to.equal(expected);
    expect(u.signingHash).to.equal(keccak256(expected as `0x${string}`));
    expect(decodeUnsignedEvmTransfer(u.serializedUnsigned, signer.address)).to.deep.equal(u);
  });

  it('decodes only canonical, unsigned type-2 transfers', async () => {
    const from = newSigner().address;
    const u = serializeUnsigned(from, fields);
    await expectChainError(() => decodeUnsignedEvmTransfer('0x01c0', from), 'CHAIN_TX_INVALID');
    await expectChainError(() => decodeUnsignedEvmTransfer('0x02', from), 'CHAIN_TX_INVALID');
    await expectChainError(() => decodeUnsignedEvmTransfer('0x02zz' as never, from), 'CHAIN_TX_INVALID');
    await expectChainError(() => decodeUnsignedEvmTransfer(`${u.serializedUnsigned}00` as never, from), 'CHAIN_TX_INVALID');
    const withList = serializeTransaction({ ...parseTransaction(u.serializedUnsigned), accessList: [{ address: TO, storageKeys: [] }] } as never);
    await expectChainError(() => decodeUnsignedEvmTransfer(withList, from), 'CHAIN_TX_INVALID', /access list/);
    const creation = serializeTransaction({ ...parseTransaction(u.serializedUnsigned), to: undefined } as never);
    await expectChainError(() => decodeUnsignedEvmTransfer(creation, from), 'CHAIN_TX_INVALID', /destination/);
    const signed = serializeTransaction(parseTransaction(u.serializedUnsigned) as never, { r: `0x${'11'.repeat(32)}`, s: `0x${'22'.repeat(32)}`, yParity: 0 });
    await expectChainError(() => decodeUnsignedEvmTransfer(signed, from), 'CHAIN_TX_INVALID', /already signed/);
    // An integer with a leading zero byte is valid-looking RLP but not canonical.
    const nonCanonical = `0x02${toRlp(['0x00aa36a7', '0x03', '0x59682f00', '0x06fc23ac00', '0x5208', TO, '0x016345785d8a0000', '0x', []]).slice(2)}` as `0x${string}`;
    await expectChainError(() => decodeUnsignedEvmTransfer(nonCanonical, from), 'CHAIN_TX_INVALID', /canonically/);
  });

  it('assembles a transaction every decoder reads back with the signer as sender', async () => {
    const signer = newSigner();
    const u = serializeUnsigned(signer.address, fields);
    const raw = await assembleSigned(u, await signer.sign(u.signingHash));
    const back = await decodeSignedEvmTransaction(raw);
    expect(back).to.include({ from: signer.address, hash: keccak256(raw), nonce: 3, to: TO, value: fields.value, chainId: fields.chainId });
  });

  it('refuses inconsistent fields before serialising', async () => {
    const from = newSigner().address;
    await expectChainError(() => serializeUnsigned(from, { ...fields, maxPriorityFeePerGas: fields.maxFeePerGas + 1n }), 'CHAIN_TX_INVALID', /exceeds/);
    await expectChainError(() => serializeUnsigned(from, { ...fields, value: -1n }), 'CHAIN_TX_INVALID');
    await expectChainError(() => serializeUnsigned(from, { ...fields, data: '0xabc' }), 'CHAIN_TX_INVALID');
    await expectChainError(() => serializeUnsigned(from, { ...fields, chainId: 0 }), 'CHAIN_TX_INVALID');
    await expectChainError(() => serializeUnsigned('0x12' as Address, fields), 'CHAIN_INVALID_INPUT');
  });

  it('reads back who receives how much, and refuses anything but an exact transfer', async () => {
    const ETH: EvmAssetConfig = { id: 'ETH', chainId: fields.chainId, kind: 'NATIVE', decimals: 18 };
    const token = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359' as Address;
    const TOK: EvmAssetConfig = { id: 'TOK', chainId: fields.chainId, kind: 'ERC20', contract: token, decimals: 6 };
    expect(transferIntent(fields, ETH)).to.deep.equal({ recipient: TO, amount: fields.value });
    const data = encodeFunctionData({ abi: ERC20_ABI, functionName: 'transfer', args: [TO, 42n] });
    const erc = { ...fields, to: token, value: 0n, data };
    expect(transferIntent(erc, TOK)).to.deep.equal({ recipient: TO, amount: 42n });

    await expectChainError(() => transferIntent({ ...fields, data: '0x00' }, ETH), 'CHAIN_TX_INVALID');
    await expectChainError(() => transferIntent({ ...fields, chainId: 1 }, ETH), 'CHAIN_TX_INVALID', /chain 1/);
    await expectChainError(() => transferIntent({ ...erc, to: TO }, TOK), 'CHAIN_TX_INVALID', /not to the TOK contract/);
    await expectChainError(() => transferIntent({ ...erc, value: 1n }, TOK), 'CHAIN_TX_INVALID');
    await expectChainError(() => transferIntent({ ...erc, data: `${data}00` }, TOK), 'CHAIN_TX_INVALID');
    // Dirty upper bytes in the address word decode to the same address but are not canonical.
    const dirty = `${data.slice(0, 10)}ff${data.slice(12)}` as `0x${string}`;
    await expectChainError(() => transferIntent({ ...erc, data: dirty }, TOK), 'CHAIN_TX_INVALID');
    const approve = encodeFunctionData({ abi: [{ type: 'function', name: 'approve', stateMutability: 'nonpayable', inputs: [{ name: 's', type: 'address' }, { name: 'v', type: 'uint256' }], outputs: [{ name: '', type: 'bool' }] }], functionName: 'approve', args: [TO, 42n] });
    await expectChainError(() => transferIntent({ ...erc, data: approve }, TOK), 'CHAIN_TX_INVALID');
    const balanceOf = encodeFunctionData({ abi: ERC20_ABI, functionName: 'balanceOf', args: [TO] });
    await expectChainError(() => transferIntent({ ...erc, data: balanceOf }, TOK), 'CHAIN_TX_INVALID', /not transfer/);
  });
});
