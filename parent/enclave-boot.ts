// What the parent does each time it (re)connects to the enclave: hand it the sealed file and
// credentials, store a first-boot file create-only, confirm the store with a second Boot (so a
// lost answer can never lose state), then ask for an attestation document and show its PCRs.
// The parent's own attestation check is for the operator's eyes only: the parent is untrusted,
// the checks that matter happen in KMS (key policy) and in the coordinator (pairing).
import { randomBytes } from 'node:crypto';
import type { RpcClient } from '../shared/channel/rpc.js';
import { EnclaveMessages } from '../shared/messages.js';
import { verifyAttestationDocument, type AttestationDocument } from '../shared/attestation/verify.js';
import { toHex } from '../shared/bytes.js';
import type { Logger } from '../shared/log.js';
import { resolveCredentials } from './credentials.js';
import type { SealedStore } from './sealed-store.js';
import type { ParentConfig } from './config.js';

export interface BootReport {
  outcome: 'initialised' | 'unsealed' | 'already-booted';
  pcrs: Map<number, Uint8Array>;
  moduleId: string;
  callbackSigningKeySpki: Uint8Array;
  identityPublicKey: Uint8Array;
}

const BOOT_TIMEOUT_MS = 120_000;

export async function bootEnclave(
  client: RpcClient<typeof EnclaveMessages>,
  store: SealedStore,
  cfg: ParentConfig,
  log: Logger,
): Promise<BootReport> {
  await store.removeStaleTempFiles();
  // A corrupt file stops here (SEALED_STORE_ERROR) and stays exactly as it is.
  const onDisk = await store.read();
  const creds = await resolveCredentials({ source: cfg.credentials.source, imdsBaseUrl: cfg.credentials.imdsBaseUrl });
  const { source: _source, ...credentials } = creds;
  log.info({ sealed: onDisk ? 'present' : 'absent', credentials: creds.source }, 'booting enclave');

  let res = await client.call('Boot', { credentials, sealed: onDisk }, { timeoutMs: BOOT_TIMEOUT_MS });
  if (res.toStore) {
    await store.create(res.toStore);
    log.info({ path: store.path }, 'stored the new sealed state');
    // The enclave hands the file out until it sees it back; this closes that loop.
    res = { ...(await client.call('Boot', { credentials, sealed: res.toStore }, { timeoutMs: BOOT_TIMEOUT_MS })), outcome: res.outcome };
  }

  const nonce = new Uint8Array(randomBytes(32));
  const { document } = await client.call('GetAttestation', { nonce });
  const doc: AttestationDocument = await verifyAttestationDocument(document, {
    root: cfg.attestationRootPem,
    allowDebug: cfg.allowDebugAttestation,
    expectedNonce: nonce,
    maxAgeMs: 5 * 60_000,
  });
  return {
    outcome: res.outcome as BootReport['outcome'],
    pcrs: doc.pcrs,
    moduleId: doc.moduleId,
    callbackSigningKeySpki: res.callbackSigningKeySpki,
    identityPublicKey: res.identityPublicKey,
  };
}

export function describePcrs(pcrs: Map<number, Uint8Array>): string[] {
  return [0, 1, 2, 3, 4, 8].filter((i) => pcrs.has(i)).map((i) => `PCR${i} ${toHex(pcrs.get(i)!)}`);
}
