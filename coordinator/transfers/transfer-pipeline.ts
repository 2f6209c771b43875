// A TRANSFER from QUEUED to COMPLETED on an EVM chain (the steps chains/README.md lays out), as
// a loop over stored state, so that a coordinator killed at any point resumes where it was and
// never signs or broadcasts anything twice:
//
//   QUEUED tx, no row   → RESERVED   nonce reserved with the row, in one database transaction
//   RESERVED            → SIGNING    unsigned tx built from the node (gas, fees); SIGN item + session
//                                    for its hash, with the unsigned bytes for the co-signer to check
//   (session DONE)      → SIGNED     signature-result.ts stores {r, s, v}; tx BROADCASTING
//   SIGNED              → SENT       raw assembled and STORED, then broadcast (idempotent); CONFIRMING
//   SENT                → CONFIRMED  enough confirmations: tx COMPLETED; reverted: FAILED;
//                                    dropped or reorganised away: the stored raw is broadcast again
//
// A failure before signing releases the nonce (the next transfer fills the gap); a signed
// transaction's nonce is never released. Node outages (retryable errors) leave the row as it is
// for the next round.
import { keccak256 } from 'viem';
import type { Logger } from '../../shared/log.js';
import { deriveAddress, formatAmount, type AssetCatalogue, type AssetDefinition } from '../assets/index.js';
import type { Address, EvmAssetConfig, EvmChainAdapter, EvmSignature, Hex } from '../chains/chain-adapter.js';
import { ChainError } from '../chains/chain-errors.js';
import { decodeUnsignedEvmTransfer } from '../chains/evm/evm-transaction.js';
import type { MasterKeys } from '../mpc/master-keys.js';
import { enqueueSign, newSessionId } from '../mpc/signing-requests.js';
import type { Db } from '../storage/database.js';
import type { ChainTransfersTable, TransactionsTable } from '../storage/schema.js';
import type { StoredRequest } from '../transactions/create.js';
import { setStatus } from '../transactions/set-status.js';
import type { TransactionResult } from '../transactions/view.js';
import type { WorkQueue } from '../work-queue/work-queue.js';
import { releaseIn, reserveIn } from './db-nonce-allocator.js';

export interface ChainOptions {
  adapter: EvmChainAdapter;
  /** Confirmations before a transfer is COMPLETED (default 3). */
  requiredConfirmations?: number;
  /** How often the pipeline looks at open transfers (default 1 s). */
  intervalMs?: number;
}

const BATCH = 20;

/** The catalogue's asset as the EVM adapter names it. */
export function evmAsset(asset: Readonly<AssetDefinition>): EvmAssetConfig {
  if (asset.chain.family !== 'EVM') throw new ChainError('CHAIN_UNSUPPORTED', `${asset.id} is not on an EVM chain`);
  return asset.type === 'ERC20'
    ? { id: asset.id, chainId: asset.chain.chainId, kind: 'ERC20', contract: asset.contractAddress as Address, decimals: asset.decimals }
    : { id: asset.id, chainId: asset.chain.chainId, kind: 'NATIVE', decimals: asset.decimals };
}

function subStatusFor(e: ChainError): string {
  switch (e.code) {
    case 'CHAIN_INSUFFICIENT_FUNDS': return 'INSUFFICIENT_FUNDS';
    case 'CHAIN_INVALID_INPUT': return 'INVALID_ADDRESS';
    default: return 'REJECTED_BY_BLOCKCHAIN';
  }
}

export class TransferPipeline {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly required: number;

  constructor(
    private readonly db: Db,
    private readonly assets: AssetCatalogue,
    private readonly masterKeys: MasterKeys,
    private readonly queue: WorkQueue,
    private readonly chain: ChainOptions,
    private readonly log: Logger,
  ) {
    this.required = chain.requiredConfirmations ?? 3;
  }

