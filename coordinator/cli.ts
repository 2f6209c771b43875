// The coordinator's command line (`coordinator <command>`, also `npm run coordinator --`): what a
// user does first (and `pairing-token`, what a co-signer's operator needs). Every command works on a data folder; `serve` runs the REST API on it. A bad
// argument prints one line and exits with 2; a failure prints one line and exits with 1.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { describeError, isCosignerError } from '../shared/errors.js';
import { createLogger } from '../shared/log.js';
import { AssetCatalogue } from './assets/index.js';
import { buildApp } from './app.js';
import { ROLES, isRole, roleAllows, type Permission } from './auth/permissions.js';
import { DEFAULTS } from './config.js';
import { loadMasterKey, openDatabase, type OpenOptions } from './open-coordinator.js';
import type { Db } from './storage/database.js';
import { currentPolicy, publishPolicy } from './storage/policy-store.js';
import { createTransaction } from './transactions/create.js';
import { MasterKeys } from './mpc/master-keys.js';
import { queueForSigning } from './mpc/signing-requests.js';
import { WorkQueue } from './work-queue/work-queue.js';
import { createEvmAdapter } from './chains/evm/evm-adapter.js';
import { KeyLockJournal } from './mpc/key-lock-journal.js';
import { createVaultAccount } from './routes/vault-accounts.js';
import { transactionJson } from './transactions/view.js';
import { createApiUser, createWorkspace, findWorkspace } from './workspaces/workspaces.js';
import { cosignerServiceKey } from './secrets/service-keys.js';
import { issuePairingToken } from './cosigners/pairing-tokens.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

class UsageError extends Error {}

const int = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
  return n;
};

function dataOpts(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data folder (database, default master key)', '.local/coordinator')
    .option('--master-key-file <file>', 'master key file (hex, mode 0600); default <data-dir>/master.key')
    .option('--master-key-env <name>', 'take the master key from this environment variable');
}

function openOpts(o: { dataDir: string; masterKeyFile?: string; masterKeyEnv?: string }): OpenOptions {
  return { dataDir: resolve(o.dataDir), masterKeyFile: o.masterKeyFile, masterKeyEnv: o.masterKeyEnv };
}

