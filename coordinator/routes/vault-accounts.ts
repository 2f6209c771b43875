// Vault accounts (reference §2 rows 1–3): numeric ids that are the BIP44 account index, so a
// vault's addresses are [44, coin, id, change, index]. Ids are given out in order per workspace.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { sql } from 'kysely';
import { ApiCode, badRequest, notFound } from '../api-error.js';
import { userOf } from '../plugins/authenticate.js';
import { isUniqueViolation } from '../plugins/authenticate.js';
import type { Db } from '../storage/database.js';
import type { VaultAccountsTable } from '../storage/schema.js';

/** The largest BIP44 account index (non-hardened derivation below 2^31). */
export const MAX_VAULT_ID = 0x7fffffff;

const CreateVault = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    hiddenOnUI: Type.Optional(Type.Boolean()),
    customerRefId: Type.Optional(Type.String({ maxLength: 256 })),
    autoFuel: Type.Optional(Type.Boolean()),
    vaultType: Type.Optional(Type.Literal('MPC')),
    autoAssign: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const VaultIdParam = Type.String({ pattern: '^(0|[1-9][0-9]{0,9})$', description: 'vault account id (the BIP44 account index)' });

const VaultAsset = Type.Object({ id: Type.String(), total: Type.String(), balance: Type.String(), available: Type.String(), pending: Type.String(), frozen: Type.String(), lockedAmount: Type.String() });
const VaultAccount = Type.Object({
  id: Type.String(),
  name: Type.String(),
  assets: Type.Array(VaultAsset),
  hiddenOnUI: Type.Boolean(),
  customerRefId: Type.Optional(Type.String()),
  autoFuel: Type.Boolean(),
});
type VaultAccountJson = Static<typeof VaultAccount>;

export function parseVaultId(id: string): number {
  const n = Number(id);
  if (!/^(0|[1-9][0-9]*)$/.test(id) || n > MAX_VAULT_ID) throw notFound(`Vault account ${JSON.stringify(id.slice(0, 32))} not found`, ApiCode.UNKNOWN_VAULT_ACCOUNT);
  return n;
}

export async function findVault(db: Db, workspaceId: string, id: string): Promise<VaultAccountsTable> {
  const n = parseVaultId(id);
  const v = await db.selectFrom('vault_accounts').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', n).executeTakeFirst();
  if (!v) throw notFound(`Vault account ${n} not found`, ApiCode.UNKNOWN_VAULT_ACCOUNT);
  return v;
}

async function toJson(db: Db, v: VaultAccountsTable): Promise<VaultAccountJson> {
  const assets = await db.selectFrom('vault_assets').select('asset_id').where('workspace_id', '=', v.workspace_id).where('vault_account_id', '=', v.id).orderBy('asset_id').execute();
  return {
    id: String(v.id),
    name: v.name,
    // Balances come from the chain adapters when a wallet is read one by one (GET …/{assetId}).
    assets: assets.map((a) => ({ id: a.asset_id, total: '0', balance: '0', available: '0', pending: '0', frozen: '0', lockedAmount: '0' })),
    hiddenOnUI: v.hidden_on_ui === 1,
    ...(v.customer_ref_id !== null ? { customerRefId: v.customer_ref_id } : {}),
    autoFuel: v.auto_fuel === 1,
  };
}

