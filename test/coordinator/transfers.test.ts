// TRANSFERs on a real local EVM chain (Hardhat devnet): a vault address funded by the dev account,
// ETH and ERC-20 transfers built from the node, signed by the coordinator's party with a co-signer
// (test co-signer driving the engine; it checks the unsigned transaction it signs), broadcast,
// mined and confirmed; balances read from the chain; concurrent transfers from one address with
// distinct nonces; a transfer the chain cannot pay refused before signing, its nonce given back.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther } from 'viem';
import { Ed25519Identity } from '../../shared/mpc/authenticated-message.js';
import { generatePaillierKeyPair } from '../../shared/mpc/paillier/paillier.js';
import { AssetCatalogue } from '../../coordinator/assets/index.js';
import { createEvmAdapter } from '../../coordinator/chains/evm/evm-adapter.js';
import type { EvmChainAdapter } from '../../coordinator/chains/chain-adapter.js';
import { KeyLockJournal } from '../../coordinator/mpc/key-lock-journal.js';
import { requestMasterKeys, type KeygenItemPayload } from '../../coordinator/mpc/signing-requests.js';
import type { CoordinatorMpcParty } from '../../coordinator/mpc/coordinator-party.js';
import { startDevnet, type Devnet } from '../../scripts/devnet/devnet.js';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';
import { EngineCosigner } from './support/engine-cosigner.js';
import { TEST_RING_PEDERSEN_BITS } from '../support/ecdsa-keys.js';

const FINAL = new Set(['COMPLETED', 'FAILED', 'REJECTED', 'BLOCKED', 'CANCELLED']);

