// External wallets, i.e. whitelisting (reference §2 rows 15–17): a wallet, then an address per
// asset that waits for the co-signer's Configuration Change Key before it counts as whitelisted.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { randomUUID } from 'node:crypto';
import { ApiCode, ApiError, badRequest, conflict, notFound } from '../api-error.js';
import { normaliseAddress } from '../assets/index.js';
import { initiatorRequest, queueConfigChange } from '../config-changes/request-change.js';
import { isUniqueViolation, userOf } from '../plugins/authenticate.js';
import type { Db } from '../storage/database.js';
import type { ExternalWalletAssetsTable, ExternalWalletsTable } from '../storage/schema.js';

const WalletAsset = Type.Object({ id: Type.String(), status: Type.String(), address: Type.String(), tag: Type.String() });
const Wallet = Type.Object({ id: Type.String(), name: Type.String(), customerRefId: Type.Optional(Type.String()), assets: Type.Array(WalletAsset) });
const WalletParams = Type.Object({ walletId: Type.String({ minLength: 1, maxLength: 64 }) });
const AssetParams = Type.Object({ walletId: Type.String({ minLength: 1, maxLength: 64 }), assetId: Type.String({ minLength: 1, maxLength: 64 }) });

const assetJson = (a: ExternalWalletAssetsTable) => ({ id: a.asset_id, status: a.status, address: a.address, tag: a.tag });

async function findWallet(db: Db, workspaceId: string, id: string): Promise<ExternalWalletsTable> {
  const w = await db.selectFrom('external_wallets').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
  if (!w) throw notFound(`External wallet ${JSON.stringify(id.slice(0, 64))} not found`);
  return w;
}

async function walletJson(db: Db, w: ExternalWalletsTable) {
  const assets = await db.selectFrom('external_wallet_assets').selectAll().where('wallet_id', '=', w.id).orderBy('asset_id').execute();
  return { id: w.id, name: w.name, ...(w.customer_ref_id !== null ? { customerRefId: w.customer_ref_id } : {}), assets: assets.map(assetJson) };
}