export const vaultAccountRoutes: FastifyPluginAsync = async (app) => {
  app.post<{ Body: Static<typeof CreateVault> }>('/v1/vault/accounts', {
    config: { permission: 'vault:write' },
    schema: { tags: ['vaults'], summary: 'Create a vault account', body: CreateVault, response: { 200: VaultAccount } },
  }, async (request) => {
    const user = userOf(request);
    const body = request.body ?? {};
    const row = await createVaultAccount(app.db, user.workspace_id, body);
    request.log.info({ vaultAccountId: row.id, by: user.id }, 'vault account created');
    return toJson(app.db, row);
  });

  app.get<{ Params: { vaultAccountId: string } }>('/v1/vault/accounts/:vaultAccountId', {
    config: { permission: 'read' },
    schema: { tags: ['vaults'], summary: 'Get a vault account', params: Type.Object({ vaultAccountId: Type.String({ maxLength: 64 }) }), response: { 200: VaultAccount } },
  }, async (request) => toJson(app.db, await findVault(app.db, userOf(request).workspace_id, request.params.vaultAccountId)));

  const PagedQuery = Type.Object({
    namePrefix: Type.Optional(Type.String({ maxLength: 128 })),
    nameSuffix: Type.Optional(Type.String({ maxLength: 128 })),
    assetId: Type.Optional(Type.String({ maxLength: 64 })),
    minAmountThreshold: Type.Optional(Type.String({ maxLength: 64 })),
    orderBy: Type.Optional(Type.Union([Type.Literal('ASC'), Type.Literal('DESC')])),
    before: Type.Optional(Type.String({ maxLength: 64 })),
    after: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  });
  app.get<{ Querystring: Static<typeof PagedQuery> }>('/v1/vault/accounts_paged', {
    config: { permission: 'read' },
    schema: {
      tags: ['vaults'], summary: 'List vault accounts, paged', querystring: PagedQuery,
      response: { 200: Type.Object({ accounts: Type.Array(VaultAccount), paging: Type.Object({ before: Type.Optional(Type.String()), after: Type.Optional(Type.String()) }) }) },
    },
  }, async (request) => {
    const user = userOf(request);
    const q = request.query;
    const limit = q.limit ?? 200;
    const desc = q.orderBy === 'DESC';
    const cursor = (c: string | undefined) => (c === undefined ? undefined : /^[0-9]{1,10}$/.test(c) ? Number(c) : (() => { throw badRequest('Invalid paging cursor'); })());
    const after = cursor(q.after);
    const before = cursor(q.before);
    let query = app.db.selectFrom('vault_accounts').selectAll().where('workspace_id', '=', user.workspace_id);
    // LIKE … ESCAPE is standard SQL: SQLite and PostgreSQL read it the same way.
    if (q.namePrefix) query = query.where(sql<boolean>`name like ${`${escapeLike(q.namePrefix)}%`} escape '\'`);
    if (q.nameSuffix) query = query.where(sql<boolean>`name like ${`%${escapeLike(q.nameSuffix)}`} escape '\'`);
    if (q.assetId) query = query.where('id', 'in', app.db.selectFrom('vault_assets').select('vault_account_id').where('workspace_id', '=', user.workspace_id).where('asset_id', '=', q.assetId));
    if (after !== undefined) query = query.where('id', desc ? '<' : '>', after);
    if (before !== undefined) query = query.where('id', desc ? '>' : '<', before);
    const rows = await query.orderBy('id', desc ? 'desc' : 'asc').limit(limit + 1).execute();
    const page = rows.slice(0, limit);
    const paging: { before?: string; after?: string } = {};
    if (rows.length > limit) paging.after = String(page[page.length - 1]!.id);
    if ((after !== undefined || before !== undefined) && page.length > 0) paging.before = String(page[0]!.id);
    return { accounts: await Promise.all(page.map((v) => toJson(app.db, v))), paging };
  });
};

/** The next free id of the workspace; two concurrent creates race on the primary key and one retries. */
export async function createVaultAccount(db: Db, workspaceId: string, body: { name?: string; customerRefId?: string; hiddenOnUI?: boolean; autoFuel?: boolean }): Promise<VaultAccountsTable> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => {
        const last = await trx.selectFrom('vault_accounts').select((eb) => eb.fn.max('id').as('max')).where('workspace_id', '=', workspaceId).executeTakeFirst();
        const id = last?.max === null || last?.max === undefined ? 0 : Number(last.max) + 1;
        if (id > MAX_VAULT_ID) throw badRequest('No vault account ids are left in this workspace');
        const r: VaultAccountsTable = {
          workspace_id: workspaceId, id, name: body.name ?? `Vault ${id}`, customer_ref_id: body.customerRefId ?? null,
          hidden_on_ui: body.hiddenOnUI ? 1 : 0, auto_fuel: body.autoFuel ? 1 : 0, created_at: Date.now(),
        };
        await trx.insertInto('vault_accounts').values(r).execute();
        return r;
      });
    } catch (e) {
      if (!isUniqueViolation(e) || attempt >= 5) throw e;
    }
  }
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
