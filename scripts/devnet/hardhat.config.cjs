// Hardhat 2 configuration for the local EVM devnet (`hardhat node`), used only by
// scripts/devnet/devnet.ts, which passes everything through the environment. Hardhat here only runs
// its in-memory network: nothing is compiled (the test token is compiled with solc-js by the
// launcher), so Hardhat never fetches a compiler, and its project folders live in the devnet's data
// directory, never in the repository.
'use strict';
const { subtask } = require('hardhat/config');
const { TASK_NODE_SERVER_READY } = require('hardhat/builtin-tasks/task-names');

const env = process.env;
const dataDir = env.DEVNET_DATA_DIR;
if (!dataDir) throw new Error('DEVNET_DATA_DIR is not set (start the devnet with scripts/devnet/devnet.ts)');
const chainId = Number(env.DEVNET_CHAIN_ID ?? '31337');
const intervalMs = Number(env.DEVNET_BLOCK_INTERVAL_MS ?? '0');

// The launcher holds our stdin open; when it dies, even by SIGKILL, the pipe closes and so does the
// node, so no devnet outlives the process that started it.
if (env.DEVNET_EXIT_WITH_PARENT === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

// One machine-readable line with the port actually bound (the launcher may ask for port 0), in
// place of Hardhat's banner, which also lists the well-known development keys.
subtask(TASK_NODE_SERVER_READY).setAction(async ({ address, port }) => {
  process.stdout.write(`${JSON.stringify({ devnet: 'ready', address, port })}\n`);
});

/** @type {import('hardhat/config').HardhatUserConfig} */
module.exports = {
  paths: {
    root: dataDir,
    sources: `${dataDir}/contracts`,
    cache: `${dataDir}/cache`,
    artifacts: `${dataDir}/artifacts`,
  },
  networks: {
    hardhat: {
      chainId,
      hardfork: 'prague',
      // Automining keeps tests fast; an interval also mines empty blocks so that confirmations grow.
      mining: intervalMs > 0 ? { auto: true, interval: intervalMs } : { auto: true },
      loggingEnabled: false,
    },
  },
};