describe('coordinator transfers on a local EVM devnet', function () {
  this.timeout(240_000);
  let devnet: Devnet;
  let adapter: EvmChainAdapter;
  let c: TestCoordinator;
  let signer: TestUser;
  let cosigner: EngineCosigner;
  let serving: ReturnType<EngineCosigner['serve']>;
  let journalDir: string;
  let journal: KeyLockJournal;
  let source: `0x${string}`;

  const fresh = () => `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString('hex')}` as `0x${string}`;
  const transfer = (assetId: string, amount: string, address: string) => ({
    operation: 'TRANSFER', assetId, amount, source: { type: 'VAULT_ACCOUNT', id: '0' }, destination: { type: 'ONE_TIME_ADDRESS', oneTimeAddress: { address } },
  });

  async function settle(txId: string, ms = 90_000) {
    const until = Date.now() + ms;
    for (;;) {
      const tx = await signer.v5.getTransactionById(txId);
      if (FINAL.has(tx.status)) return tx;
      if (Date.now() > until) throw new Error(`transaction ${txId} still ${tx.status}/${tx.subStatus} (co-signer refused: ${serving.refused.join('; ')})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    devnet = await startDevnet({ blockIntervalMs: 300 });
    adapter = createEvmAdapter({ rpcUrl: devnet.rpcUrl, chainId: devnet.chainId });
    journalDir = mkdtempSync(join(tmpdir(), 'mpc-locks-'));
    journal = KeyLockJournal.open(join(journalDir, 'locks.sqlite'));
    const identity = Ed25519Identity.generate(1);
    cosigner = new EngineCosigner(identity.publicKey);
    const paillier = generatePaillierKeyPair(2048).secretKey;
    c = await startCoordinator({
      assets: new AssetCatalogue({ evmChainId: devnet.chainId, testToken: { contractAddress: devnet.token.address, decimals: devnet.token.decimals } }),
      mpc: { lockStore: journal, identity, paillier: () => paillier, minRingPedersenBits: TEST_RING_PEDERSEN_BITS, cosignerIdentity: async () => cosigner.identity.publicKey },
      chain: { adapter, requiredConfirmations: 2, intervalMs: 100 },
    });
    const admin = await c.user('ADMIN');
    signer = await c.user('SIGNER');
    await c.db.transaction().execute((trx) => requestMasterKeys(trx, c.app.workQueue, c.app.masterKeys, c.workspace.id, ['MPC_ECDSA_SECP256K1']));
    const keygen = (await c.app.workQueue.tryLease([c.workspace.id], cosigner.id))!;
    await cosigner.generate(c.app.mpcParty as CoordinatorMpcParty, c.workspace.id, keygen.id, keygen.payload as KeygenItemPayload);
    await cosigner.report(c.app, keygen.id, { outcome: 'GENERATED' });
    await admin.v5.createVaultAccount('treasury');
    source = (await signer.v5.createVaultAsset('0', 'ETH_TEST5')).address as `0x${string}`;
    expect((await signer.v5.createVaultAsset('0', 'TTK_TEST')).address).to.equal(source);
    await devnet.fund(source, parseEther('10'));
    await devnet.mintToken(source, 1_000n * 10n ** BigInt(devnet.token.decimals));
    const p = await signedFetch(c, admin, 'POST', '/v1/tap/policy', { rules: [{ name: 'all', operations: ['TRANSFER'], initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] });
    expect(p.status).to.equal(200);
    serving = cosigner.serve(c.app.mpcParty as CoordinatorMpcParty, c.app.workQueue, c.workspace.id);
  });

  after(async () => {
    await serving?.stop();
    await c?.close();
    journal?.close();
    await devnet?.stop();
    if (journalDir) rmSync(journalDir, { recursive: true, force: true });
  });

  it('reads the vault balance from the chain', async () => {
    const w = await signer.v5.getVaultAccountAsset('0', 'ETH_TEST5');
    expect(w.balance).to.equal('10');
    expect((await signer.ts.vaults.getVaultAccountAsset({ vaultAccountId: '0', assetId: 'TTK_TEST' })).data.available).to.equal('1000');
  });

  it('ETH: broadcast, mined and confirmed; the recipient holds the amount on chain; txHash and confirmations shown', async () => {
    const to = fresh();
    const r = await signer.v5.createTransaction(transfer('ETH_TEST5', '1.5', to) as never);
    const tx = await settle(r.id);
    expect(tx.status, tx.subStatus).to.equal('COMPLETED');
    expect(tx.subStatus).to.equal('CONFIRMED');
    expect(tx.txHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(tx.numOfConfirmations).to.be.at.least(2);
    expect(tx.sourceAddress).to.equal(source);
    expect(await adapter.balance(to, { id: 'ETH_TEST5', chainId: devnet.chainId, kind: 'NATIVE', decimals: 18 })).to.equal(parseEther('1.5'));
    const onChain = await adapter.confirmations(tx.txHash as `0x${string}`);
    expect(onChain.state).to.equal('CONFIRMED');
    expect(tx.signedMessages?.[0]?.derivationPath).to.deep.equal([44, 1, 0, 0, 0]);
  });

  it('ERC-20: the token contract moves the amount to the recipient', async () => {
    const to = fresh();
    const r = await signer.ts.transactions.createTransaction({ transactionRequest: transfer('TTK_TEST', '25.5', to) as never });
    const tx = await settle(r.data.id!);
    expect(tx.status, tx.subStatus).to.equal('COMPLETED');
    const token = { id: 'TTK_TEST', chainId: devnet.chainId, kind: 'ERC20' as const, contract: devnet.token.address, decimals: devnet.token.decimals };
    expect(await adapter.balance(to, token)).to.equal(255n * 10n ** BigInt(devnet.token.decimals - 1));
  });

  it('three concurrent transfers from one address get distinct nonces and all complete', async () => {
    const made = await Promise.all([0, 1, 2].map(() => signer.v5.createTransaction(transfer('ETH_TEST5', '0.1', fresh()) as never)));
    const done = await Promise.all(made.map((m) => settle(m.id)));
    expect(done.map((t) => t.status)).to.deep.equal(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    const nonces = await c.db.selectFrom('chain_transfers').select('nonce').where('transaction_id', 'in', made.map((m) => m.id)).execute();
    expect(new Set(nonces.map((n) => Number(n.nonce))).size).to.equal(3);
  });

  it('a transfer the vault cannot pay fails before signing (INSUFFICIENT_FUNDS) and its nonce goes to the next transfer', async () => {
    const before = await c.db.selectFrom('mpc_sessions').select('id').execute();
    const r = await signer.v5.createTransaction(transfer('ETH_TEST5', '5000', fresh()) as never);
    const tx = await settle(r.id);
    expect(tx.status).to.equal('FAILED');
    expect(tx.subStatus).to.equal('INSUFFICIENT_FUNDS');
    expect((await c.db.selectFrom('mpc_sessions').select('id').execute()).length, 'nothing was sent for signing').to.equal(before.length);
    const failed = await c.db.selectFrom('chain_transfers').selectAll().where('transaction_id', '=', r.id).executeTakeFirstOrThrow();
    const next = await settle((await signer.v5.createTransaction(transfer('ETH_TEST5', '0.2', fresh()) as never)).id);
    expect(next.status).to.equal('COMPLETED');
    const used = await c.db.selectFrom('chain_transfers').select('nonce').where('transaction_id', '=', next.id).executeTakeFirstOrThrow();
    expect(Number(used.nonce), 'the released nonce is used again').to.equal(Number(failed.nonce));
  });
});
