// Test harness for the KMS pieces: a real NSM emulator (PKI + document signer, in process, driven
// through the NSM CBOR protocol by the enclave's NsmClient), a KMS emulator that verifies Recipient
// documents with the project's verifier pinned to that emulator's root, and admin KMS clients.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { EmulatorPki } from '../../emulators/nsm/pki.js';
import { PcrBank } from '../../emulators/nsm/pcr-bank.js';
import { EmulatedNsm } from '../../emulators/nsm/device.js';
import { NsmClient } from '../../enclave/nsm/nsm.js';
import { KmsEmulator } from '../../emulators/kms/server.js';
import type { EmulatorCredential } from '../../emulators/kms/sigv4.js';
import { verifyAttestationDocument } from '../../shared/attestation/verify.js';

export const REGION = 'us-east-1';
export const ACCOUNT = '111122223333';

/**
 * The parent's role in tests that are not about IAM: its identity policy allows every KMS action,
 * so what it may do is decided by the key policy (test/kms/iam.test.ts is about IAM).
 */
export const PARENT_CREDENTIAL: EmulatorCredential = {
  accessKeyId: 'AKIAPARENTEXAMPLE001',
  secretAccessKey: 'parent/secret/key/for/the/kms/emulator',
  principalArn: `arn:aws:iam::${ACCOUNT}:role/cosigner-parent`,
  identityPolicy: { Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] },
};

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Sixteen 48-byte PCRs derived from a label, so two "enclave images" differ in PCR0/1/2. */
export function pcrsFor(label: string, overrides: Record<number, Uint8Array> = {}): Map<number, Uint8Array> {
  const pcrs = new Map<number, Uint8Array>();
  for (let i = 0; i < 16; i++) pcrs.set(i, i <= 2 ? new Uint8Array(createHash('sha384').update(`${label}/pcr${i}`).digest()) : new Uint8Array(48));
  for (const [i, v] of Object.entries(overrides)) pcrs.set(Number(i), v);
  return pcrs;
}

export class TestNsmPki {
  readonly pki: EmulatorPki;
  constructor(stateDir: string) {
    this.pki = EmulatorPki.open({ stateDir });
  }
  get rootPem(): string {
    return this.pki.rootPem;
  }
  /** An enclave with these PCRs: `attest(spki)` returns a real NSM attestation document. */
  enclave(pcrs: Map<number, Uint8Array>): { attest: (spki: Uint8Array) => Promise<Uint8Array>; nsm: NsmClient } {
    const device = new EmulatedNsm(this.pki, new PcrBank(pcrs));
    const nsm = new NsmClient({ request: async (raw) => device.handle(raw), close: async () => undefined });
    return { nsm, attest: (publicKey) => nsm.attestation({ publicKey }) };
  }
}

export async function startKmsEmulator(opts: { rootPem: string; stateFile: string | null; tls?: { cert: string; key: string }; credentials?: EmulatorCredential[] }): Promise<KmsEmulator> {
  const emulator = new KmsEmulator({
    stateFile: opts.stateFile,
    credentials: opts.credentials ?? [PARENT_CREDENTIAL],
    region: REGION,
    account: ACCOUNT,
    tls: opts.tls,
    verifyRecipient: async (doc) => {
      const d = await verifyAttestationDocument(doc, { root: opts.rootPem, allowDebug: true, maxAgeMs: 5 * 60 * 1000 });
      return { pcrs: d.pcrs, publicKey: d.publicKey };
    },
  });
  await emulator.listen(0, '127.0.0.1');
  return emulator;
}

export function adminClient(url: string, cred: EmulatorCredential = PARENT_CREDENTIAL): KMSClient {
  return new KMSClient({
    region: REGION,
    endpoint: url,
    credentials: { accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey, sessionToken: cred.sessionToken },
    maxAttempts: 1,
  });
}

/** A key policy in the shape operators write: the parent administers, only the measured enclave decrypts. */
export function enclavePolicy(condition: Record<string, Record<string, string | string[]>>, actions = ['kms:Decrypt', 'kms:GenerateDataKey']): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ParentAdministers',
        Effect: 'Allow',
        Principal: { AWS: PARENT_CREDENTIAL.principalArn },
        Action: ['kms:CreateKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy', 'kms:Encrypt'],
        Resource: '*',
      },
      {
        Sid: 'EnclaveOnly',
        Effect: 'Allow',
        Principal: { AWS: PARENT_CREDENTIAL.principalArn },
        Action: actions,
        Resource: '*',
        Condition: condition,
      },
    ],
  });
}

export async function expectRejects(p: Promise<unknown>): Promise<Error & { name: string; $metadata?: { httpStatusCode?: number }; code?: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as never;
  }
  throw new Error('expected the promise to reject');
}
