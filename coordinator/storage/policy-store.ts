// TAP versions: a workspace's policy is the newest published document. Publishing adds a version;
// nothing is ever edited in place, so every recorded decision can name the version it used.
import { parsePolicy, type TapPolicy } from '../policy/index.js';
import type { Db } from './database.js';

export interface PublishedPolicy {
  version: number;
  policy: TapPolicy;
  publishedBy: string;
  publishedAt: number;
}

export async function currentPolicy(db: Db, workspaceId: string): Promise<PublishedPolicy | null> {
  const row = await db.selectFrom('policies').selectAll().where('workspace_id', '=', workspaceId).orderBy('version', 'desc').limit(1).executeTakeFirst();
  if (!row) return null;
  return { version: row.version, policy: parsePolicy(JSON.parse(row.document)), publishedBy: row.published_by, publishedAt: Number(row.published_at) };
}

/** Validates (PolicyValidationError with every issue) and stores the next version. */
export async function publishPolicy(db: Db, workspaceId: string, document: unknown, by: string): Promise<PublishedPolicy> {
  return db.transaction().execute((trx) => publishPolicyIn(trx, workspaceId, document, by));
}

/** publishPolicy inside a transaction the caller holds (a CCK-approved change applies in its report's). */
export async function publishPolicyIn(trx: Db, workspaceId: string, document: unknown, by: string): Promise<PublishedPolicy> {
  const policy = parsePolicy(document);
  const last = await trx.selectFrom('policies').select((eb) => eb.fn.max('version').as('v')).where('workspace_id', '=', workspaceId).executeTakeFirst();
  const version = (last?.v === null || last?.v === undefined ? 0 : Number(last.v)) + 1;
  const publishedAt = Date.now();
  await trx.insertInto('policies').values({ workspace_id: workspaceId, version, document: JSON.stringify(policy), published_by: by, published_at: publishedAt }).execute();
  return { version, policy, publishedBy: by, publishedAt };
}
