// The local stack as separate processes, exactly as `npm start` runs it and as the integration
// tests drive it: NSM emulator, KMS emulator (TLS), enclave on the loopback vsock emulator, parent.
// Each process is the real entry point (emulators/*/main.ts, enclave/main.ts, parent/main.ts);
// this file only launches them, waits for what they print, and stops them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent as HttpsAgent } from 'node:https';
import { KMSClient, CreateKeyCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export type Component = 'nsm' | 'kms' | 'enclave' | 'parent' | 'devnet' | 'coordinator' | 'callback';

export interface StackOptions {
  /** Repository root (where enclave/, parent/, emulators/ live). */
  root: string;
  /** Folder for everything the stack keeps: PKI, KMS keys, sealed state, credentials. */
  workDir: string;
  kmsPort: number;
  enclaveCid?: number;
  /** Every output line of every process (JSON log lines are passed as they are). */
  onLine?: (component: Component, line: string) => void;
}

interface Running {
  proc: ChildProcess;
  /** Set on 'close': the process exited AND its output has been read to the end. */
  closed: boolean;
  lines: string[];
  exited: Promise<number | null>;
}

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
export const ADMIN_ROLE = `arn:aws:iam::${ACCOUNT}:role/cosigner-key-admin`;
export const PARENT_ROLE = `arn:aws:iam::${ACCOUNT}:role/cosigner-parent`;

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export class LocalStack {
  readonly root: string;
  readonly workDir: string;
  /** Unix sockets need short paths (sun_path is 108 bytes), so they live under the temp folder. */
  readonly socketDir: string;
  readonly enclaveCid: number;
  private readonly running = new Map<Component, Running>();
  private readonly waiters = new Set<() => void>();
  pcr0 = '';
  keyId = '';

  constructor(private readonly opts: StackOptions) {
    this.root = resolve(opts.root);
    this.workDir = resolve(opts.workDir);
    this.enclaveCid = opts.enclaveCid ?? 16;
    const tag = createHash('sha256').update(this.workDir).digest('hex').slice(0, 12);
    this.socketDir = join(tmpdir(), `cosigner-${tag}`);
    mkdirSync(this.workDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.socketDir, { recursive: true, mode: 0o700 });
  }

  get kmsEndpoint(): string {
    return `https://127.0.0.1:${this.opts.kmsPort}`;
  }
  get nsmRootPem(): string {
    return join(this.workDir, 'nsm', 'root.pem');
  }
  get kmsCaPem(): string {
    return join(this.workDir, 'kms-tls', 'kms-tls.pem');
  }
  get sealedFile(): string {
    return join(this.workDir, 'parent', 'sealed-state.cbor');
  }

  /**
   * Development credentials the KMS emulator accepts (made once, kept in the work folder): two
   * principals as on AWS. The key administrator may create keys and change their policies but not
   * use them; the parent instance role may only read the key's facts and — through the key
   * policy's attestation condition, so in effect only the enclave — generate and decrypt data keys.
   * Its identity policy has no PutKeyPolicy (README "The sealing key's policy").
   */
  private localCredentials(): { admin: LocalCredentials; parent: LocalCredentials } {
    const file = join(this.workDir, 'credentials.json');
    type Entry = LocalCredentials & { principalArn: string; identityPolicy: unknown };
    let entries: Entry[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Entry[]) : [];
    const find = (arn: string) => entries.find((e) => e.principalArn === arn);
    if (!find(ADMIN_ROLE) || !find(PARENT_ROLE)) {
      // Made by an older version (one all-powerful principal) or not yet made: start again.
      const key = () => ({ accessKeyId: 'AKIA' + randomBytes(12).toString('hex').toUpperCase().slice(0, 16), secretAccessKey: randomBytes(30).toString('base64') });
      entries = [
        { ...key(), principalArn: ADMIN_ROLE, identityPolicy: { Statement: [{ Effect: 'Allow', Action: ['kms:CreateKey', 'kms:PutKeyPolicy', 'kms:GetKeyPolicy', 'kms:DescribeKey', 'kms:ListGrants'], Resource: '*' }] } },
        { ...key(), principalArn: PARENT_ROLE, identityPolicy: { Statement: [{ Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:GetKeyPolicy', 'kms:DescribeKey', 'kms:ListGrants'], Resource: '*' }] } },
      ];
      writeFileSync(file, JSON.stringify(entries, null, 2), { mode: 0o600 });
    }
    const pick = (e: Entry) => ({ accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey });
    return { admin: pick(find(ADMIN_ROLE)!), parent: pick(find(PARENT_ROLE)!) };
  }

  /** The parent instance role's credentials (what the parent hands to the enclave). */
  credentials(): LocalCredentials {
    return this.localCredentials().parent;
  }

  /** The key administrator's credentials (the operator's, never the parent's). */
  adminCredentials(): LocalCredentials {
    return this.localCredentials().admin;
  }

  private launch(component: Component, script: string, args: string[], env: NodeJS.ProcessEnv = {}): Running {
    if (this.running.has(component)) throw new Error(`${component} is already running`);
    const proc = spawn(process.execPath, ['--import', 'tsx', join(this.root, script), ...args], {
      cwd: this.root,
      // The SDK's notice that releases after January 2027 need Node 22 is not about this run.
      env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r: Running = {
      proc,
      closed: false,
      lines: [],
      exited: new Promise((res) =>
        proc.once('close', (code) => {
          r.closed = true;
          res(code);
        }),
      ),
    };
    for (const stream of [proc.stdout!, proc.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        r.lines.push(line);
        this.opts.onLine?.(component, line);
        for (const w of [...this.waiters]) w();
      });
    }
    void r.exited.then(() => {
      if (this.running.get(component) === r) this.running.delete(component);
      for (const w of [...this.waiters]) w();
    });
    this.running.set(component, r);
    return r;
  }

  /** Resolves with the first line of `component` (since `from`) matching `re`; rejects on timeout or exit. */
  waitFor(component: Component, re: RegExp, timeoutMs = 60_000, from = 0): Promise<string> {
    const r = this.running.get(component);
    if (!r) return Promise.reject(new Error(`${component} is not running`));
    return new Promise((resolveLine, reject) => {
      const check = () => {
        const hit = r.lines.slice(from).find((l) => re.test(l));
        if (hit !== undefined) return done(() => resolveLine(hit));
        if (r.closed) return done(() => reject(new Error(`${component} exited (${r.proc.exitCode ?? r.proc.signalCode}) before printing ${re}:\n${r.lines.slice(-20).join('\n')}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${component} to print ${re}:\n${r.lines.slice(-20).join('\n')}`))), timeoutMs);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      this.waiters.add(check);
      check();
    });
  }

  lineCount(component: Component): number {
    return this.running.get(component)?.lines.length ?? 0;
  }

  output(component: Component): string[] {
    return [...(this.running.get(component)?.lines ?? [])];
  }

  async startNsm(extraArgs: string[] = []): Promise<void> {
    this.launch('nsm', 'emulators/nsm/main.ts', [
      '--state-dir', join(this.workDir, 'nsm'),
      '--socket', join(this.socketDir, 'nsm.sock'),
      '--bundle-root', this.root,
      ...extraArgs,
    ]);
    const line = await this.waitFor('nsm', /^PCR0: [0-9a-f]{96}$/);
    this.pcr0 = line.slice('PCR0: '.length);
  }

  async startKms(): Promise<void> {
    this.credentials();
    this.launch('kms', 'emulators/kms/main.ts', [
      '--port', String(this.opts.kmsPort),
      '--host', '127.0.0.1',
      '--state', join(this.workDir, 'kms', 'keys.json'),
      '--attestation-root', this.nsmRootPem,
      '--region', REGION,
      '--account', ACCOUNT,
      '--credentials', join(this.workDir, 'credentials.json'),
      '--tls-self-signed', join(this.workDir, 'kms-tls'),
    ]);
    mkdirSync(join(this.workDir, 'kms'), { recursive: true });
    await this.waitFor('kms', /KMS emulator listening/);
  }

  /** The operator's KMS client (the enclave has its own, over vsock). */
  kmsAdmin(): KMSClient {
    return this.kmsClientAs(this.adminCredentials());
  }

  /** A KMS client acting with the given credentials (tests play the parent with this). */
  kmsClientAs(credentials: LocalCredentials): KMSClient {
    return new KMSClient({
      region: REGION,
      endpoint: this.kmsEndpoint,
      credentials,
      requestHandler: new NodeHttpHandler({ httpsAgent: new HttpsAgent({ ca: readFileSync(this.kmsCaPem, 'utf8') }) }),
    });
  }

  /**
   * The key policy an operator sets (DESIGN.md "KMS sealing"): the administrator role manages the
   * key but cannot use it; the parent role may read its facts (the enclave checks them on every
   * boot, with the parent's credentials) and GenerateDataKey / Decrypt only for a Recipient whose
   * attested image is `pcr0`. Nobody else, and the parent never PutKeyPolicy.
   */
  static keyPolicy(pcr0: string): string {
    return JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'KeyAdministration',
          Effect: 'Allow',
          Principal: { AWS: ADMIN_ROLE },
          Action: ['kms:GetKeyPolicy', 'kms:PutKeyPolicy', 'kms:DescribeKey', 'kms:ListGrants'],
          Resource: '*',
        },
        {
          Sid: 'ParentReadsKeyFacts',
          Effect: 'Allow',
          Principal: { AWS: PARENT_ROLE },
          Action: ['kms:GetKeyPolicy', 'kms:DescribeKey', 'kms:ListGrants'],
          Resource: '*',
        },
        {
          Sid: 'EnclaveOnly',
          Effect: 'Allow',
          Principal: { AWS: PARENT_ROLE },
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Resource: '*',
          Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': pcr0 } },
        },
      ],
    });
  }

  /**
   * Make (first run) or re-point (later runs) the sealing key at `pcr0`. Locally the policy
   * follows the code you run; on AWS the operator sets it per release (or pins PCR8 of a signed
   * image, which survives upgrades).
   */
  async ensureKey(pcr0 = this.pcr0): Promise<string> {
    const file = join(this.workDir, 'kms-key-id');
    const kms = this.kmsAdmin();
    try {
      if (existsSync(file)) {
        this.keyId = readFileSync(file, 'utf8').trim();
        await kms.send(new PutKeyPolicyCommand({ KeyId: this.keyId, PolicyName: 'default', Policy: LocalStack.keyPolicy(pcr0) }));
      } else {
        const out = await kms.send(new CreateKeyCommand({ Description: 'co-signer sealed state (local)', Policy: LocalStack.keyPolicy(pcr0) }));
        this.keyId = out.KeyMetadata!.Arn!;
        writeFileSync(file, this.keyId + '\n');
      }
    } finally {
      kms.destroy();
    }
    return this.keyId;
  }

  startEnclave(extraArgs: string[] = []): void {
    this.launch('enclave', 'enclave/main.ts', [
      '--transport', 'loopback',
      '--loopback-dir', this.socketDir,
      '--cid', String(this.enclaveCid),
      '--nsm-socket', join(this.socketDir, 'nsm.sock'),
      '--kms-region', REGION,
      '--kms-key-arn', this.keyId,
      '--kms-endpoint', this.kmsEndpoint,
      '--kms-tls-ca', this.kmsCaPem,
      ...extraArgs,
    ]);
  }

  startParent(extraArgs: string[] = []): void {
    const c = this.credentials();
    mkdirSync(join(this.workDir, 'parent'), { recursive: true, mode: 0o700 });
    this.launch(
      'parent',
      'parent/main.ts',
      [
        '--transport', 'loopback',
        '--loopback-dir', this.socketDir,
        '--enclave-cid', String(this.enclaveCid),
        '--kms-region', REGION,
        '--kms-endpoint', this.kmsEndpoint,
        '--kms-allow', `127.0.0.1:${this.opts.kmsPort}`,
        '--state-dir', join(this.workDir, 'parent'),
        '--attestation-root', this.nsmRootPem,
        '--credentials', 'env',
        ...extraArgs,
      ],
      { AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey },
    );
  }

  isRunning(component: Component): boolean {
    return this.running.has(component);
  }

  /** Stop one process (SIGTERM, or SIGKILL to simulate a crash) and wait for it to exit. */
  async stopProcess(component: Component, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const r = this.running.get(component);
    if (!r) return;
    r.proc.kill(signal);
    const timer = setTimeout(() => r.proc.kill('SIGKILL'), 10_000);
    await r.exited;
    clearTimeout(timer);
  }

  /**
   * The local EVM devnet (Hardhat, in memory: a new chain each start) with its test token, mining a
   * block every second so that confirmations grow; returns what the coordinator needs.
   */
  async startDevnet(port: number): Promise<{ rpcUrl: string; chainId: number; devAccount: `0x${string}`; token: { address: string; decimals: number } }> {
    this.launch('devnet', 'scripts/devnet/main.ts', ['--port', String(port), '--block-interval-ms', '1000', '--data-dir', join(this.workDir, 'devnet')]);
    await this.waitFor('devnet', /"rpcUrl"/, 120_000);
    const line = this.output('devnet').find((l) => l.includes('"rpcUrl"'))!;
    return JSON.parse(line) as { rpcUrl: string; chainId: number; devAccount: `0x${string}`; token: { address: string; decimals: number } };
  }

  /**
   * The coordinator on its own data folder, with a workspace and an ADMIN API user made on the
   * first run (the CLI's own commands); returns what an SDK user needs to reach it.
   */
  async startCoordinator(port: number, chain?: { rpcUrl: string; chainId: number; token: { address: string } }): Promise<{ baseUrl: string; apiKey: string; privateKeyFile: string }> {
    const dataDir = join(this.workDir, 'coordinator');
    const adminFile = join(dataDir, 'admin-user.json');
    if (!existsSync(adminFile)) {
      const { runCoordinatorCli } = await import('../coordinator/cli.js');
      const lines: string[] = [];
      const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
      if (await runCoordinatorCli(['workspace', 'create', 'local', '--data-dir', dataDir], io) !== 0) throw new Error(`coordinator workspace create failed: ${lines.join('; ')}`);
      if (await runCoordinatorCli(['api-user', 'create', '--workspace', 'local', '--name', 'admin', '--role', 'ADMIN', '--data-dir', dataDir], io) !== 0) throw new Error(`coordinator api-user create failed: ${lines.join('; ')}`);
      const apiKey = lines.map((l) => /^api key (\S+)$/.exec(l)?.[1]).find(Boolean)!;
      const privateKeyFile = lines.map((l) => /^private key (\S+)$/.exec(l)?.[1]).find(Boolean)!;
      writeFileSync(adminFile, JSON.stringify({ apiKey, privateKeyFile }, null, 2) + '\n', { mode: 0o600 });
    }
    const admin = JSON.parse(readFileSync(adminFile, 'utf8')) as { apiKey: string; privateKeyFile: string };
    const chainArgs = chain ? ['--evm-rpc-url', chain.rpcUrl, '--evm-chain-id', String(chain.chainId), '--test-token', chain.token.address, '--confirmations', '2'] : [];
    // Co-signers of the local stack attest under the NSM emulator's root; no workspace sets its PCRs here.
    const attestation = existsSync(this.nsmRootPem) ? ['--attestation-root', this.nsmRootPem, '--allow-any-pcrs'] : [];
    this.launch('coordinator', 'coordinator/cli.ts', ['serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', String(port), '--public-url', `http://127.0.0.1:${port}`, ...attestation, ...chainArgs]);
    await this.waitFor('coordinator', /coordinator listening/);
    return { baseUrl: `http://127.0.0.1:${port}`, ...admin };
  }

  get coordinatorDataDir(): string {
    return join(this.workDir, 'coordinator');
  }

  /**
   * The reference callback handler (callback-handler/) as its own process, as a customer runs it:
   * its own RSA key, the co-signer's public key from `cosigner print-public-key`, and rules — ETH
   * transfers up to 1 ETH (amounts are in wei), RAW signings (amount 0) — anything else rejected.
   */
  async startCallbackHandler(port: number): Promise<{ url: string; publicKeyFile: string }> {
    const dir = join(this.workDir, 'callback-handler');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { runCli } = await import('../parent/cli.js');
    const pem: string[] = [];
    if (await runCli(['print-public-key', '--state-dir', this.parentStateDir], { stdout: (l) => pem.push(l), stderr: (l) => pem.push(l) }) !== 0) throw new Error(`cosigner print-public-key failed: ${pem.join('; ')}`);
    writeFileSync(join(dir, 'cosigner.pub'), pem.join('\n') + '\n');
    const key = join(dir, 'handler.key');
    const publicKeyFile = join(dir, 'handler.pub');
    if (!existsSync(key)) {
      const { generateKeyPairSync } = await import('node:crypto');
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writeFileSync(key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
    }
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ port, host: '127.0.0.1', basePath: '/callback', privateKeyFile: 'handler.key', cosignerPublicKeyFile: 'cosigner.pub', rules: { limits: { ETH_TEST5: '1000000000000000000', '*': '0' } } }, null, 2) + '\n');
    this.launch('callback', 'callback-handler/main.ts', ['--config', config]);
    const line = await this.waitFor('callback', /"listening"/, 60_000);
    return { url: (JSON.parse(line) as { listening: string }).listening, publicKeyFile };
  }

  /** The parent's state folder (sealed file, pairing records, status). */
  get parentStateDir(): string {
    return join(this.workDir, 'parent');
  }

  /**
   * Pairs the co-signer with the coordinator's workspace for its ADMIN API user, as an operator
   * would: a pairing token from the coordinator's CLI, then `cosigner setup <token>` against the
   * running parent daemon. Nothing to do when the enclave already holds an active pairing.
   */
  async pairCosigner(coordinator: { baseUrl: string; apiKey: string }, callback?: { url: string; publicKeyFile: string }): Promise<{ paired: boolean; lines: string[] }> {
    const status = join(this.parentStateDir, 'status.json');
    const deadline = Date.now() + 60_000;
    while (!existsSync(status) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (existsSync(status) && (JSON.parse(readFileSync(status, 'utf8')) as { pairings: Array<{ status: string }> }).pairings.some((p) => p.status === 'active')) {
      return { paired: false, lines: ['already paired'] };
    }
    const { runCoordinatorCli } = await import('../coordinator/cli.js');
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    const dataDir = join(this.workDir, 'coordinator');
    if (await runCoordinatorCli(['pairing-token', '--workspace', 'local', '--user', coordinator.apiKey, '--url', coordinator.baseUrl, '--data-dir', dataDir], io) !== 0) {
      throw new Error(`coordinator pairing-token failed: ${lines.join('; ')}`);
    }
    const token = lines[lines.length - 1]!;
    const { runCli } = await import('../parent/cli.js');
    const out: string[] = [];
    const cb = callback ? ['--callback-url', callback.url, '--callback-public-key', callback.publicKeyFile, '--allow-plain-http-callback'] : [];
    const code = await runCli(['setup', token, '--state-dir', this.parentStateDir, ...cb], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
    if (code !== 0) throw new Error(`cosigner setup failed: ${out.join('; ')}`);
    return { paired: true, lines: out };
  }

  /** Everything, in reverse start order. */
  async stop(): Promise<void> {
    for (const c of ['callback', 'coordinator', 'devnet', 'parent', 'enclave', 'kms', 'nsm'] as const) await this.stopProcess(c);
  }
}
