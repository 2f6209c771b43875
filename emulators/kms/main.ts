// KMS emulator CLI:
//   tsx emulators/kms/main.ts --port 4566 --host 127.0.0.1 --state FILE --attestation-root PEM
//        [--region us-east-1] [--account 111122223333] [--credentials FILE]
//        [--tls-cert PEM --tls-key PEM | --tls-self-signed DIR]
// Credentials: a JSON file [{accessKeyId, secretAccessKey, sessionToken?, principalArn?}], or else
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) from the environment. Every
// request must be SigV4-signed by one of them.
// Recipient attestation documents are verified against --attestation-root (the NSM emulator's
// root.pem), like AWS KMS verifies against the AWS Nitro root. Debug-mode documents are accepted,
// as by AWS: their zero PCRs simply fail any PCR condition.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyAttestationDocument } from '../../shared/attestation/verify.js';
import { describeError } from '../../shared/errors.js';
import { KmsEmulator } from './server.js';
import { parseIdentityPolicy } from './policy.js';
import type { EmulatorCredential } from './sigv4.js';
import { selfSignedTlsCertificate } from './tls-cert.js';

const USAGE = 'usage: kms-emulator --port N --host 127.0.0.1 --state FILE --attestation-root PEM [--region R] [--account ID] [--credentials FILE] [--tls-cert PEM --tls-key PEM | --tls-self-signed DIR]';
/** AWS does not publish KMS's freshness limit for attestation documents; documents are made per call. */
const MAX_DOCUMENT_AGE_MS = 5 * 60 * 1000;

function loadCredentials(file: string | undefined, account: string): EmulatorCredential[] {
  // A credential that names no principal acts as the account root user (IAM does not restrict it).
  const defaultPrincipal = (_id: string) => `arn:aws:iam::${account}:root`;
  if (file) {
    const list = JSON.parse(readFileSync(file, 'utf8')) as Array<Partial<EmulatorCredential>>;
    if (!Array.isArray(list)) throw new Error('--credentials must hold a JSON array');
    return list.map((c) => {
      if (!c.accessKeyId || !c.secretAccessKey) throw new Error('each credential needs accessKeyId and secretAccessKey');
      const identityPolicy = c.identityPolicy === undefined ? undefined : parseIdentityPolicy(c.identityPolicy);
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, principalArn: c.principalArn ?? defaultPrincipal(c.accessKeyId), identityPolicy };
    });
  }
  const id = process.env.AWS_ACCESS_KEY_ID;
  const secret = process.env.AWS_SECRET_ACCESS_KEY;
  if (!id || !secret) throw new Error('no credentials: pass --credentials FILE or set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY');
  return [{ accessKeyId: id, secretAccessKey: secret, sessionToken: process.env.AWS_SESSION_TOKEN || undefined, principalArn: defaultPrincipal(id) }];
}

async function tlsOptions(v: Record<string, string | undefined>, host: string): Promise<{ cert: string; key: string } | undefined> {
  if (v['tls-cert'] || v['tls-key']) {
    if (!v['tls-cert'] || !v['tls-key']) throw new Error('--tls-cert and --tls-key go together');
    return { cert: readFileSync(v['tls-cert'], 'utf8'), key: readFileSync(v['tls-key'], 'utf8') };
  }
  const dir = v['tls-self-signed'];
  if (!dir) return undefined;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, 'kms-tls.pem');
  const keyFile = join(dir, 'kms-tls.key');
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    const generated = await selfSignedTlsCertificate(['localhost', host]);
    writeFileSync(keyFile, generated.key, { mode: 0o600 });
    writeFileSync(certFile, generated.cert, { mode: 0o644 });
  }
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      state: { type: 'string' },
      'attestation-root': { type: 'string' },
      region: { type: 'string', default: 'us-east-1' },
      account: { type: 'string', default: '111122223333' },
      credentials: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-self-signed': { type: 'string' },
    },
    strict: true,
  });
  if (!values.port || !values.state || !values['attestation-root']) throw new Error(USAGE);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be 0..65535');
  const rootPem = readFileSync(resolve(values['attestation-root']), 'utf8');
  const emulator = new KmsEmulator({
    stateFile: resolve(values.state),
    credentials: loadCredentials(values.credentials, values.account!),
    region: values.region,
    account: values.account,
    tls: await tlsOptions(values, values.host!),
    verifyRecipient: async (doc) => {
      const d = await verifyAttestationDocument(doc, { root: rootPem, allowDebug: true, maxAgeMs: MAX_DOCUMENT_AGE_MS });
      return { pcrs: d.pcrs, publicKey: d.publicKey };
    },
  });
  const url = await emulator.listen(port, values.host);
  process.stdout.write(`KMS emulator listening on ${url} (region ${emulator.region}, account ${emulator.account})\n`);
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`kms-emulator: ${describeError(e)}\n`);
  process.exit(2);
});
