// The enclave's start-up configuration. It comes from the image's CMD (measured into PCR0 on
// Nitro), never from the parent: whatever here weakens a check (plain-http KMS, an extra TLS
// anchor, the NSM emulator) is therefore part of the measurement, and a production image
// simply does not pass those flags.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { CosignerError } from '../shared/errors.js';
import { ENCLAVE_RPC_PORT, KMS_PROXY_PORT } from '../shared/messages.js';
import { TRANSPORT_OPTIONS, integerOption, transportOption } from '../shared/cli-args.js';

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
  /** Extra PEM trust anchor for the KMS endpoint's TLS certificate (the local KMS emulator's). */
  kmsTlsCa: string | undefined;
  /** Local emulator only: talk to KMS without TLS. Lets the parent forge KMS answers. */
  allowPlainHttpKms: boolean;
}

export function parseEnclaveConfig(argv: string[]): EnclaveConfig {
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
      'kms-tls-ca': { type: 'string' },
      'allow-plain-http-kms': { type: 'boolean', default: false },
    },
  });
  const { transport, loopbackDir } = transportOption(values);
  if (values.nsm && values['nsm-socket']) throw new CosignerError('CONFIG_INVALID', 'give --nsm or --nsm-socket, not both');
  const cid = integerOption('cid', values.cid, 16, 4, 0xfffffffe);
  return {
    transport,
    loopbackDir,
    cid,
    rpcPort: integerOption('rpc-port', values['rpc-port'], ENCLAVE_RPC_PORT),
    kmsProxyPort: integerOption('kms-proxy-port', values['kms-proxy-port'], KMS_PROXY_PORT),
    nsmDevice: values['nsm-socket'] ? undefined : (values.nsm ?? '/dev/nsm'),
    nsmSocket: values['nsm-socket'],
    kmsTlsCa: values['kms-tls-ca'] ? readFileSync(values['kms-tls-ca'], 'utf8') : undefined,
    allowPlainHttpKms: values['allow-plain-http-kms'] === true,
  };
}
