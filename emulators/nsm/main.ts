// NSM emulator CLI:
//   tsx emulators/nsm/main.ts --state-dir DIR --socket PATH --bundle-root DIR [--debug]
//        [--instance-id i-...] [--region us-east-1] [--role-arn ARN] [--signing-cert PEM]
// Prints the socket path and the SHA-256 fingerprint of root.pem (what verifiers pin).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { certificateDer } from '../../shared/attestation/root-pin.js';
import { describeError } from '../../shared/errors.js';
import { EmulatedNsm } from './device.js';
import { bootPcrs } from './measure.js';
import { PcrBank } from './pcr-bank.js';
import { EmulatorPki } from './pki.js';
import { startNsmServer } from './server.js';

const USAGE = 'usage: nsm-emulator --state-dir DIR --socket PATH --bundle-root DIR [--debug] [--instance-id ID] [--region R] [--role-arn ARN] [--signing-cert PEM]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'state-dir': { type: 'string' },
      socket: { type: 'string' },
      'bundle-root': { type: 'string' },
      debug: { type: 'boolean', default: false },
      'instance-id': { type: 'string' },
      region: { type: 'string' },
      'role-arn': { type: 'string' },
      'signing-cert': { type: 'string' },
    },
    strict: true,
  });
  if (!values['state-dir'] || !values.socket || !values['bundle-root']) throw new Error(USAGE);
  if (values['instance-id'] !== undefined && !/^i-[0-9a-f]{8,17}$/.test(values['instance-id'])) throw new Error('--instance-id must look like i-0123456789abcdef0');

  const pki = EmulatorPki.open({ stateDir: resolve(values['state-dir']), instanceId: values['instance-id'], region: values.region });
  const pcrs = new PcrBank(
    bootPcrs({
      bundleRoot: resolve(values['bundle-root']),
      instanceId: pki.identity.instanceId,
      roleArn: values['role-arn'] ?? null,
      signingCertificate: values['signing-cert'] ? certificateDer(readFileSync(values['signing-cert'], 'utf8')) : null,
      debug: values.debug,
    }),
  );
  const server = await startNsmServer({ socketPath: resolve(values.socket), nsm: new EmulatedNsm(pki, pcrs) });
  const pcr0 = Buffer.from(pcrs.describe(0).data).toString('hex');
  process.stdout.write(
    `NSM emulator listening on ${server.socketPath}\n` +
      `root certificate: ${resolve(values['state-dir'], 'root.pem')}\n` +
      `root fingerprint (SHA-256): ${pki.rootFingerprint}\n` +
      `module id: ${pki.moduleId}${values.debug ? ' (debug mode: PCR0/1/2 are zero)' : ''}\n` +
      `PCR0: ${pcr0}\n`,
  );
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`nsm-emulator: ${e instanceof Error && !('code' in e) ? e.message : describeError(e)}\n`);
  process.exit(2);
});
