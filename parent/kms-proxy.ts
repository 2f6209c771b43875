// The parent's KMS proxy (DESIGN.md "KMS sealing"), the job vsock-proxy does on Nitro: the enclave
// has no network, so it opens a vsock stream to this port and we relay bytes to the KMS endpoint
// over TCP. The endpoint must be on the allowlist (default: nothing else). With https the enclave
// runs TLS inside the stream, so what passes here is ciphertext; we never parse it.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { CosignerError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/log.js';
import { ANY_CID, type VsockListener, type VsockTransport } from '../shared/channel/transport.js';
import { KMS_PROXY_PORT } from '../shared/messages.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface KmsProxyOptions {
  transport: Pick<VsockTransport, 'listen'>;
  /** The KMS endpoint every connection is relayed to. */
  target: Endpoint;
  /** Endpoints the proxy may reach; the target must be one of them (exact host, case-insensitive, and port). */
  allowlist: readonly Endpoint[];
  cid?: number;
  port?: number;
  connectTimeoutMs?: number;
  logger?: Logger;
}

export interface KmsProxy {
  close(): Promise<void>;
  /** Relayed connections currently open. */
  readonly openConnections: number;
}

/** The standard regional endpoint, what the allowlist holds on EC2. */
export function kmsEndpointForRegion(region: string): Endpoint {
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new CosignerError('CONFIG_INVALID', `not an AWS region: ${region.slice(0, 32)}`);
  return { host: `kms.${region}.amazonaws.com`, port: 443 };
}

export function isAllowlisted(target: Endpoint, allowlist: readonly Endpoint[]): boolean {
  return allowlist.some((a) => a.host.toLowerCase() === target.host.toLowerCase() && a.port === target.port);
}

export async function startKmsProxy(opts: KmsProxyOptions): Promise<KmsProxy> {
  const log = opts.logger ?? createLogger('kms-proxy');
  const { target } = opts;
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535 || !target.host) {
    throw new CosignerError('CONFIG_INVALID', 'KMS proxy target needs a host and a port in 1..65535');
  }
  if (!isAllowlisted(target, opts.allowlist)) {
    throw new CosignerError('CONFIG_INVALID', `KMS proxy target ${target.host}:${target.port} is not on the allowlist`);
  }
  const open = new Set<Duplex>();
  let nextId = 1;
  let closed = false;

  const onConnection = (vs: Duplex): void => {
    const id = nextId++;
    // Defence in depth: the check at start-up guards config; this guards later mutation.
    if (closed || !isAllowlisted(target, opts.allowlist)) {
      log.warn({ id, target: `${target.host}:${target.port}` }, 'kms proxy connection refused');
      vs.destroy();
      return;
    }
    open.add(vs);
    const tcp = net.connect({ host: target.host, port: target.port });
    tcp.setTimeout(opts.connectTimeoutMs ?? 10_000, () => tcp.destroy(new Error('connect timeout')));
    tcp.once('connect', () => tcp.setTimeout(0));
    let up = 0;
    let down = 0;
    vs.on('data', (c: Buffer) => { up += c.length; });
    tcp.on('data', (c: Buffer) => { down += c.length; });
    log.info({ id, target: `${target.host}:${target.port}` }, 'kms proxy connection opened');
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      open.delete(vs);
      vs.destroy();
      tcp.destroy();
      log.info({ id, bytesUp: up, bytesDown: down, error: err?.message }, 'kms proxy connection closed');
    };
    vs.pipe(tcp);
    tcp.pipe(vs);
    vs.once('error', finish);
    tcp.once('error', finish);
    vs.once('close', () => finish());
    tcp.once('close', () => finish());
  };

  const listener: VsockListener = await opts.transport.listen(opts.cid ?? ANY_CID, opts.port ?? KMS_PROXY_PORT, onConnection);
  log.info({ port: opts.port ?? KMS_PROXY_PORT, target: `${target.host}:${target.port}` }, 'kms proxy listening');
  return {
    get openConnections() { return open.size; },
    async close() {
      closed = true;
      await listener.close();
      for (const s of open) s.destroy();
    },
  };
}
