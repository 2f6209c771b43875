// Parent daemon entry point: KMS proxy for the enclave, RPC connection to the enclave (re-established
// whenever the enclave restarts), boot on every connection, and a status line for the operator.
import { createLogger } from '../shared/log.js';
import { CosignerError, describeError, isCosignerError } from '../shared/errors.js';
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
import { existsSync, mkdirSync } from 'node:fs';
import { CosignerService } from './cosigner-service.js';
import { LineLogFile } from './logs/customer-log.js';
import { RunLogDelivery } from './logs/run-log-delivery.js';
import { toHex } from '../shared/bytes.js';

const log = createLogger('parent');
const BOOT_RETRY_INITIAL_MS = 2_000;
const BOOT_RETRY_MAX_MS = 60_000;

/** Failures that may pass by themselves; everything else needs the operator. */
function isTransientBootFailure(e: unknown): boolean {
  return isCosignerError(e) && ['KMS_ERROR', 'RPC_TIMEOUT', 'TRANSPORT_ERROR', 'BOOT_IN_PROGRESS', 'NSM_ERROR', 'NSM_BUSY', 'CREDENTIALS_EXPIRED'].includes(e.code);
}

async function main(): Promise<void> {
  const cfg = parseParentConfig(process.argv.slice(2));
  // A missing state folder must not read as "first boot" (an unmounted volume would then get fresh
  // enclave state written beside it): the operator, or systemd's StateDirectory=, creates it.
  if (!existsSync(cfg.stateDir)) {
    throw new CosignerError('CONFIG_INVALID', `state folder ${cfg.stateDir} does not exist; create it (mode 0700) or mount its volume`);
  }
  const transport: VsockTransport = cfg.transport === 'loopback' ? new LoopbackTransport({ dir: cfg.loopbackDir }) : new NativeVsockTransport({ logger: log });
  const proxy = await startKmsProxy({ transport, target: cfg.kmsTarget, allowlist: cfg.kmsAllowlist, cid: PARENT_CID, port: cfg.kmsProxyPort, logger: log });

  const store = new SealedStore(cfg.sealedFilePath);
  // The enclave CID is resolved on every attempt: after a restart it may differ.
  const client = new RpcClient(EnclaveMessages, {
    connect: async () => transport.connect(await resolveEnclaveCid(cfg.enclaveCid), cfg.enclaveRpcPort),
    reconnect: { initialDelayMs: 100, maxDelayMs: 2000 },
    logger: log,
  });

  // The operator's logs (parent/logs/); stdout keeps the JSON lines. A log folder of its own is made on first use.
  mkdirSync(cfg.logDir, { recursive: true, mode: 0o700 });
  const customerLog = LineLogFile.customerLog(cfg.logDir, { onError: (e) => log.error(`customer_cosigner.log cannot be written: ${describeError(e)}`) });
  const runLog = LineLogFile.runLog(cfg.logDir, { onError: (e) => log.error(`run.log cannot be written: ${describeError(e)}`) });
  const runLogDelivery = new RunLogDelivery({ stateDir: cfg.stateDir, runLogPath: runLog.path, log, customerLog });
  customerLog.info('ParentDaemon', 'main', `parent daemon started (pid ${process.pid}, state folder ${cfg.stateDir})`);

  const service = new CosignerService({ client, store, stateDir: cfg.stateDir, log, customerLog, runLog, runLogDelivery });
  service.start();

  // One boot at a time. A failure the operator must fix (key policy, sealed file) is reported and
  // waits for the next enclave (re)connection; a passing one (KMS unreachable, a timeout) is retried
  // with backoff while the connection lasts.
  let booting = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelayMs = BOOT_RETRY_INITIAL_MS;
  const onConnected = async (): Promise<void> => {
    if (booting) return;
    booting = true;
    clearTimeout(retryTimer);
    try {
      const report = await bootEnclave(client, store, cfg, log);
      retryDelayMs = BOOT_RETRY_INITIAL_MS;
      for (const line of describePcrs(report.pcrs)) log.info(line);
      log.info({ outcome: report.outcome, moduleId: report.moduleId, identityPublicKey: toHex(report.identityPublicKey) }, 'ready');
      customerLog.info('ParentDaemon', 'boot', `enclave ready (${report.outcome}, module ${report.moduleId})`);
      await service.enclaveReady().catch((e: unknown) => log.error(`co-signer service did not start: ${describeError(e)}`));
    } catch (e) {
      log.error(`enclave boot failed: ${describeError(e)}`);
      customerLog.error('ParentDaemon', 'boot', `enclave boot failed: ${describeError(e)}`);
      if (isTransientBootFailure(e) && client.state === 'connected') {
        log.info({ retryInMs: retryDelayMs }, 'boot will be retried');
        retryTimer = setTimeout(() => void onConnected(), retryDelayMs);
        retryDelayMs = Math.min(retryDelayMs * 2, BOOT_RETRY_MAX_MS);
      }
    } finally {
      booting = false;
    }
  };
  client.on('connected', () => {
    log.info({ port: cfg.enclaveRpcPort }, 'connected to enclave');
    void onConnected();
  });
  client.on('disconnected', (reason) => {
    clearTimeout(retryTimer);
    service.enclaveLost();
    log.warn(`enclave connection lost: ${describeError(reason)}; reconnecting`);
    customerLog.warn('ParentDaemon', 'connection', `enclave connection lost: ${describeError(reason)}; reconnecting`);
  });
  client.start();

  const stop = (signal: string): void => {
    log.info({ signal }, 'parent stopping');
    clearTimeout(retryTimer);
    customerLog.info('ParentDaemon', 'stop', `parent daemon stopping (${signal})`);
    void service.stop().finally(() => Promise.allSettled([client.close(), proxy.close(), customerLog.close(), runLog.close()]).finally(() => process.exit(0)));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  log.fatal(`parent failed to start: ${describeError(e)}`);
  process.exit(1);
});
