// One helper builds the whole coordinator for every route test: a fresh SQLite data folder, a
// workspace, API users with real RSA keys, the app listening on 127.0.0.1, and the two official
// Fireblocks SDKs pointed at it.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { FireblocksSDK } from 'fireblocks-sdk';
import { Fireblocks } from '@fireblocks/ts-sdk';
import { buildApp, type AppOptions } from '../../../coordinator/app.js';
import { MasterKey } from '../../../coordinator/secrets/master-key.js';
import { AssetCatalogue } from '../../../coordinator/assets/index.js';
import { migrate, openSqlite, type Db } from '../../../coordinator/storage/database.js';
import { createApiUser, createWorkspace } from '../../../coordinator/workspaces/workspaces.js';
import type { ApiUsersTable, WorkspacesTable } from '../../../coordinator/storage/schema.js';

export interface TestUser {
  row: ApiUsersTable;
  privateKeyPem: string;
  v5: FireblocksSDK;
  ts: Fireblocks;
}

export interface TestCoordinator {
  app: FastifyInstance;
  db: Db;
  baseUrl: string;
  dataDir: string;
  workspace: WorkspacesTable;
  /** Creates an API user of the workspace (real RSA-2048 key) with clients for both SDKs. */
  user(role: string, name?: string): Promise<TestUser>;
  close(): Promise<void>;
}

export function rsaKeyPair(bits = 2048): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export async function startCoordinator(opts: Partial<AppOptions> = {}): Promise<TestCoordinator> {
  const dataDir = mkdtempSync(join(tmpdir(), 'coordinator-test-'));
  const db = openSqlite(dataDir);
  try {
    await migrate(db);
    const app = await buildApp({ db, masterKey: MasterKey.fromBytes(randomBytes(32)), assets: new AssetCatalogue({ evmChainId: 31337 }), logger: false, ...opts });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const workspace = await createWorkspace(db, `test-${randomBytes(4).toString('hex')}`);
    return {
      app, db, baseUrl: address, dataDir, workspace,
      async user(role, name = `${role.toLowerCase()}-user`) {
        const keys = rsaKeyPair();
        const row = await createApiUser(db, { workspaceId: workspace.id, name, role, publicKeyPem: keys.publicKeyPem });
        return {
          row,
          privateKeyPem: keys.privateKeyPem,
          v5: new FireblocksSDK(keys.privateKeyPem, row.api_key, address, undefined, { anonymousPlatform: true }),
          ts: new Fireblocks({ apiKey: row.api_key, secretKey: keys.privateKeyPem, basePath: `${address}/v1`, additionalOptions: { isAnonymousPlatform: true } }),
        };
      },
      async close() {
        await app.close(); // destroys the db too
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await db.destroy().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
}

/** A request signed as the SDKs sign them, for routes of ours that no SDK method covers. */
export async function signedFetch(c: TestCoordinator, user: TestUser, method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const { SignJWT } = await import('jose');
  const { createHash, createPrivateKey, randomUUID } = await import('node:crypto');
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ uri: path, nonce: randomUUID(), iat: now, exp: now + 55, sub: user.row.api_key, bodyHash: createHash('sha256').update(text).digest('hex') })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(createPrivateKey(user.privateKeyPem));
  const res = await fetch(c.baseUrl + path, {
    method,
    headers: { 'x-api-key': user.row.api_key, authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...extraHeaders },
    body: body === undefined ? undefined : text,
  });
  const raw = await res.text();
  return { status: res.status, json: raw ? JSON.parse(raw) : null, headers: res.headers };
}
