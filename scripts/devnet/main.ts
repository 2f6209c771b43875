// `tsx scripts/devnet/main.ts [--port N] [--chain-id N] [--block-interval-ms N] [--data-dir DIR]`:
// runs the local devnet in the foreground, prints one JSON line with what clients need (RPC URL,
// chain id, the dev account, the test token, the node's pid), and stops it on SIGINT/SIGTERM. A bad argument is
// one line on stderr and exit code 2.
import { parseArgs } from 'node:util';
import { integerOption } from '../../shared/cli-args.js';
import { describeError } from '../../shared/errors.js';

async function main(): Promise<void> {
  let opts: { port: number; chainId: number; blockIntervalMs: number | undefined; dataDir: string | undefined };
  try {
    const { values } = parseArgs({
      options: { port: { type: 'string' }, 'chain-id': { type: 'string' }, 'block-interval-ms': { type: 'string' }, 'data-dir': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
    const interval = integerOption('block-interval-ms', values['block-interval-ms'], 0, 1, 3_600_000);
    opts = {
      port: integerOption('port', values.port, 0, 0, 65535),
      chainId: integerOption('chain-id', values['chain-id'], 31337, 1, Number.MAX_SAFE_INTEGER),
      blockIntervalMs: values['block-interval-ms'] === undefined ? undefined : interval,
      dataDir: values['data-dir'],
    };
  } catch (e) {
    process.stderr.write(`devnet: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    process.exit(2);
  }
  // Loaded only once the arguments are good, so a bad one fails fast.
  const { startDevnet } = await import('./devnet.js');
  const devnet = await startDevnet(opts);
  process.stdout.write(`${JSON.stringify({ rpcUrl: devnet.rpcUrl, chainId: devnet.chainId, devAccount: devnet.devAccount, token: devnet.token, pid: devnet.pid })}\n`);
  const stop = (): void => {
    devnet.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`devnet: ${describeError(e)}\n`);
  process.exit(1);
});
