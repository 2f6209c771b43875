// Workspaces and their API users: what `coordinator workspace create` and `api-user create` do,
// and what the management routes read.
import { randomUUID } from 'node:crypto';
import { CosignerError } from '../../shared/errors.js';
import { isRole } from '../auth/permissions.js';
import type { Db } from '../storage/database.js';
import type { ApiUsersTable, WorkspacesTable } from '../storage/schema.js';
import { publicKeyFromCsr, publicKeyFromPem } from './api-user-key.js';

export async function createWorkspace(db: Db, name: string): Promise<WorkspacesTable> {
  if (!name || name.length > 128) throw new CosignerError('CONFIG_INVALID', 'a workspace name is 1..128 characters');
  const row = { id: randomUUID(), name, created_at: Date.now() };
  await db.insertInto('workspaces').values(row).execute();
  return row;
}

export async function findWorkspace(db: Db, idOrName: string): Promise<WorkspacesTable | undefined> {
  return db.selectFrom('workspaces').selectAll().where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)])).executeTakeFirst();
}

export interface NewApiUser {
  workspaceId: string;
  name: string;
  role: string;
  /** Exactly one of the two. */
  csrPem?: string;
  publicKeyPem?: string;
}

export async function createApiUser(db: Db, u: NewApiUser): Promise<ApiUsersTable> {
  if (!u.name || u.name.length > 128) throw new CosignerError('CONFIG_INVALID', 'an API user name is 1..128 characters');
  if (!isRole(u.role)) throw new CosignerError('CONFIG_INVALID', `unknown role ${JSON.stringify(String(u.role).slice(0, 32))}`);
  if ((u.csrPem === undefined) === (u.publicKeyPem === undefined)) throw new CosignerError('CONFIG_INVALID', 'give either a CSR or a public key');
  const public_key_pem = u.csrPem !== undefined ? publicKeyFromCsr(u.csrPem) : publicKeyFromPem(u.publicKeyPem!);
  const row: ApiUsersTable = { id: randomUUID(), workspace_id: u.workspaceId, name: u.name, role: u.role, api_key: randomUUID(), public_key_pem, enabled: 1, created_at: Date.now() };
  await db.insertInto('api_users').values(row).execute();
  return row;
}
