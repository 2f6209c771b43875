// The parent daemon's configuration (command line; `scripts/local-stack.ts` and the systemd unit
// pass it). The parent is untrusted: nothing here can weaken what the enclave checks, it only
// says where things are.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CosignerError } from '../shared/errors.js';
import { ENCLAVE_RPC_PORT, KMS_PROXY_PORT } from '../shared/messages.js';
import { TRANSPORT_OPTIONS, integerOption, transportOption } from '../shared/cli-args.js';
import { AWS_NITRO_ROOT_G1_PEM } from '../shared/attestation/verify.js';
import { kmsEndpointForRegion, type Endpoint } from './kms-proxy.js';
import type { EnclaveCidSetting } from './enclave-cid.js';

export interface ParentConfig {
  transport: 'vsock' | 'loopback';
  loopbackDir: string | undefined;
  enclaveCid: EnclaveCidSetting;
  enclaveRpcPort: number;
  kmsProxyPort: number;
  /** Where the KMS proxy relays to. Which key seals the state is the enclave's own configuration. */
  kms: { region: string; endpoint: string };
  /** Where the KMS proxy relays to (the endpoint's host and port) and the allowlist it checks. */
  kmsTarget: Endpoint;
  kmsAllowlist: Endpoint[];
  stateDir: string;
  /** customer_cosigner.log and run.log (parent/logs/): the state folder unless `--log-dir` says otherwise. */
  logDir: string;
  sealedFilePath: string;
  /** Root the parent pins when it checks the enclave's attestation for display (AWS Root-G1 by default). */
  attestationRootPem: string;
  allowDebugAttestation: boolean;
  credentials: { source: 'auto' | 'imds' | 'env'; imdsBaseUrl: string | undefined };
}

export function endpointOf(url: string): Endpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CosignerError('CONFIG_INVALID', `--kms-endpoint is not a URL: ${url.slice(0, 100)}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new CosignerError('CONFIG_INVALID', '--kms-endpoint must be http(s)');
  return { host: u.hostname, port: u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80 };
}

export function parseParentConfig(argv: string[]): ParentConfig {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...TRANSPORT_OPTIONS,
      'enclave-cid': { type: 'string', default: '16' },
      'enclave-name': { type: 'string' },
      'nitro-cli': { type: 'string', default: 'nitro-cli' },
      'enclave-rpc-port': { type: 'string' },
      'kms-proxy-port': { type: 'string' },
      'kms-region': { type: 'string' },
      'kms-endpoint': { type: 'string' },
      'kms-allow': { type: 'string', multiple: true },
      'state-dir': { type: 'string', default: '/var/lib/cosigner' },
      'log-dir': { type: 'string' },
      'attestation-root': { type: 'string' },
      'allow-debug-attestation': { type: 'boolean', default: false },
      credentials: { type: 'string', default: 'auto' },
      'imds-url': { type: 'string' },
    },
  });
  const { transport, loopbackDir } = transportOption(values);
  const region = values['kms-region'];
  if (!region) throw new CosignerError('CONFIG_INVALID', '--kms-region is required');
  const endpoint = values['kms-endpoint'] ?? `https://kms.${region}.amazonaws.com`;
  const target = endpointOf(endpoint);
  const allow = (values['kms-allow'] ?? []).map((a) => {
    const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(a);
    if (!m) throw new CosignerError('CONFIG_INVALID', `--kms-allow takes host:port, got ${a.slice(0, 100)}`);
    return { host: m[1]!, port: Number(m[2]) };
  });
  const source = values.credentials;
  if (source !== 'auto' && source !== 'imds' && source !== 'env') throw new CosignerError('CONFIG_INVALID', '--credentials must be auto, imds or env');
  const stateDir = values['state-dir']!;
  return {
    transport,
    loopbackDir,
    enclaveCid:
      values['enclave-cid'] === 'auto'
        ? { kind: 'auto', name: values['enclave-name'], nitroCli: values['nitro-cli']! }
        : { kind: 'fixed', cid: integerOption('enclave-cid', values['enclave-cid'], 16, 4, 0xfffffffe) },
    enclaveRpcPort: integerOption('enclave-rpc-port', values['enclave-rpc-port'], ENCLAVE_RPC_PORT),
    kmsProxyPort: integerOption('kms-proxy-port', values['kms-proxy-port'], KMS_PROXY_PORT),
    kms: { region, endpoint },
    kmsTarget: target,
    // Only the region's public KMS endpoint, unless others are named explicitly (the local emulator).
    kmsAllowlist: allow.length ? allow : [kmsEndpointForRegion(region)],
    stateDir,
    logDir: values['log-dir'] ?? stateDir,
    sealedFilePath: join(stateDir, 'sealed-state.cbor'),
    attestationRootPem: values['attestation-root'] ? readFileSync(values['attestation-root'], 'utf8') : AWS_NITRO_ROOT_G1_PEM,
    allowDebugAttestation: values['allow-debug-attestation'] === true,
    credentials: { source, imdsBaseUrl: values['imds-url'] },
  };
}
