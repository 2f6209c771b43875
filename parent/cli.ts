// The operator CLI: `cosigner <command> [args...]` (npm run cosigner -- <command> ...).
// Each command is a function of its arguments returning the process exit code.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { verifyAttestationCommand, type CommandIo } from './commands/verify-attestation.js';
import { kmsPolicyCommand } from './commands/kms-policy.js';
import { printPublicKeyCommand, setupCommand, statusCommand } from './commands/setup.js';
import { callbackUpdateCommand, signCallbackUpdateCommand } from './commands/callback-update.js';

type Command = { summary: string; run: (argv: string[], io: CommandIo) => Promise<number> };

export const COMMANDS: Record<string, Command> = {
  'verify-attestation': { summary: 'verify a Nitro attestation document against the pinned root', run: verifyAttestationCommand },
  'kms-policy': { summary: 'print the sealing key policy for an enclave measurement', run: kmsPolicyCommand },
  setup: { summary: 'pair this co-signer with a coordinator workspace (pairing token from the coordinator)', run: setupCommand },
  'add-user': { summary: 'pair a further API user (its own pairing token)', run: setupCommand },
  'callback-update': { summary: 'change a paired API user\'s callback handler (signed by that API user\'s key)', run: callbackUpdateCommand },
  'sign-callback-update': { summary: 'sign a callback change request with the API user\'s key (where the key is)', run: signCallbackUpdateCommand },
  'print-public-key': { summary: 'the RSA public key (PEM) callback handlers verify requests with', run: printPublicKeyCommand },
  status: { summary: 'what the enclave holds: pairings, pinned service keys, state version', run: statusCommand },
  logs: { summary: 'the last N lines (default 100) of customer_cosigner.log, across its rotated files', run: (argv, io) => import('./commands/logs.js').then((m) => m.logsCommand(argv, io)) },
};

function usage(io: CommandIo): void {
  io.stderr('usage: cosigner <command> [args...]');
  for (const [name, c] of Object.entries(COMMANDS)) io.stderr(`  ${name.padEnd(20)} ${c.summary}`);
}

export async function runCli(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  const command = name !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    if (name && name !== '--help' && name !== 'help') io.stderr(`cosigner: unknown command ${JSON.stringify(name)}`);
    usage(io);
    return 2;
  }
  return command.run(rest, io);
}

const io: CommandIo = {
  stdout: (l) => process.stdout.write(l + '\n'),
  stderr: (l) => process.stderr.write(l + '\n'),
};

// Run only when executed (tsx parent/cli.ts ...), so tests can import runCli and COMMANDS.
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(resolve(entry)).href) {
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`cosigner: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