  start(): void {
    this.stopped = false;
    const every = this.chain.intervalMs ?? 500;
    const loop = () => {
      if (this.stopped) return;
      let again = false;
      this.running = this.tick().then((moved) => void (again = moved), (e) => this.log.error({ err: describe(e) }, 'transfer pipeline round failed')).finally(() => {
        this.running = undefined;
        // A round that moved something is followed at once: the next step is often ready.
        if (!this.stopped) this.timer = setTimeout(loop, again ? 0 : every);
      });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One round over every open transfer; true if a transfer changed state (tests may step it by hand). */
  async tick(): Promise<boolean> {
    const before = await this.fingerprint();
    await this.reserveNew();
    for (const row of await this.rows('RESERVED')) await this.guard(row, () => this.build(row));
    for (const row of await this.rows('SIGNED')) await this.guard(row, () => this.send(row));
    for (const row of await this.rows('SENT')) await this.guard(row, () => this.follow(row));
    return (await this.fingerprint()) !== before;
  }

  /** How many transfers are in each state (cheap: one grouped count). */
  private async fingerprint(): Promise<string> {
    const rows = await this.db.selectFrom('chain_transfers').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
    return rows.map((r) => `${r.state}:${r.n}`).sort().join(',');
  }

  private rows(state: ChainTransfersTable['state']): Promise<ChainTransfersTable[]> {
    return this.db.selectFrom('chain_transfers').selectAll().where('state', '=', state).where('chain_id', '=', this.chain.adapter.chainId)
      .orderBy('created_at').limit(BATCH).execute();
  }

  /** A retryable chain error waits for the next round; anything else is logged, the row left for an operator. */
  private async guard(row: ChainTransfersTable, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (e) {
      if (e instanceof ChainError && e.retryable) {
        this.log.warn({ txId: row.transaction_id, state: row.state, code: e.code }, 'chain unavailable; the transfer step will be retried');
        return;
      }
      this.log.error({ txId: row.transaction_id, state: row.state, err: describe(e) }, 'transfer step failed');
    }
  }

  private request(tx: TransactionsTable): { req: StoredRequest; asset: Readonly<AssetDefinition> } {
    const req = JSON.parse(tx.request) as StoredRequest;
    return { req, asset: this.assets.get(req.assetId) };
  }

  private async fromAddress(tx: TransactionsTable, asset: Readonly<AssetDefinition>, account: number): Promise<Address> {
    return deriveAddress(asset, await this.masterKeys.publicKeys(tx.workspace_id), { account }).address as Address;
  }

  private async reserveNew(): Promise<void> {
    const fresh = await this.db.selectFrom('transactions').selectAll()
      .where('status', '=', 'QUEUED').where('operation', '=', 'TRANSFER')
      .where('id', 'not in', this.db.selectFrom('chain_transfers').select('transaction_id'))
      .orderBy('created_at').limit(BATCH).execute();
    // One transfer per source address between nonce reservation and broadcast: a transfer refused
    // before signing gives its nonce back to the next one, so no later transaction is ever signed
    // behind a gap that nothing will fill (a node refuses, or holds forever, a nonce past a gap).
    const busy = new Set((await this.db.selectFrom('chain_transfers').select('from_address')
      .where('chain_id', '=', this.chain.adapter.chainId).where('state', 'in', ['RESERVED', 'SIGNING', 'SIGNED']).execute()).map((r) => r.from_address.toLowerCase()));
    for (const tx of fresh) {
      const { req, asset } = this.request(tx);
      if (asset.chain.family !== 'EVM' || asset.chain.chainId !== this.chain.adapter.chainId) continue; // another chain's pipeline
      try {
        const from = await this.fromAddress(tx, asset, req.sourceVault);
        if (busy.has(from.toLowerCase())) continue; // its turn comes when the one before it is broadcast
        busy.add(from.toLowerCase());
        const pending = await this.chain.adapter.pendingNonce(from);
        await this.db.transaction().execute(async (trx) => {
          const still = await trx.selectFrom('transactions').select('status').where('id', '=', tx.id).executeTakeFirst();
          const taken = await trx.selectFrom('chain_transfers').select('transaction_id').where('transaction_id', '=', tx.id).executeTakeFirst();
          const inFlight = await trx.selectFrom('chain_transfers').select('transaction_id').where('chain_id', '=', this.chain.adapter.chainId)
            .where('from_address', '=', from).where('state', 'in', ['RESERVED', 'SIGNING', 'SIGNED']).executeTakeFirst();
          if (still?.status !== 'QUEUED' || taken || inFlight) return;
          const nonce = await reserveIn(trx, this.chain.adapter.chainId, from, pending);
          const t = Date.now();
          await trx.insertInto('chain_transfers').values({
            transaction_id: tx.id, workspace_id: tx.workspace_id, chain_id: this.chain.adapter.chainId, from_address: from, nonce, state: 'RESERVED',
            serialized_unsigned: null, signature: null, raw: null, tx_hash: null, created_at: t, updated_at: t,
          }).execute();
        });
      } catch (e) {
        if (e instanceof ChainError && e.retryable) continue;
        await this.db.transaction().execute(async (trx) => failTx(trx, tx.id, 'INTERNAL_ERROR', describe(e)));
      }
    }
  }

  private async build(row: ChainTransfersTable): Promise<void> {
    const tx = await this.db.selectFrom('transactions').selectAll().where('id', '=', row.transaction_id).executeTakeFirstOrThrow();
    const from = row.from_address as Address;
    if (tx.status !== 'QUEUED') {
      // Cancelled (or failed) before anything was signed: give the nonce back.
      await this.db.transaction().execute(async (trx) => {
        if (await move(trx, row, 'RESERVED', 'FAILED')) await releaseIn(trx, row.chain_id, from, Number(row.nonce));
      });
      return;
    }
    const { req, asset } = this.request(tx);
    const to = (req.destination && 'address' in req.destination ? req.destination.address : await this.vaultDestination(tx, asset, req)) as Address;
    let unsigned;
    try {
      unsigned = await this.chain.adapter.buildTransfer({ asset: evmAsset(asset), from, to, amount: BigInt(req.amount!), nonce: Number(row.nonce) });
    } catch (e) {
      if (!(e instanceof ChainError) || e.retryable) throw e;
      await this.db.transaction().execute(async (trx) => {
        if (!(await move(trx, row, 'RESERVED', 'FAILED'))) return;
        await releaseIn(trx, row.chain_id, from, Number(row.nonce));
        await failTx(trx, tx.id, subStatusFor(e), e.message);
      });
      this.log.warn({ txId: tx.id, code: e.code }, 'transfer refused before signing; nonce released');
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('transactions').selectAll().where('id', '=', tx.id).executeTakeFirstOrThrow();
      if (current.status !== 'QUEUED' || !(await move(trx, row, 'RESERVED', 'SIGNING', { serialized_unsigned: unsigned.serializedUnsigned }))) return;
      const path = [44, asset.coinType, req.sourceVault, 0, 0];
      await enqueueSign(trx, this.queue, current, asset.algorithm, [{ index: 0, sessionId: newSessionId(), content: unsigned.signingHash.slice(2), derivationPath: path }], {
        assetId: asset.id, chainId: unsigned.chainId, from, serializedUnsigned: unsigned.serializedUnsigned, to, amount: req.amount!,
      });
      await mergeResult(trx, current, { sourceAddress: from });
    });
    this.queue.wake(tx.workspace_id);
  }

  private async vaultDestination(tx: TransactionsTable, asset: Readonly<AssetDefinition>, req: StoredRequest): Promise<string> {
    if (req.destination?.type !== 'VAULT_ACCOUNT') throw new ChainError('CHAIN_INVALID_INPUT', 'the transfer has no destination address');
    return this.fromAddress(tx, asset, Number(req.destination.id));
  }

  private async send(row: ChainTransfersTable): Promise<void> {
    let raw = row.raw as Hex | null;
    if (!raw) {
      const unsigned = decodeUnsignedEvmTransfer(row.serialized_unsigned as Hex, row.from_address as Address);
      raw = await this.chain.adapter.assemble(unsigned, JSON.parse(row.signature!) as EvmSignature);
      // Stored before it leaves: after a crash the same bytes are broadcast again, never new ones.
      await this.db.updateTable('chain_transfers').set({ raw, tx_hash: keccak256(raw), updated_at: Date.now() })
        .where('transaction_id', '=', row.transaction_id).where('state', '=', 'SIGNED').execute();
    }
    let hash: Hex;
    try {
      hash = await this.chain.adapter.broadcast(raw);
    } catch (e) {
      if (!(e instanceof ChainError) || e.retryable) throw e;
      await this.db.transaction().execute(async (trx) => {
        if (await move(trx, row, 'SIGNED', 'FAILED')) await failTx(trx, row.transaction_id, 'REJECTED_BY_BLOCKCHAIN', e.message);
      });
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      if (!(await move(trx, row, 'SIGNED', 'SENT', { tx_hash: hash }))) return;
      const tx = await trx.selectFrom('transactions').selectAll().where('id', '=', row.transaction_id).executeTakeFirstOrThrow();
      await mergeResult(trx, tx, { txHash: hash });
      if (tx.status === 'BROADCASTING') await setStatus(trx, { ...tx }, 'CONFIRMING', 'PENDING_BLOCKCHAIN_CONFIRMATIONS');
    });
    this.log.info({ txId: row.transaction_id, txHash: hash }, 'transfer broadcast');
  }

