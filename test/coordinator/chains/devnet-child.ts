// Starts a devnet, prints its node's pid as one JSON line, and waits to be killed: the devnet test
// SIGKILLs this process and checks that the node does not outlive it.
import { startDevnet } from '../../../scripts/devnet/devnet.js';

const devnet = await startDevnet({ dataDir: process.argv[2] });
process.stdout.write(`${JSON.stringify({ pid: devnet.pid, rpcUrl: devnet.rpcUrl })}\n`);
setInterval(() => undefined, 60_000);
