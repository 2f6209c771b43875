// The EVM adapter against a real Hardhat devnet: transfers built from the node's fees, signed by a
// local key (standing in for the MPC signature), assembled, broadcast, mined and confirmed, with
// balances read back from the chain.
import { expect } from 'chai';
import { createServer } from 'node:net';
import { createWalletClient, decodeFunctionData, http, keccak256, parseTransaction, serializeTransaction } from 'viem';
import type { Address, EvmAssetConfig, EvmChainAdapter, Hex, UnsignedEvmTransfer } from '../../../coordinator/chains/chain-adapter.js';
import { createEvmAdapter } from '../../../coordinator/chains/evm/evm-adapter.js';
import { createDevFaucet } from '../../../coordinator/chains/evm/dev-faucet.js';
import { ERC20_ABI } from '../../../coordinator/chains/evm/erc20-abi.js';
import { decodeUnsignedEvmTransfer, transferIntent } from '../../../coordinator/chains/evm/evm-transaction.js';
import { InMemoryNonceAllocator, reserveNonce } from '../../../coordinator/chains/nonce-allocator.js';
import { startDevnet, type Devnet } from '../../../scripts/devnet/devnet.js';
import { expectChainError, newSigner, type TestSigner } from './chain-test-kit.js';

const ETHER = 10n ** 18n;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

