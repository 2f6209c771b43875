// Parent daemon entry point: KMS proxy for the enclave, RPC connection to the enclave (re-established
// whenever the enclave restarts), boot on every connection, and a status line for the operator.
import { createLogger } from '../shared/log.js';
import { describeError } from '../shared/errors.js';
import { PARENT_CID, type VsockTransport } from '../shared/channel/transport.js';
import { LoopbackTransport } from '../shared/channel/loopback-transport.js';
import { NativeVsockTransport } from '../shared/channel/vsock-transport.js';
import { RpcClient } from '../shared/channel/rpc.js';
import { EnclaveMessages } from '../shared/messages.js';
import { parseParentConfig } from './config.js';
import { startKmsProxy } from './kms-proxy.js';
import { SealedStore } from './sealed-store.js';
import { bootEnclave, describePcrs } from './enclave-boot.js';
import { resolveEnclaveCid } from './enclave-cid.js';
import { mkdirSync } from 'node:fs';
import { toHex } from '../shared/bytes.js';

const log = createLogger('parent');

async function main(): Promise<void> {
  const cfg = parseParentConfig(process.argv.slice(2));
  mkdirSync(cfg.stateDir, { recursive: true, mode: 0o700 });
  const transport: VsockTransport = cfg.transport === 'loopback' ? new LoopbackTransport({ dir: cfg.loopbackDir }) : new NativeVsockTransport({ logger: log });
  const proxy = await startKmsProxy({ transport, target: cfg.kmsTarget, allowlist: cfg.kmsAllowlist, cid: PARENT_CID, port: cfg.kmsProxyPort, logger: log });

  const store = new SealedStore(cfg.sealedFilePath);
  // The enclave CID is resolved on every attempt: after a restart it may differ.
  const client = new RpcClient(EnclaveMessages, {
    connect: async () => transport.connect(await resolveEnclaveCid(cfg.enclaveCid), cfg.enclaveRpcPort),
    reconnect: { initialDelayMs: 100, maxDelayMs: 2000 },
    logger: log,
  });

  let booting = false;
  const onConnected = async (): Promise<void> => {
    if (booting) return;
    booting = true;
    try {
      const report = await bootEnclave(client, store, cfg, log);
      for (const line of describePcrs(report.pcrs)) log.info(line);
      log.info({ outcome: report.outcome, moduleId: report.moduleId, identityPublicKey: toHex(report.identityPublicKey) }, 'ready');
    } catch (e) {
      // Reported, not fatal: the operator can fix the key policy or the file and restart the
      // enclave; nothing on disk was changed.
      log.error(`enclave boot failed: ${describeError(e)}`);
    } finally {
      booting = false;
    }
  };
  client.on('connected', () => {
    log.info({ port: cfg.enclaveRpcPort }, 'connected to enclave');
    void onConnected();
  });
  client.on('disconnected', (reason) => log.warn(`enclave connection lost: ${describeError(reason)}; reconnecting`));
  client.start();

  const stop = (signal: string): void => {
    log.info({ signal }, 'parent stopping');
    void Promise.allSettled([client.close(), proxy.close()]).finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  log.fatal(`parent failed to start: ${describeError(e)}`);
  process.exit(1);
});
