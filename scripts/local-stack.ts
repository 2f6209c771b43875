// `npm start`: the whole co-signer on one machine, with the emulators, over the loopback vsock
// emulator, using the same entry points as on Nitro. State lives in .local/ (delete it to start
// from scratch). Ctrl-C stops every process.
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalStack, type Component } from './stack.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<Component, string> = { nsm: '35', kms: '36', enclave: '32', parent: '33', devnet: '31', coordinator: '34' };

/** JSON log lines become "hh:mm:ss [component] level message key=value"; other lines pass through. */
function show(component: Component, line: string): void {
  let text = line;
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const { level, time, msg, pid: _p, hostname: _h, name: _n, ...rest } = o;
    const extra = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
    const t = new Date(typeof time === 'number' ? time : Date.now()).toISOString().slice(11, 19);
    const lvl = level === undefined ? '' : `${LEVELS[level as number] ?? String(level)} `;
    text = `${t} ${lvl}${String(msg ?? '')}${extra ? '  ' + extra : ''}`;
  } catch {
    /* not JSON: as it is */
  }
  const tag = process.stdout.isTTY ? `\x1b[${COLOURS[component]}m[${component}]\x1b[0m` : `[${component}]`;
  process.stdout.write(`${tag.padEnd(process.stdout.isTTY ? 18 : 10)} ${text}\n`);
}

async function main(): Promise<void> {
  // The SDK's notice that its releases after January 2027 need Node 22 is not about this run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const stack = new LocalStack({
    root,
    workDir: process.env.COSIGNER_LOCAL_DIR ?? resolve(root, '.local'),
    kmsPort: Number(process.env.KMS_EMULATOR_PORT ?? 4566),
    onLine: show,
  });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the local stack…\n');
    await stack.stop();
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  try {
    await stack.startNsm();
    await stack.startKms();
    await stack.ensureKey();
    process.stdout.write(`[stack]    sealing key ${stack.keyId} bound to PCR0 ${stack.pcr0.slice(0, 16)}…\n`);
    stack.startEnclave();
    await stack.waitFor('enclave', /enclave listening/);
    stack.startParent();
    await stack.waitFor('parent', /"msg":"ready"|enclave boot failed/, 120_000);
    if (stack.output('parent').some((l) => /enclave boot failed/.test(l))) {
      process.stdout.write('[stack]    the enclave did not boot; see the parent\'s error above. Ctrl-C to stop.\n');
    } else {
      process.stdout.write('[stack]    co-signer ready: the enclave attested and holds its sealed state.\n');
    }
    // A real local EVM chain for the coordinator's transfers, then the coordinator on it (its
    // pairing with this co-signer comes with the signing path).
    const chain = await stack.startDevnet(Number(process.env.DEVNET_PORT ?? 8545));
    process.stdout.write(`[stack]    EVM devnet at ${chain.rpcUrl} (chain id ${chain.chainId}), test token TTK_TEST at ${chain.token.address}\n`);
    const co = await stack.startCoordinator(Number(process.env.COORDINATOR_PORT ?? 8080), chain);
    process.stdout.write(`[stack]    coordinator at ${co.baseUrl} (Fireblocks REST API subset; OpenAPI at ${co.baseUrl}/docs/json)\n`);
    process.stdout.write(`[stack]    ADMIN API key ${co.apiKey}, private key ${co.privateKeyFile}\n`);
    process.stdout.write(`[stack]    e.g. new FireblocksSDK(readFileSync('${co.privateKeyFile}', 'utf8'), '${co.apiKey}', '${co.baseUrl}')\n`);
    process.stdout.write('[stack]    Ctrl-C to stop.\n');
  } catch (e) {
    process.stderr.write(`local stack failed: ${e instanceof Error ? e.message : String(e)}\n`);
    await stop(1);
  }
}

void main();
