// Run as a program (never imported): starts a devnet, prints its node's pid as one JSON line, and
// waits to be killed. The devnet test SIGKILLs this process and checks the node does not outlive it.
import { pathToFileURL } from 'node:url';
import { startDevnet } from '../../../scripts/devnet/devnet.js';

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const devnet = await startDevnet({ dataDir: process.argv[2] });
  process.stdout.write(`${JSON.stringify({ pid: devnet.pid, rpcUrl: devnet.rpcUrl })}\n`);
  setInterval(() => undefined, 60_000);
}
