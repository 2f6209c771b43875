// Vault wallets (reference §2 rows 4–8): a wallet is a vault account's asset, its deposit address
// is derived from the workspace's master public key at [44, coin, vault, 0, 0] (assets/), and
// public keys are served by wallet address or by raw path. A wallet can be created only once its
// algorithm's master key exists (key generation with a paired co-signer has finished).
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ApiCode, ApiError, badRequest } from '../api-error.js';
import {
  deriveAddress, formatAmount, parseAlgorithm, parseDerivationPathParam, publicKeyInfo, PublicKeyInfoSchema,
  bip44Path, type AssetDefinition, type DerivedAddress,
} from '../assets/index.js';
import { userOf, isUniqueViolation } from '../plugins/authenticate.js';
import { findVault, VaultIdParam } from './vault-accounts.js';

const AssetIdParam = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const WalletParams = Type.Object({ vaultAccountId: VaultIdParam, assetId: AssetIdParam });
const KeyParams = Type.Object({
  vaultAccountId: VaultIdParam, assetId: AssetIdParam,
  change: Type.String({ pattern: '^(0|1)$' }), addressIndex: Type.String({ pattern: '^(0|[1-9][0-9]{0,9})$' }),
});
const CompressedQuery = Type.Object({ compressed: Type.Optional(Type.String({ enum: ['true', 'false'] })) });
const RawKeyQuery = Type.Object({
  algorithm: Type.String({ maxLength: 64 }),
  derivationPath: Type.String({ maxLength: 4096 }),
  compressed: Type.Optional(Type.String({ enum: ['true', 'false'] })),
});
const PagedQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  before: Type.Optional(Type.String({ maxLength: 64 })),
  after: Type.Optional(Type.String({ maxLength: 64 })),
});

const CreatedWallet = Type.Object({ id: Type.String(), address: Type.String(), legacyAddress: Type.String(), tag: Type.String(), status: Type.String() });
const WalletBalance = Type.Object({
  id: Type.String(), total: Type.String(), balance: Type.String(), available: Type.String(), pending: Type.String(),
  frozen: Type.String(), lockedAmount: Type.String(), staked: Type.String(), blockHeight: Type.String(),
});
const Address = Type.Object({
  assetId: Type.String(), address: Type.String(), description: Type.String(), tag: Type.String(), type: Type.String(),
  customerRefId: Type.String(), addressFormat: Type.String(), legacyAddress: Type.String(), enterpriseAddress: Type.String(),
  bip44AddressIndex: Type.Integer(), userDefined: Type.Boolean(),
});

const ADDRESS_FORMAT: Record<AssetDefinition['addressFormat'], string> = { EVM: 'BASE', SOLANA: 'BASE', TAPROOT: 'SEGWIT' };

export type BalanceOf = (asset: Readonly<AssetDefinition>, address: string) => Promise<{ balance: bigint; blockHeight?: bigint }>;

declare module 'fastify' {
  interface FastifyInstance {
    /** Balances from the chain adapters; null when no chain node is configured. */
    balanceOf: BalanceOf | null;
  }
}