async function withDb<T>(o: { dataDir: string; masterKeyFile?: string; masterKeyEnv?: string }, fn: (db: Db) => Promise<T>): Promise<T> {
  loadMasterKey(openOpts(o)); // a wrong or unreadable key fails every command alike
  const db = await openDatabase(openOpts(o));
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

async function actingUser(db: Db, id: string, permission: Permission) {
  const u = await db.selectFrom('api_users').selectAll().where((eb) => eb.or([eb('id', '=', id), eb('api_key', '=', id)])).executeTakeFirst();
  if (!u) throw new UsageError(`no API user ${JSON.stringify(id)}`);
  if (!roleAllows(u.role, permission)) throw new UsageError(`API user ${u.name} (${u.role}) may not ${permission}`);
  return u;
}

async function workspaceOf(db: Db, idOrName: string) {
  const w = await findWorkspace(db, idOrName);
  if (!w) throw new UsageError(`no workspace ${JSON.stringify(idOrName)}`);
  return w;
}

function catalogue(o: { evmChainId: number; testToken?: string }): AssetCatalogue {
  return new AssetCatalogue({ evmChainId: o.evmChainId, testToken: o.testToken ? { contractAddress: o.testToken } : undefined });
}

export function program(io: CliIo): Command {
  const p = new Command('coordinator').description('self-hosted coordinator speaking the Fireblocks REST API subset')
    .exitOverride().configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) }).showHelpAfterError(false);

  dataOpts(p.command('serve').description('run the REST API'))
    .option('--host <host>', 'listen address', DEFAULTS.host)
    .option('--port <port>', 'listen port', int('--port', 0, 65535), DEFAULTS.port)
    .option('--evm-chain-id <id>', 'chain id of the EVM network', int('--evm-chain-id', 1, 2 ** 53 - 1), 31337)
    .option('--test-token <address>', 'contract address of the TTK_TEST ERC-20')
    .option('--evm-rpc-url <url>', 'JSON-RPC URL of the EVM node transfers are broadcast to (none: transfers stay QUEUED)')
    .option('--confirmations <n>', 'confirmations before a transfer is COMPLETED', int('--confirmations', 1, 1000), 3)
    .option('--public-url <url>', 'the URL co-signers reach this coordinator at (goes into pairing tokens)')
    .option('--attestation-root <pem-file>', 'trust anchor of co-signers\' attestation documents (default: AWS Nitro Root-G1), e.g. the NSM emulator\'s root.pem')
    .option('--allow-any-pcrs', 'let workspaces with no expected PCR0 pair any non-debug enclave (development only)')
    .action(async (o) => {
      if (o.publicUrl !== undefined) {
        try {
          new URL(o.publicUrl);
        } catch {
          throw new UsageError('--public-url must be an absolute URL');
        }
      }
      let attestationRoot: string | undefined;
      if (o.attestationRoot) {
        try {
          attestationRoot = readFileSync(o.attestationRoot, 'utf8');
        } catch {
          throw new UsageError(`${o.attestationRoot} cannot be read`);
        }
      }
      const log = createLogger('coordinator');
      const db = await openDatabase(openOpts(o));
      const chain = o.evmRpcUrl ? { adapter: createEvmAdapter({ rpcUrl: o.evmRpcUrl, chainId: o.evmChainId }), requiredConfirmations: o.confirmations } : undefined;
      const lockStore = KeyLockJournal.open(join(o.dataDir, 'mpc-key-locks.sqlite'));
      const app = await buildApp({
        db, masterKey: loadMasterKey(openOpts(o)), assets: catalogue(o), logger: log, chain,
        publicUrl: o.publicUrl, attestationRoot, allowAnyPcrs: o.allowAnyPcrs === true,
        mpc: { lockStore },
      });
      app.addHook('onClose', async () => lockStore.close());
      const url = await app.listen({ host: o.host, port: o.port });
      log.info({ url }, 'coordinator listening');
      const stop = (signal: string) => {
        log.info({ signal }, 'coordinator stopping (finishing requests in flight)');
        void app.close().finally(() => process.exit(0));
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      await new Promise(() => undefined);
    });

  const ws = p.command('workspace').description('workspaces');
  dataOpts(ws.command('create <name>').description('create a workspace')).action(async (name: string, o) => {
    const w = await withDb(o, (db) => createWorkspace(db, name));
    io.out(`workspace ${w.id} ${w.name}`);
  });

  const au = p.command('api-user').description('API users');
  dataOpts(au.command('create').description('create an API user: makes an RSA key pair (private key written 0600) or takes a CSR / public key'))
    .requiredOption('--workspace <id|name>', 'its workspace')
    .requiredOption('--name <name>', 'its name')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--csr <file>', 'a PEM certificate signing request')
    .option('--public-key <file>', 'a PEM RSA public key')
    .option('--out-dir <dir>', 'where to write a new key pair (default <data-dir>/keys)')
    .action(async (o) => {
      if (o.csr && o.publicKey) throw new UsageError('give --csr or --public-key, not both');
      if (!isRole(o.role)) throw new UsageError(`unknown role ${JSON.stringify(String(o.role).slice(0, 32))} (${ROLES.join(', ')})`);
      await withDb(o, async (db) => {
        const w = await workspaceOf(db, o.workspace);
        let privateKeyFile: string | undefined;
        let publicKeyPem: string | undefined;
        if (!o.csr && !o.publicKey) {
          const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
          publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
          const dir = resolve(o.outDir ?? join(o.dataDir, 'keys'));
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          privateKeyFile = join(dir, `${o.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.key`);
          writeFileSync(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
        } else if (o.publicKey) publicKeyPem = readFileSync(o.publicKey, 'utf8');
        const u = await createApiUser(db, { workspaceId: w.id, name: o.name, role: o.role, csrPem: o.csr ? readFileSync(o.csr, 'utf8') : undefined, publicKeyPem });
        io.out(`api user ${u.id} ${u.name} ${u.role}`);
        io.out(`api key ${u.api_key}`);
        if (privateKeyFile) io.out(`private key ${privateKeyFile}`);
      });
    });

  const vault = p.command('vault').description('vault accounts');
  dataOpts(vault.command('create').description('create a vault account')).requiredOption('--as <api-user>', 'acting API user (id or API key)').requiredOption('--name <name>', 'its name')
    .action(async (o) => {
      await withDb(o, async (db) => {
        const u = await actingUser(db, o.as, 'vault:write');
        const v = await createVaultAccount(db, u.workspace_id, { name: o.name });
        io.out(`vault account ${v.id} ${v.name}`);
      });
    });

  const tx = p.command('tx').description('transactions');
  dataOpts(tx.command('create').description('create a transaction from a JSON request (as POST /v1/transactions takes it)'))
    .requiredOption('--as <api-user>', 'acting API user (id or API key)').requiredOption('--request <file|json>', 'the request, a file or inline JSON')
    .option('--evm-chain-id <id>', 'chain id of the EVM network', int('--evm-chain-id', 1, 2 ** 53 - 1), 31337).option('--test-token <address>', 'TTK_TEST contract')
    .action(async (o) => {
      const text = o.request.trim().startsWith('{') ? o.request : readFileSync(o.request, 'utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new UsageError('--request is not JSON');
      }
      await withDb(o, async (db) => {
        const u = await actingUser(db, o.as, 'tx:create');
        const assets = catalogue(o);
        const masterKeys = new MasterKeys(db, loadMasterKey(openOpts(o)));
        // A running server picks the SIGN item up at its co-signers' next poll (wake-ups are per process).
        const row = await createTransaction(db, assets, u, body as never, { queued: (trx, r) => queueForSigning(trx, new WorkQueue(db), masterKeys, assets, r) });
        io.out(`transaction ${row.id} ${row.status}`);
      });
    });
  dataOpts(tx.command('show <txId>').description('print a transaction as GET /v1/transactions/{id} returns it'))
    .option('--evm-chain-id <id>', 'chain id', int('--evm-chain-id', 1, 2 ** 53 - 1), 31337).option('--test-token <address>', 'TTK_TEST contract')
    .action(async (txId: string, o) => {
      await withDb(o, async (db) => {
        const row = await db.selectFrom('transactions').selectAll().where('id', '=', txId).executeTakeFirst();
        if (!row) throw new UsageError(`no transaction ${JSON.stringify(txId)}`);
        const votes = await db.selectFrom('approvals').select(['user_id', 'vote']).where('tx_id', '=', txId).orderBy('at').execute();
        io.out(JSON.stringify(transactionJson(row, catalogue(o), votes.map((v) => ({ user: v.user_id, vote: v.vote as 'APPROVE' | 'REJECT' }))), null, 2));
      });
    });

  const policy = p.command('policy').description('the Transaction Authorization Policy');
  dataOpts(policy.command('show').description('print the current policy')).requiredOption('--workspace <id|name>', 'workspace').action(async (o) => {
    await withDb(o, async (db) => {
      const cur = await currentPolicy(db, (await workspaceOf(db, o.workspace)).id);
      io.out(cur ? JSON.stringify({ version: cur.version, publishedBy: cur.publishedBy, publishedAt: new Date(cur.publishedAt).toISOString(), ...cur.policy }, null, 2) : 'no policy published: every transaction is blocked');
    });
  });
  dataOpts(policy.command('publish <file>').description('publish a policy document as the next version')).requiredOption('--as <api-user>', 'acting API user').action(async (file: string, o) => {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new UsageError(`${file} is not a readable JSON file`);
    }
    await withDb(o, async (db) => {
      const u = await actingUser(db, o.as, 'policy:publish');
      const pub = await publishPolicy(db, u.workspace_id, doc, u.id);
      io.out(`policy version ${pub.version} published (${pub.policy.rules.length} rules)`);
    });
  });
  dataOpts(p.command('pairing-token').description('issue a one-time pairing token for an API user (its co-signer pairs with it)'))
    .requiredOption('--workspace <id|name>', 'workspace')
    .requiredOption('--user <id|api-key>', 'the API user the co-signer will serve')
    .option('--ttl <seconds>', 'lifetime in seconds (default 24 h)', int('--ttl', 60, 30 * 24 * 3600))
    .option('--url <url>', 'the URL co-signers reach this coordinator at', `http://${DEFAULTS.host}:${DEFAULTS.port}`)
    .action(async (o) => {
      try {
        new URL(o.url);
      } catch {
        throw new UsageError('--url must be an absolute URL');
      }
      const masterKey = loadMasterKey(openOpts(o));
      await withDb(o, async (db) => {
        const w = await workspaceOf(db, o.workspace);
        const key = await cosignerServiceKey(db, masterKey);
        let t;
        try {
          t = await issuePairingToken(db, { workspaceId: w.id, user: o.user, url: o.url, serviceKeySha256: key.sha256, createdBy: 'cli', ttlMs: o.ttl !== undefined ? o.ttl * 1000 : undefined });
        } catch (e) {
          if (isCosignerError(e, 'NOT_FOUND') || isCosignerError(e, 'CONFLICT')) throw new UsageError(`${e.message}: ${JSON.stringify(String(o.user).slice(0, 64))}`);
          throw e;
        }
        io.out(`pairing token ${t.tokenId} for api user ${t.userId}, expires ${new Date(t.expiresAt).toISOString()}`);
        io.out(t.pairingToken);
      });
    });
  return p;
}

/** Runs one command line; resolves with the exit code. */
export async function runCoordinatorCli(argv: string[], io: CliIo): Promise<number> {
  try {
    await program(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return 0;
      return 2; // commander has printed its one line
    }
    if (e instanceof UsageError || isCosignerError(e, 'CONFIG_INVALID')) {
      io.err(`coordinator: ${e.message}`);
      return 2;
    }
    io.err(`coordinator: ${isCosignerError(e) ? describeError(e) : (e as Error).message ?? String(e)}`);
    return 1;
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(resolve(entry)).href) {
  const io: CliIo = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };
  void runCoordinatorCli(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
