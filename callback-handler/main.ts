// The handler's command line: `--gen-key <file>` makes its RSA-2048 key, `--config <file>` runs it.
// stdout carries only machine-readable results (the public key PEM, or one {"listening": url}
// line); logs go to stderr as pino JSON lines.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { pino } from 'pino';
import { loadConfig } from './config.js';
import { loadCosignerPublicKey, loadHandlerPrivateKey } from './protocol.js';
import { allowlistRule, amountLimitRule, composeRules, fixedConfigChangeRule, type Rule } from './rules.js';
import { startHandler } from './server.js';

/** Writes a new RSA-2048 private key, readable by its owner only, and returns the public key PEM.
 *  Create-only: an existing file (perhaps the key the co-signer already trusts) is never replaced. */
function genKey(file: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(file, pem, { flag: 'wx', mode: 0o600 });
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

async function serve(configFile: string): Promise<void> {
  const config = loadConfig(configFile);
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
  if ((statSync(config.privateKeyFile).mode & 0o077) !== 0) {
    logger.warn({ file: config.privateKeyFile }, 'private key file is readable by group or others; chmod 600 it');
  }
  const handlerPrivateKey = await loadHandlerPrivateKey(readFileSync(config.privateKeyFile, 'utf8'));
  const cosignerPublicKey = await loadCosignerPublicKey(readFileSync(config.cosignerPublicKeyFile, 'utf8'));

  const rules: Rule[] = [];
  if (config.rules.limits) rules.push(amountLimitRule(config.rules.limits));
  if (config.rules.allowlist) rules.push(allowlistRule(config.rules.allowlist));
  if (rules.length === 0) logger.warn('no rules configured: every transaction request is approved');

  const running = await startHandler({
    port: config.port,
    host: config.host,
    basePath: config.basePath,
    ...(config.bodyLimit ? { bodyLimit: config.bodyLimit } : {}),
    cosignerPublicKey,
    handlerPrivateKey,
    txRule: composeRules(rules),
    configChangeRule: fixedConfigChangeRule(config.rules.configChanges),
    logger,
  });
  process.stdout.write(JSON.stringify({ listening: running.url }) + '\n');
  const stop = (): void => {
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('callback-handler')
    .description('Reference callback handler for the co-signer (tx_sign_request, config_change_sign_request)')
    .option('--config <file>', 'run the handler with this JSON config')
    .option('--gen-key <file>', 'write a new RSA-2048 private key (PEM, mode 0600, never overwrites) and print its public key')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const opts = program.opts<{ config?: string; genKey?: string }>();
  if ((opts.config === undefined) === (opts.genKey === undefined)) {
    process.stderr.write('callback-handler: give exactly one of --config <file> or --gen-key <file>\n');
    return 2;
  }
  if (opts.genKey !== undefined) {
    try {
      process.stdout.write(genKey(opts.genKey));
      return 0;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      process.stderr.write(
        code === 'EEXIST'
          ? `callback-handler: ${opts.genKey} exists; not overwriting it\n`
          : `callback-handler: cannot write ${opts.genKey}: ${(e as Error).message}\n`,
      );
      return 1;
    }
  }
  await serve(opts.config!);
  return -1; // keeps running
}

main(process.argv).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`callback-handler: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