describe('EVM adapter on a Hardhat devnet', function () {
  let devnet: Devnet | undefined;
  let adapter: EvmChainAdapter;
  let ETH: EvmAssetConfig;
  let TTK: EvmAssetConfig;
  const nonces = new InMemoryNonceAllocator();

  before(async function () {
    this.timeout(120_000);
    devnet = await startDevnet();
    adapter = createEvmAdapter({ rpcUrl: devnet.rpcUrl, chainId: devnet.chainId, retryCount: 0 });
    ETH = { id: 'ETH_TEST', chainId: devnet.chainId, kind: 'NATIVE', decimals: 18 };
    TTK = { id: 'TTK_TEST', chainId: devnet.chainId, kind: 'ERC20', contract: devnet.token.address, decimals: devnet.token.decimals };
  });

  after(async function () {
    this.timeout(30_000);
    await devnet?.stop();
  });

  /** A funded source holding `eth` ether (and `tokens` base units of the token). */
  async function fundedSigner(eth = 1n, tokens = 0n): Promise<TestSigner> {
    const s = newSigner();
    await devnet!.fund(s.address, eth * ETHER);
    if (tokens > 0n) await devnet!.mintToken(s.address, tokens);
    return s;
  }

  async function signAndAssemble(signer: TestSigner, unsigned: UnsignedEvmTransfer): Promise<Hex> {
    return adapter.assemble(unsigned, await signer.sign(unsigned.signingHash));
  }

  /** reserve → build → sign → assemble → broadcast, as the coordinator will. */
  async function send(signer: TestSigner, asset: EvmAssetConfig, to: Address, amount: bigint): Promise<{ unsigned: UnsignedEvmTransfer; raw: Hex; hash: Hex }> {
    const nonce = await reserveNonce(adapter, nonces, signer.address);
    const unsigned = await adapter.buildTransfer({ asset, from: signer.address, to, amount, nonce });
    const raw = await signAndAssemble(signer, unsigned);
    const hash = await adapter.broadcast(raw);
    return { unsigned, raw, hash };
  }

  it('moves native ETH: built from node fees, mined, confirmed, balances exact', async () => {
    const source = await fundedSigner(2n);
    const recipient = newSigner().address;
    const amount = 123_456_789_012_345_678n;
    const before = await adapter.balance(source.address, ETH);
    expect(before).to.equal(2n * ETHER);

    const nonce = await reserveNonce(adapter, nonces, source.address);
    expect(nonce).to.equal(0);
    const unsigned = await adapter.buildTransfer({ asset: ETH, from: source.address, to: recipient, amount, nonce });
    expect(unsigned).to.include({ chainId: devnet!.chainId, nonce: 0, to: recipient, value: amount, data: '0x', from: source.address });
    // The node's estimate for a plain payment, no margin (Hardhat estimates 21 001).
    expect(unsigned.gas >= 21_000n && unsigned.gas <= 21_001n, String(unsigned.gas)).to.equal(true);
    expect(unsigned.maxPriorityFeePerGas > 0n).to.equal(true);
    expect(unsigned.maxFeePerGas > unsigned.maxPriorityFeePerGas).to.equal(true);
    expect(unsigned.serializedUnsigned.startsWith('0x02')).to.equal(true);
    expect(unsigned.signingHash).to.equal(keccak256(unsigned.serializedUnsigned));
    // The stored bytes alone give the transaction back.
    expect(decodeUnsignedEvmTransfer(unsigned.serializedUnsigned, source.address)).to.deep.equal(unsigned);
    expect(transferIntent(unsigned, ETH)).to.deep.equal({ recipient, amount });

    const raw = await signAndAssemble(source, unsigned);
    const hash = await adapter.broadcast(raw);
    expect(hash).to.equal(keccak256(raw));

    const st = await adapter.confirmations(hash);
    expect(st.state).to.equal('CONFIRMED');
    expect(st.confirmations).to.equal(1);
    expect(st.gasUsed).to.equal(21_000n);
    await devnet!.mine(4);
    const later = await adapter.confirmations(hash);
    expect(later).to.include({ state: 'CONFIRMED', confirmations: 5, blockNumber: st.blockNumber, blockHash: st.blockHash });

    expect(await adapter.balance(recipient, ETH)).to.equal(amount);
    expect(await adapter.balance(source.address, ETH)).to.equal(before - amount - st.gasUsed! * st.effectiveGasPrice!);
    expect(await adapter.pendingNonce(source.address)).to.equal(1);
  });

  it('moves an ERC-20: transfer(to, amount) sent to the token contract, token balances exact', async () => {
    const source = await fundedSigner(1n, 5_000_000n);
    const recipient = newSigner().address;
    expect(await adapter.decimals(TTK)).to.equal(6);
    expect(await adapter.decimals(ETH)).to.equal(18);

    const { unsigned, hash } = await send(source, TTK, recipient, 1_234_567n);
    expect(unsigned.to).to.equal(devnet!.token.address);
    expect(unsigned.value).to.equal(0n);
    const call = decodeFunctionData({ abi: ERC20_ABI, data: unsigned.data });
    expect(call.functionName).to.equal('transfer');
    expect(call.args).to.deep.equal([recipient, 1_234_567n]);
    expect(transferIntent(unsigned, TTK)).to.deep.equal({ recipient, amount: 1_234_567n });

    const st = await adapter.confirmations(hash);
    expect(st.state).to.equal('CONFIRMED');
    expect(st.gasUsed! <= unsigned.gas).to.equal(true);
    expect(await adapter.balance(recipient, TTK)).to.equal(1_234_567n);
    expect(await adapter.balance(source.address, TTK)).to.equal(5_000_000n - 1_234_567n);
    expect(await adapter.balance(recipient, ETH)).to.equal(0n);
  });

  it('re-broadcasting a mined transaction returns its hash and sends nothing new', async () => {
    const source = await fundedSigner();
    const recipient = newSigner().address;
    const { raw, hash } = await send(source, ETH, recipient, 1000n);
    expect((await adapter.confirmations(hash)).state).to.equal('CONFIRMED');
    expect(await adapter.broadcast(raw)).to.equal(hash);
    expect(await adapter.broadcast(raw)).to.equal(hash);
    expect(await adapter.pendingNonce(source.address)).to.equal(1);
    expect(await adapter.balance(recipient, ETH)).to.equal(1000n);
  });

  it('re-broadcasting a pending transaction returns its hash; it is mined once', async () => {
    const source = await fundedSigner();
    const recipient = newSigner().address;
    await devnet!.setAutomine(false);
    try {
      const { raw, hash } = await send(source, ETH, recipient, 777n);
      expect(await adapter.confirmations(hash)).to.deep.equal({ state: 'PENDING', confirmations: 0 });
      expect(await adapter.broadcast(raw)).to.equal(hash);
      await devnet!.mine();
      expect(await adapter.confirmations(hash)).to.include({ state: 'CONFIRMED', confirmations: 1 });
    } finally {
      await devnet!.setAutomine(true);
    }
    expect(await adapter.balance(recipient, ETH)).to.equal(777n);
    expect(await adapter.pendingNonce(source.address)).to.equal(1);
  });

  it('a transaction whose block is reorganised away goes back to NOT_FOUND; broadcasting it again confirms it', async () => {
    const source = await fundedSigner();
    const recipient = newSigner().address;
    const snap = await devnet!.snapshot();
    const { raw, hash } = await send(source, ETH, recipient, 99n);
    await devnet!.mine(2);
    expect(await adapter.confirmations(hash)).to.include({ state: 'CONFIRMED', confirmations: 3 });
    await devnet!.revert(snap);
    // The chain no longer has the block nor the transaction (Hardhat drops reverted transactions).
    expect(await adapter.confirmations(hash)).to.deep.equal({ state: 'NOT_FOUND', confirmations: 0 });
    expect(await adapter.balance(recipient, ETH)).to.equal(0n);
    expect(await adapter.broadcast(raw)).to.equal(hash);
    expect(await adapter.confirmations(hash)).to.include({ state: 'CONFIRMED', confirmations: 1 });
    expect(await adapter.balance(recipient, ETH)).to.equal(99n);
  });

  it('two concurrent transfers from one address get distinct nonces and both mine (broadcast in nonce order)', async () => {
    const source = await fundedSigner();
    const recipient = newSigner().address;
    // Without the allocator both would read the same pending nonce.
    const [p1, p2] = await Promise.all([adapter.pendingNonce(source.address), adapter.pendingNonce(source.address)]);
    expect(p1).to.equal(p2);

    // Reserved, built and signed concurrently; broadcast in nonce order, as the transfer pipeline
    // does (an automining node refuses nonce 1 if it arrives before nonce 0: a race, not a bug).
    const prepare = async (amount: bigint) => {
      const nonce = await reserveNonce(adapter, nonces, source.address);
      const unsigned = await adapter.buildTransfer({ asset: ETH, from: source.address, to: recipient, amount, nonce });
      return { unsigned, raw: await signAndAssemble(source, unsigned) };
    };
    const prepared = (await Promise.all([prepare(10n), prepare(20n)])).sort((x, y) => x.unsigned.nonce - y.unsigned.nonce);
    expect(prepared.map((p) => p.unsigned.nonce)).to.deep.equal([0, 1]);
    const a = { hash: await adapter.broadcast(prepared[0]!.raw) };
    const b = { hash: await adapter.broadcast(prepared[1]!.raw) };
    expect(a.hash).to.not.equal(b.hash);
    for (const h of [a.hash, b.hash]) expect((await adapter.confirmations(h)).state).to.equal('CONFIRMED');
    expect(await adapter.balance(recipient, ETH)).to.equal(30n);
    expect(await adapter.pendingNonce(source.address)).to.equal(2);
  });

  it('assemble() refuses a signature made by another key', async () => {
    const source = await fundedSigner();
    const unsigned = await adapter.buildTransfer({ asset: ETH, from: source.address, to: newSigner().address, amount: 1n, nonce: 0 });
    const intruder = newSigner();
    const err = await expectChainError(adapter.assemble(unsigned, await intruder.sign(unsigned.signingHash)), 'CHAIN_SIGNER_MISMATCH');
    expect(err.message).to.contain(intruder.address);
    expect(err.retryable).to.equal(false);
    // The source's signature over another hash recovers to someone else as well.
    await expectChainError(adapter.assemble(unsigned, await source.sign(keccak256('0x01'))), 'CHAIN_SIGNER_MISMATCH');
  });

  it('assemble() refuses malformed, high-S and wrong-parity signatures, and inconsistent transactions', async () => {
    const source = await fundedSigner();
    const unsigned = await adapter.buildTransfer({ asset: ETH, from: source.address, to: newSigner().address, amount: 5n, nonce: 0 });
    const sig = await source.sign(unsigned.signingHash);
    const highS = `0x${(SECP256K1_N - BigInt(sig.s)).toString(16).padStart(64, '0')}` as Hex;
    await expectChainError(adapter.assemble(unsigned, { ...sig, s: highS, v: sig.v === 0 ? 1 : 0 }), 'CHAIN_SIGNATURE_INVALID', /low-S/);
    await expectChainError(adapter.assemble(unsigned, { ...sig, r: '0x00' }), 'CHAIN_SIGNATURE_INVALID');
    await expectChainError(adapter.assemble(unsigned, { ...sig, r: `0x${'00'.repeat(32)}` }), 'CHAIN_SIGNATURE_INVALID', /out of range/);
    await expectChainError(adapter.assemble(unsigned, { ...sig, v: 27 as 0 }), 'CHAIN_SIGNATURE_INVALID');
    // The other parity recovers another key.
    await expectChainError(adapter.assemble(unsigned, { ...sig, v: sig.v === 0 ? 1 : 0 }), 'CHAIN_SIGNER_MISMATCH');
    // Fields changed after signing no longer match the signed bytes.
    await expectChainError(adapter.assemble({ ...unsigned, value: 5_000n }, sig), 'CHAIN_TX_INVALID');
    await expectChainError(adapter.assemble({ ...unsigned, signingHash: keccak256('0x02') }, sig), 'CHAIN_TX_INVALID');
    await expectChainError(adapter.assemble({ ...unsigned, chainId: 1 }, sig), 'CHAIN_TX_INVALID');
    // The untouched transaction still assembles, into what the signature commits to.
    const raw = await adapter.assemble(unsigned, sig);
    expect(parseTransaction(raw)).to.include({ chainId: devnet!.chainId, value: 5n, r: sig.r, s: sig.s, yParity: sig.v });
  });

  it('a different transaction on an already used nonce is a nonce conflict, not a success', async () => {
    const source = await fundedSigner();
    const recipient = newSigner().address;
    const first = await send(source, ETH, recipient, 1n);
    expect(first.unsigned.nonce).to.equal(0);
    // Refused at build time already...
    await expectChainError(adapter.buildTransfer({ asset: ETH, from: source.address, to: recipient, amount: 2n, nonce: 0 }), 'CHAIN_NONCE_CONFLICT', /already used/);
    // ...and at broadcast, for one built before the first was mined.
    const other = await adapter.buildTransfer({ asset: ETH, from: source.address, to: recipient, amount: 2n, nonce: 1 });
    const conflicting = serializeTransaction({ ...parseTransaction(other.serializedUnsigned), nonce: 0 } as never);
    const sig = await source.sign(keccak256(conflicting));
    const signed = serializeTransaction({ ...parseTransaction(other.serializedUnsigned), nonce: 0 } as never, { r: sig.r, s: sig.s, yParity: sig.v });
    await expectChainError(adapter.broadcast(signed), 'CHAIN_NONCE_CONFLICT');
    expect(await adapter.balance(recipient, ETH)).to.equal(1n);
  });

  it('a different transaction on the nonce of a pending one is a nonce conflict; the pending one still mines', async () => {
    const source = await fundedSigner();
    const recipient = newSigner().address;
    await devnet!.setAutomine(false);
    try {
      const first = await send(source, ETH, recipient, 1n);
      // Same nonce, same fees, other amount: neither a re-broadcast nor a valid replacement.
      const other = await adapter.buildTransfer({ asset: ETH, from: source.address, to: recipient, amount: 2n, nonce: first.unsigned.nonce });
      const { maxFeePerGas, maxPriorityFeePerGas } = first.unsigned;
      const sameFees = decodeUnsignedEvmTransfer(serializeTransaction({ ...parseTransaction(other.serializedUnsigned), maxFeePerGas, maxPriorityFeePerGas } as never), source.address);
      await expectChainError(adapter.broadcast(await signAndAssemble(source, sameFees)), 'CHAIN_NONCE_CONFLICT', /pending/);
      await devnet!.mine();
      expect((await adapter.confirmations(first.hash)).state).to.equal('CONFIRMED');
    } finally {
      await devnet!.setAutomine(true);
    }
    expect(await adapter.balance(recipient, ETH)).to.equal(1n);
  });

  it('a transfer that reverts on chain is FAILED, with its gas spent and its nonce used', async () => {
    const source = await fundedSigner(1n, 100n);
    const recipient = newSigner().address;
    // Both estimate against a balance of 100; only the first can be paid.
    const n0 = await reserveNonce(adapter, nonces, source.address);
    const n1 = await reserveNonce(adapter, nonces, source.address);
    const u0 = await adapter.buildTransfer({ asset: TTK, from: source.address, to: recipient, amount: 100n, nonce: n0 });
    const u1 = await adapter.buildTransfer({ asset: TTK, from: source.address, to: recipient, amount: 100n, nonce: n1 });
    const h0 = await adapter.broadcast(await signAndAssemble(source, u0));
    const h1 = await adapter.broadcast(await signAndAssemble(source, u1));
    expect((await adapter.confirmations(h0)).state).to.equal('CONFIRMED');
    const failed = await adapter.confirmations(h1);
    expect(failed.state).to.equal('FAILED');
    expect(failed.confirmations).to.equal(1);
    expect(failed.gasUsed! > 21_000n).to.equal(true);
    expect(await adapter.balance(recipient, TTK)).to.equal(100n);
    expect(await adapter.pendingNonce(source.address)).to.equal(2);
  });

  it('refuses, before signing, a transfer the source cannot pay', async () => {
    const source = await fundedSigner(1n, 10n);
    const to = newSigner().address;
    await expectChainError(adapter.buildTransfer({ asset: ETH, from: source.address, to, amount: 2n * ETHER, nonce: 0 }), 'CHAIN_INSUFFICIENT_FUNDS');
    // The whole balance leaves nothing for the fee.
    await expectChainError(adapter.buildTransfer({ asset: ETH, from: source.address, to, amount: ETHER, nonce: 0 }), 'CHAIN_INSUFFICIENT_FUNDS', /amount and fee/);
    await expectChainError(adapter.buildTransfer({ asset: TTK, from: source.address, to, amount: 11n, nonce: 0 }), 'CHAIN_EXECUTION_REVERTED');
    // Tokens but no ether for the fee.
    const poor = newSigner();
    await devnet!.mintToken(poor.address, 10n);
    await expectChainError(adapter.buildTransfer({ asset: TTK, from: poor.address, to, amount: 1n, nonce: 0 }), 'CHAIN_INSUFFICIENT_FUNDS');
  });

  it('refuses bad input with typed errors', async () => {
    const source = await fundedSigner();
    const to = newSigner().address;
    const bad = (over: object) => adapter.buildTransfer({ asset: ETH, from: source.address, to, amount: 1n, nonce: 0, ...over });
    await expectChainError(adapter.buildTransfer(null as never), 'CHAIN_INVALID_INPUT');
    await expectChainError(bad({ asset: null }), 'CHAIN_INVALID_INPUT');
    await expectChainError(bad({ amount: 0n }), 'CHAIN_INVALID_INPUT');
    await expectChainError(bad({ amount: -1n }), 'CHAIN_INVALID_INPUT');
    await expectChainError(bad({ amount: 1 }), 'CHAIN_INVALID_INPUT');
    await expectChainError(bad({ amount: 1n << 256n }), 'CHAIN_INVALID_INPUT');
    await expectChainError(bad({ nonce: -1 }), 'CHAIN_INVALID_INPUT');
    await expectChainError(bad({ nonce: 1.5 }), 'CHAIN_INVALID_INPUT');
    await expectChainError(bad({ to: '0x1234' }), 'CHAIN_INVALID_INPUT');
    await expectChainError(bad({ to: '0x0000000000000000000000000000000000000000' }), 'CHAIN_INVALID_INPUT', /zero address/);
    // EIP-55's own example with one letter's case flipped: the checksum catches it.
    await expectChainError(bad({ to: '0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed' }), 'CHAIN_INVALID_INPUT', /checksum/);
    expect((await bad({ to: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' })).to).to.equal('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed');
    expect((await bad({ to: to.toLowerCase() })).to).to.equal(to);
    await expectChainError(bad({ asset: { ...ETH, chainId: 1 } }), 'CHAIN_INVALID_INPUT', /chain 1/);
    await expectChainError(bad({ asset: { ...TTK, contract: '0xnot' } as EvmAssetConfig }), 'CHAIN_INVALID_INPUT');
    await expectChainError(adapter.decimals({ ...TTK, contract: newSigner().address } as EvmAssetConfig), 'CHAIN_INVALID_INPUT', /no contract/);
    await expectChainError(adapter.confirmations('0x1234' as Hex), 'CHAIN_INVALID_INPUT');
    await expectChainError(adapter.broadcast('0xdeadbeef'), 'CHAIN_TX_INVALID');
    await expectChainError(adapter.broadcast('0x02c0'), 'CHAIN_TX_INVALID');
  });

  it('refuses to broadcast an unsigned transaction or one signed for another chain', async () => {
    const source = await fundedSigner();
    const unsigned = await adapter.buildTransfer({ asset: ETH, from: source.address, to: newSigner().address, amount: 1n, nonce: 0 });
    await expectChainError(adapter.broadcast(unsigned.serializedUnsigned), 'CHAIN_TX_INVALID', /not signed/);
    const tx = parseTransaction(unsigned.serializedUnsigned);
    const foreign = serializeTransaction({ ...tx, chainId: 1 } as never);
    const sig = await source.sign(keccak256(foreign));
    const signed = serializeTransaction({ ...tx, chainId: 1 } as never, { r: sig.r, s: sig.s, yParity: sig.v });
    await expectChainError(adapter.broadcast(signed), 'CHAIN_TX_INVALID', /chain 1/);
  });

  it('the dev faucet pays from an unlocked node account and refuses what it cannot do', async () => {
    const faucet = await createDevFaucet({ rpcUrl: devnet!.rpcUrl, chainId: devnet!.chainId });
    expect(faucet.account).to.equal(devnet!.devAccount);
    const who = newSigner().address;
    await faucet.sendNative(who, 5n);
    await faucet.mintToken(devnet!.token.address, who, 7n);
    expect(await adapter.balance(who, ETH)).to.equal(5n);
    expect(await adapter.balance(who, TTK)).to.equal(7n);
    await expectChainError(faucet.sendNative(who, 0n), 'CHAIN_INVALID_INPUT');
    await expectChainError(faucet.mintToken(newSigner().address, who, 1n), 'CHAIN_INVALID_INPUT', /no contract/);
    await expectChainError(createDevFaucet({ rpcUrl: devnet!.rpcUrl, chainId: 1 }), 'CHAIN_ID_MISMATCH');
    await expectChainError(createDevFaucet({ rpcUrl: devnet!.rpcUrl, chainId: devnet!.chainId, account: newSigner().address }), 'CHAIN_UNSUPPORTED', /unlocked/);
    // Another unlocked account is not the token's minter: the mint reverts.
    const [, second] = await createWalletClient({ transport: http(devnet!.rpcUrl) }).getAddresses();
    const other = await createDevFaucet({ rpcUrl: devnet!.rpcUrl, chainId: devnet!.chainId, account: second! });
    await expectChainError(other.mintToken(devnet!.token.address, who, 1n), 'CHAIN_EXECUTION_REVERTED');
    expect(await adapter.balance(who, TTK)).to.equal(7n);
  });

  it('reports NOT_FOUND for a transaction the node never saw', async () => {
    expect(await adapter.confirmations(keccak256('0x1234'))).to.deep.equal({ state: 'NOT_FOUND', confirmations: 0 });
  });

  it('a node serving another chain id is refused before anything is built', async () => {
    const wrong = createEvmAdapter({ rpcUrl: devnet!.rpcUrl, chainId: 1, retryCount: 0 });
    const e = await expectChainError(wrong.pendingNonce(newSigner().address), 'CHAIN_ID_MISMATCH', /chain 31337, configured for chain 1/);
    expect(e.retryable).to.equal(false);
  });

  it('an unreachable node is a retryable CHAIN_RPC_UNAVAILABLE without the URL in the message', async () => {
    // A port that was just free: nothing listens there.
    const port = await new Promise<number>((res) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => res(p));
      });
    });
    const down = createEvmAdapter({ rpcUrl: `http://127.0.0.1:${port}/secret-api-key`, chainId: devnet!.chainId, retryCount: 0, timeoutMs: 2_000 });
    const e = await expectChainError(down.balance(newSigner().address, ETH), 'CHAIN_RPC_UNAVAILABLE');
    expect(e.retryable).to.equal(true);
    expect(e.message).to.not.contain('secret-api-key');
    expect(JSON.stringify(e.details ?? {})).to.not.contain('secret-api-key');
    const source = await fundedSigner();
    const unsigned = await adapter.buildTransfer({ asset: ETH, from: source.address, to: newSigner().address, amount: 1n, nonce: 0 });
    const raw = await signAndAssemble(source, unsigned);
    expect((await expectChainError(down.broadcast(raw), 'CHAIN_RPC_UNAVAILABLE')).retryable).to.equal(true);
    // Once the node is back, the same bytes go through.
    expect(await adapter.broadcast(raw)).to.equal(keccak256(raw));
  });
});
