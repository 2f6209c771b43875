// Enclave entry point: the process the Nitro init starts (Dockerfile.enclave CMD), or, locally, a
// process on the loopback vsock emulator with the NSM emulator behind a socket.
import { createLogger } from '../shared/log.js';
import { describeError } from '../shared/errors.js';
import { ANY_CID, PARENT_CID, type VsockTransport } from '../shared/channel/transport.js';
import { LoopbackTransport } from '../shared/channel/loopback-transport.js';
import { NativeVsockTransport } from '../shared/channel/vsock-transport.js';
import { RpcServer } from '../shared/channel/rpc.js';
import { EnclaveMessages } from '../shared/messages.js';
import { openNsm } from './nsm/open-nsm.js';
import { parseEnclaveConfig } from './config.js';
import { EnclaveApp } from './app.js';
import { modPowImplementation } from '../shared/mpc/bigint/modarith.js';

const log = createLogger('enclave');

async function main(): Promise<void> {
  const cfg = parseEnclaveConfig(process.argv.slice(2));
  // The big-integer route (OpenSSL or BigInt) is chosen by a self-test against BigInt, at start-up.
  log.info({ modPow: modPowImplementation() }, 'big-integer self-test done');
  const transport: VsockTransport = cfg.transport === 'loopback' ? new LoopbackTransport({ dir: cfg.loopbackDir }) : new NativeVsockTransport({ logger: log });
  const nsm = await openNsm(cfg.nsmSocket ? { emulatorSocket: cfg.nsmSocket } : { devicePath: cfg.nsmDevice });
  if (cfg.allowPlainHttpKms) log.warn('plain-http KMS allowed: the parent could forge KMS answers; local emulator use only');
  const app = new EnclaveApp({
    nsm,
    kms: cfg.kms,
    connectKmsProxy: () => transport.connect(PARENT_CID, cfg.kmsProxyPort),
    kmsTlsCa: cfg.kmsTlsCa,
    allowPlainHttpKms: cfg.allowPlainHttpKms,
    callbackRetryIntervalMs: cfg.callbackRetryIntervalMs,
    log,
  });
  // Boot must never wait behind a flood of the parent's other requests; Status and Ping are cheap.
  const server = new RpcServer(EnclaveMessages, app.handlers(), { logger: log, priorityTypes: ['Boot', 'Status', 'Ping'] });
  // On real vsock the binding listens on any CID; on loopback, on this enclave's own CID.
  await server.listen(transport, cfg.transport === 'loopback' ? cfg.cid : ANY_CID, cfg.rpcPort);
  log.info({ cid: cfg.cid, port: cfg.rpcPort, transport: cfg.transport }, 'enclave listening');

  const stop = (signal: string): void => {
    log.info({ signal }, 'enclave stopping');
    void server.close().then(() => nsm.close()).finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  log.fatal(`enclave failed to start: ${describeError(e)}`);
  process.exit(1);
});