  private async follow(row: ChainTransfersTable): Promise<void> {
    const status = await this.chain.adapter.confirmations(row.tx_hash as Hex);
    if (status.state === 'NOT_FOUND') {
      await this.chain.adapter.broadcast(row.raw as Hex); // dropped or reorganised away: the same bytes again
      return;
    }
    if (status.state === 'PENDING') return;
    await this.db.transaction().execute(async (trx) => {
      const tx = await trx.selectFrom('transactions').selectAll().where('id', '=', row.transaction_id).executeTakeFirstOrThrow();
      if (status.state === 'FAILED') {
        if (await move(trx, row, 'SENT', 'FAILED')) await failTx(trx, tx.id, 'REVERTED', 'the transaction was mined and reverted');
        return;
      }
      const fee = status.gasUsed !== undefined && status.effectiveGasPrice !== undefined ? formatAmount(status.gasUsed * status.effectiveGasPrice, 18) : undefined;
      const seen: TransactionResult = {
        numOfConfirmations: status.confirmations,
        ...(status.blockNumber !== undefined && status.blockHash ? { blockInfo: { blockHeight: status.blockNumber.toString(), blockHash: status.blockHash } } : {}),
        ...(fee ? { networkFee: fee } : {}),
      };
      await mergeResult(trx, tx, seen);
      if (status.confirmations >= this.required && (await move(trx, row, 'SENT', 'CONFIRMED'))) {
        await setStatus(trx, tx, 'COMPLETED', 'CONFIRMED');
        this.log.info({ txId: tx.id, confirmations: status.confirmations }, 'transfer completed');
      }
    });
  }
}