export const externalWalletRoutes: FastifyPluginAsync = async (app) => {
  const Create = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }), customerRefId: Type.Optional(Type.String({ maxLength: 256 })) });
  app.post<{ Body: Static<typeof Create> }>('/v1/external_wallets', {
    config: { permission: 'wallets:manage' },
    schema: { tags: ['external wallets'], summary: 'Create an external wallet (whitelisting, step 1)', body: Create, response: { 200: Wallet } },
  }, async (request) => {
    const user = userOf(request);
    const w: ExternalWalletsTable = { id: randomUUID(), workspace_id: user.workspace_id, name: request.body.name, customer_ref_id: request.body.customerRefId ?? null, created_at: Date.now() };
    await app.db.insertInto('external_wallets').values(w).execute();
    return walletJson(app.db, w);
  });

  app.get('/v1/external_wallets', {
    config: { permission: 'read' },
    schema: { tags: ['external wallets'], summary: 'List external wallets', response: { 200: Type.Array(Wallet) } },
  }, async (request) => {
    const rows = await app.db.selectFrom('external_wallets').selectAll().where('workspace_id', '=', userOf(request).workspace_id).orderBy('created_at').execute();
    return Promise.all(rows.map((w) => walletJson(app.db, w)));
  });

  app.get<{ Params: Static<typeof WalletParams> }>('/v1/external_wallets/:walletId', {
    config: { permission: 'read' },
    schema: { tags: ['external wallets'], summary: 'Get an external wallet', params: WalletParams, response: { 200: Wallet } },
  }, async (request) => walletJson(app.db, await findWallet(app.db, userOf(request).workspace_id, request.params.walletId)));

  app.delete<{ Params: Static<typeof WalletParams> }>('/v1/external_wallets/:walletId', {
    config: { permission: 'wallets:manage' },
    schema: { tags: ['external wallets'], summary: 'Delete an external wallet and its addresses', params: WalletParams, response: { 200: Type.Object({ success: Type.Boolean() }) } },
  }, async (request) => {
    const user = userOf(request);
    await app.db.transaction().execute(async (trx) => {
      const w = await findWallet(trx, user.workspace_id, request.params.walletId);
      await trx.deleteFrom('external_wallet_assets').where('wallet_id', '=', w.id).execute();
      await trx.deleteFrom('external_wallets').where('id', '=', w.id).execute();
    });
    return { success: true };
  });

  const AddAsset = Type.Object({ address: Type.String({ minLength: 1, maxLength: 256 }), tag: Type.Optional(Type.String({ maxLength: 256 })) });
  app.post<{ Params: Static<typeof AssetParams>; Body: Static<typeof AddAsset> }>('/v1/external_wallets/:walletId/:assetId', {
    config: { permission: 'wallets:manage' },
    schema: {
      tags: ['external wallets'], summary: 'Add an address to an external wallet (whitelisting, step 2): WAITING_FOR_APPROVAL until the co-signer\'s Configuration Change Key approves',
      params: AssetParams, body: AddAsset, response: { 200: WalletAsset },
    },
  }, async (request) => {
    const user = userOf(request);
    let asset;
    try {
      asset = app.assets.get(request.params.assetId);
    } catch {
      throw new ApiError(404, ApiCode.UNKNOWN_ASSET, `Asset ${JSON.stringify(request.params.assetId.slice(0, 64))} is not supported`);
    }
    let address: string;
    try {
      address = normaliseAddress(asset, request.body.address);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    const row = await app.db.transaction().execute(async (trx) => {
      const w = await findWallet(trx, user.workspace_id, request.params.walletId);
      const { workItemId } = await queueConfigChange(trx, app.workQueue, { workspaceId: user.workspace_id, type: 'ADD_WHITELISTED_ADDRESS', initiatorId: user.id, request: initiatorRequest(request), displayInfo: `wallet ${w.name}` });
      const r: ExternalWalletAssetsTable = { wallet_id: w.id, asset_id: asset.id, address, tag: request.body.tag ?? '', status: 'WAITING_FOR_APPROVAL', work_item_id: workItemId, created_at: Date.now() };
      try {
        await trx.insertInto('external_wallet_assets').values(r).execute();
      } catch (e) {
        if (isUniqueViolation(e)) throw conflict(`Wallet ${w.id} already has an address for ${asset.id}`);
        throw e;
      }
      return r;
    });
    app.workQueue.wake(user.workspace_id);
    request.log.info({ walletId: row.wallet_id, assetId: row.asset_id, workItem: row.work_item_id }, 'whitelisting requested; waiting for the co-signer');
    return assetJson(row);
  });

  app.get<{ Params: Static<typeof AssetParams> }>('/v1/external_wallets/:walletId/:assetId', {
    config: { permission: 'read' },
    schema: { tags: ['external wallets'], summary: 'Get an external wallet\'s address for an asset', params: AssetParams, response: { 200: WalletAsset } },
  }, async (request) => {
    const w = await findWallet(app.db, userOf(request).workspace_id, request.params.walletId);
    const a = await app.db.selectFrom('external_wallet_assets').selectAll().where('wallet_id', '=', w.id).where('asset_id', '=', request.params.assetId).executeTakeFirst();
    if (!a) throw notFound('No such asset in this wallet');
    return assetJson(a);
  });

  app.delete<{ Params: Static<typeof AssetParams> }>('/v1/external_wallets/:walletId/:assetId', {
    config: { permission: 'wallets:manage' },
    schema: { tags: ['external wallets'], summary: 'Remove an asset address from an external wallet', params: AssetParams, response: { 200: Type.Object({ success: Type.Boolean() }) } },
  }, async (request) => {
    const w = await findWallet(app.db, userOf(request).workspace_id, request.params.walletId);
    const r = await app.db.deleteFrom('external_wallet_assets').where('wallet_id', '=', w.id).where('asset_id', '=', request.params.assetId).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound('No such asset in this wallet');
    return { success: true };
  });
};