export const vaultWalletRoutes: FastifyPluginAsync = async (app) => {
  async function walletAddress(workspaceId: string, vaultId: string, assetId: string): Promise<{ asset: Readonly<AssetDefinition>; derived: DerivedAddress; vault: number }> {
    const vault = await findVault(app.db, workspaceId, vaultId);
    const asset = app.assets.get(assetId);
    const exists = await app.db.selectFrom('vault_assets').select('asset_id')
      .where('workspace_id', '=', workspaceId).where('vault_account_id', '=', vault.id).where('asset_id', '=', asset.id).executeTakeFirst();
    if (!exists) throw new ApiError(404, ApiCode.UNKNOWN_ASSET, `Vault account ${vault.id} has no ${asset.id} wallet`);
    return { asset, derived: deriveAddress(asset, await app.masterKeys.publicKeys(workspaceId), { account: vault.id }), vault: vault.id };
  }

  const addressJson = (asset: Readonly<AssetDefinition>, d: DerivedAddress): Static<typeof Address> => ({
    assetId: asset.id, address: d.address, description: '', tag: '', type: 'Permanent', customerRefId: '',
    addressFormat: ADDRESS_FORMAT[asset.addressFormat], legacyAddress: '', enterpriseAddress: '',
    bip44AddressIndex: d.derivationPath[4] ?? 0, userDefined: false,
  });

  app.post<{ Params: Static<typeof WalletParams> }>('/v1/vault/accounts/:vaultAccountId/:assetId', {
    config: { permission: 'vault:write' },
    schema: {
      tags: ['vaults'], summary: 'Create a vault wallet (asset) and its deposit address', params: WalletParams,
      querystring: Type.Object({ blockchainWalletType: Type.Optional(Type.String({ maxLength: 64 })) }),
      response: { 200: CreatedWallet },
    },
  }, async (request) => {
    // v5 sends {}, ts-sdk {} or {eosAccountName} (an EOS field, meaningless here); no body is fine too.
    const body = request.body as unknown;
    if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) throw badRequest('The body, if any, must be a JSON object');
    const user = userOf(request);
    const vault = await findVault(app.db, user.workspace_id, request.params.vaultAccountId);
    const asset = app.assets.get(request.params.assetId);
    // Derive first: no wallet is stored for a key that does not exist yet.
    const derived = deriveAddress(asset, await app.masterKeys.publicKeys(user.workspace_id), { account: vault.id });
    try {
      await app.db.insertInto('vault_assets').values({ workspace_id: user.workspace_id, vault_account_id: vault.id, asset_id: asset.id, created_at: Date.now() }).execute();
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      throw new ApiError(409, ApiCode.CONFLICT, `Vault account ${vault.id} already has a ${asset.id} wallet`);
    }
    request.log.info({ vault: vault.id, asset: asset.id, by: user.id }, 'vault wallet created');
    return { id: asset.id, address: derived.address, legacyAddress: '', tag: '', status: 'READY' };
  });

  app.get<{ Params: Static<typeof WalletParams> }>('/v1/vault/accounts/:vaultAccountId/:assetId', {
    config: { permission: 'read' },
    schema: { tags: ['vaults'], summary: 'A vault wallet and its balance (read from the chain)', params: WalletParams, response: { 200: WalletBalance } },
  }, async (request) => {
    const { asset, derived } = await walletAddress(userOf(request).workspace_id, request.params.vaultAccountId, request.params.assetId);
    if (!app.balanceOf) throw new ApiError(503, ApiCode.UNAVAILABLE, `No chain node is configured for ${asset.id}: its balance cannot be read`);
    const { balance, blockHeight } = await app.balanceOf(asset, derived.address);
    const amount = formatAmount(balance, asset.decimals);
    return { id: asset.id, total: amount, balance: amount, available: amount, pending: '0', frozen: '0', lockedAmount: '0', staked: '0', blockHeight: blockHeight === undefined ? '' : blockHeight.toString() };
  });

  app.get<{ Params: Static<typeof WalletParams> }>('/v1/vault/accounts/:vaultAccountId/:assetId/addresses', {
    config: { permission: 'read' },
    schema: { tags: ['vaults'], summary: 'Deposit addresses of a vault wallet (v5)', params: WalletParams, response: { 200: Type.Array(Address) } },
  }, async (request) => {
    const { asset, derived } = await walletAddress(userOf(request).workspace_id, request.params.vaultAccountId, request.params.assetId);
    return [addressJson(asset, derived)];
  });

  app.get<{ Params: Static<typeof WalletParams>; Querystring: Static<typeof PagedQuery> }>('/v1/vault/accounts/:vaultAccountId/:assetId/addresses_paginated', {
    config: { permission: 'read' },
    schema: {
      tags: ['vaults'], summary: 'Deposit addresses of a vault wallet, paged (ts-sdk)', params: WalletParams, querystring: PagedQuery,
      response: { 200: Type.Object({ addresses: Type.Array(Address), paging: Type.Object({ before: Type.Optional(Type.String()), after: Type.Optional(Type.String()) }) }) },
    },
  }, async (request) => {
    const { asset, derived } = await walletAddress(userOf(request).workspace_id, request.params.vaultAccountId, request.params.assetId);
    // One address per account-based wallet (index 0): a single page, no cursors.
    return { addresses: [addressJson(asset, derived)], paging: {} };
  });

  app.get<{ Params: Static<typeof KeyParams>; Querystring: Static<typeof CompressedQuery> }>('/v1/vault/accounts/:vaultAccountId/:assetId/:change/:addressIndex/public_key_info', {
    config: { permission: 'read' },
    schema: { tags: ['vaults'], summary: 'Public key of a vault wallet address', params: KeyParams, querystring: CompressedQuery, response: { 200: PublicKeyInfoSchema } },
  }, async (request) => {
    const user = userOf(request);
    const vault = await findVault(app.db, user.workspace_id, request.params.vaultAccountId);
    const asset = app.assets.get(request.params.assetId);
    const path = bip44Path(asset.coinType, vault.id, Number(request.params.change), Number(request.params.addressIndex));
    return publicKeyInfo(await app.masterKeys.publicKeys(user.workspace_id), asset.algorithm, path, { compressed: request.query.compressed !== 'false' });
  });

  app.get<{ Querystring: Static<typeof RawKeyQuery> }>('/v1/vault/public_key_info', {
    config: { permission: 'read' },
    schema: { tags: ['vaults'], summary: 'Public key at a raw derivation path', querystring: RawKeyQuery, response: { 200: PublicKeyInfoSchema } },
  }, async (request) => {
    const user = userOf(request);
    const algorithm = parseAlgorithm(request.query.algorithm);
    const path = parseDerivationPathParam(request.query.derivationPath);
    return publicKeyInfo(await app.masterKeys.publicKeys(user.workspace_id), algorithm, path, { compressed: request.query.compressed !== 'false' });
  });
};