/** Compare-and-set on a transfer row's state; false if another round moved it first. */
async function move(trx: Db, row: ChainTransfersTable, from: ChainTransfersTable['state'], to: ChainTransfersTable['state'], set: Partial<ChainTransfersTable> = {}): Promise<boolean> {
  const r = await trx.updateTable('chain_transfers').set({ ...set, state: to, updated_at: Date.now() })
    .where('transaction_id', '=', row.transaction_id).where('state', '=', from).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

async function mergeResult(trx: Db, tx: TransactionsTable, add: TransactionResult): Promise<void> {
  const current = await trx.selectFrom('transactions').select('result').where('id', '=', tx.id).executeTakeFirstOrThrow();
  const result = { ...(current.result ? JSON.parse(current.result) as TransactionResult : {}), ...add };
  await trx.updateTable('transactions').set({ result: JSON.stringify(result), last_updated: Date.now() }).where('id', '=', tx.id).execute();
}

async function failTx(trx: Db, txId: string, subStatus: string, why: string): Promise<void> {
  const tx = await trx.selectFrom('transactions').selectAll().where('id', '=', txId).executeTakeFirstOrThrow();
  if (tx.status === 'FAILED' || tx.status === 'COMPLETED' || tx.status === 'CANCELLED') return;
  await mergeResult(trx, tx, { errorDescription: why.slice(0, 300) });
  await setStatus(trx, tx, 'FAILED', subStatus);
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 300) : 'non-error thrown';
}
