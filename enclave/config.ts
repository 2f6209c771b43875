// The enclave's start-up configuration. It comes from the image's CMD (measured into PCR0 on
// Nitro), never from the parent: whatever here weakens a check (plain-http KMS, an extra TLS
// anchor, the NSM emulator) is therefore part of the measurement, and a production image
// simply does not pass those flags.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { CosignerError } from '../shared/errors.js';
import { ENCLAVE_RPC_PORT, KMS_PROXY_PORT } from '../shared/messages.js';
import { TRANSPORT_OPTIONS, integerOption, transportOption } from '../shared/cli-args.js';
import { DEFAULT_RETRY_INTERVAL_MS } from './callback/approval.js';

export interface EnclaveConfig {
  transport: 'vsock' | 'loopback';
  /** Unix-socket folder of the loopback vsock emulator. */
  loopbackDir: string | undefined;
  /** This enclave's CID on the loopback emulator (the real binding listens on any CID). */
  cid: number;
  rpcPort: number;
  kmsProxyPort: number;
  /** Path of /dev/nsm, or undefined when the NSM emulator socket is used. */
  nsmDevice: string | undefined;
  nsmSocket: string | undefined;
  /** The sealing key: region, key ARN and endpoint are fixed here, never taken from the parent. */
  kms: { region: string; keyArn: string; endpoint: string };
  /** Extra PEM trust anchor for the KMS endpoint's TLS certificate (the local KMS emulator's). */
  kmsTlsCa: string | undefined;
  /** Local emulator only: talk to KMS without TLS. Lets the parent forge KMS answers. */
  allowPlainHttpKms: boolean;
  /**
   * After a callback handler's RETRY, how long until the identical request goes again: 3 minutes,
   * as the Fireblocks co-signer waits. Shorter only for tests; it weakens no check (the handler is
   * only asked sooner), and like every flag here it is part of the measurement.
   */
  callbackRetryIntervalMs: number;
}

const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const KEY_ARN_RE = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/[A-Za-z0-9-]{1,64}$/;

/**
 * The regional endpoint is derived from the region (only AWS holds certificates for
 * kms.<region>.amazonaws.com). `--kms-endpoint` replaces it for the local emulator; it is part of
 * the measured command line, like `--kms-tls-ca`, so a production image cannot be redirected.
 */
function kmsOption(region: string | undefined, keyArn: string | undefined, endpoint: string | undefined): EnclaveConfig['kms'] {
  if (!region || !REGION_RE.test(region)) throw new CosignerError('CONFIG_INVALID', '--kms-region must be an AWS region such as eu-west-1');
  const m = keyArn ? KEY_ARN_RE.exec(keyArn) : null;
  if (!m) throw new CosignerError('CONFIG_INVALID', '--kms-key-arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)');
  if (m[1] !== region) throw new CosignerError('CONFIG_INVALID', `--kms-key-arn is in ${m[1]}, not in --kms-region ${region}`);
  return { region, keyArn: keyArn!, endpoint: endpoint ?? `https://kms.${region}.amazonaws.com` };
}

/**
 * The sealing key can also come from the image's environment (Dockerfile.enclave bakes
 * COSIGNER_KMS_REGION / COSIGNER_KMS_KEY_ARN in, so they are measured into PCR0).
 */
export function parseEnclaveConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): EnclaveConfig {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...TRANSPORT_OPTIONS,
      cid: { type: 'string', default: '16' },
      'rpc-port': { type: 'string' },
      'kms-proxy-port': { type: 'string' },
      nsm: { type: 'string' },
      'nsm-socket': { type: 'string' },
      'kms-region': { type: 'string' },
      'kms-key-arn': { type: 'string' },
      'kms-endpoint': { type: 'string' },
      'kms-tls-ca': { type: 'string' },
      'allow-plain-http-kms': { type: 'boolean', default: false },
      'callback-retry-interval-ms': { type: 'string' },
    },
  });
  const { transport, loopbackDir } = transportOption(values);
  if (values.nsm && values['nsm-socket']) throw new CosignerError('CONFIG_INVALID', 'give --nsm or --nsm-socket, not both');
  const kms = kmsOption(values['kms-region'] ?? env.COSIGNER_KMS_REGION, values['kms-key-arn'] ?? env.COSIGNER_KMS_KEY_ARN, values['kms-endpoint']);
  const cid = integerOption('cid', values.cid, 16, 4, 0xfffffffe);
  return {
    transport,
    loopbackDir,
    cid,
    rpcPort: integerOption('rpc-port', values['rpc-port'], ENCLAVE_RPC_PORT),
    kmsProxyPort: integerOption('kms-proxy-port', values['kms-proxy-port'], KMS_PROXY_PORT),
    nsmDevice: values['nsm-socket'] ? undefined : (values.nsm ?? '/dev/nsm'),
    nsmSocket: values['nsm-socket'],
    kms,
    kmsTlsCa: values['kms-tls-ca'] ? readFileSync(values['kms-tls-ca'], 'utf8') : undefined,
    allowPlainHttpKms: values['allow-plain-http-kms'] === true,
    callbackRetryIntervalMs: integerOption('callback-retry-interval-ms', values['callback-retry-interval-ms'], DEFAULT_RETRY_INTERVAL_MS, 100, 3_600_000),
  };
}
