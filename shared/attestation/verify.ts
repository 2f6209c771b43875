// Verifying a Nitro attestation document (AWS Nitro Enclaves guide, "Verifying the root of trust"):
// 1. syntax of the COSE_Sign1 envelope and the payload (document.ts);
// 2. certificate path from the PINNED root to the signing certificate at `at` (certificate-chain.ts);
// 3. the ES384 COSE signature with the signing certificate's key (cose.ts);
// 4. policy: debug mode, expected PCRs, nonce and freshness.
import { equalBytes, toHex } from '../bytes.js';
import { CosignerError } from '../errors.js';
import { verifyCertificateChain } from './certificate-chain.js';
import { verifyCoseSign1Es384 } from './cose.js';
import { decodeAttestation, type AttestationDocument } from './document.js';
import { certificateDer } from './root-pin.js';

export type { AttestationDocument } from './document.js';
export { parseAttestationDocument, isDebugPcrs } from './document.js';
export { AWS_NITRO_ROOT_G1_SHA256, AWS_NITRO_ROOT_G1_PEM, AWS_NITRO_ROOT_G1_DER } from './aws-root.js';
export { certificateFingerprint, pinnedRootDer } from './root-pin.js';

export interface VerifyOptions {
  /** The trust anchor: PEM text or DER. Production passes the fingerprint-pinned AWS root. */
  root: string | Uint8Array;
  /** Time at which certificates must be valid; default now. */
  at?: Date;
  /** Accept documents from an enclave in debug mode (PCR0/1/2 zero). Never in production. */
  allowDebug?: boolean;
  expectedPcrs?: Record<number, Uint8Array>;
  expectedNonce?: Uint8Array;
  /** Reject documents whose timestamp is older than this (relative to `at`). */
  maxAgeMs?: number;
}

/** How far a document's timestamp may lie ahead of the verifier's clock when freshness is checked. */
export const MAX_CLOCK_SKEW_MS = 60_000;

function invalid(reason: string): never {
  throw new CosignerError('ATTESTATION_INVALID', reason);
}

function checkPolicy(d: AttestationDocument, opts: VerifyOptions, at: Date): void {
  if (d.debug && !opts.allowDebug) invalid('document comes from an enclave in debug mode (PCR0/1/2 are zero)');
  for (const [key, expected] of Object.entries(opts.expectedPcrs ?? {})) {
    const index = Number(key);
    const actual = d.pcrs.get(index);
    if (!actual) invalid(`PCR${index} is absent from the document`);
    if (!equalBytes(actual, expected)) invalid(`PCR${index} does not match: document has ${toHex(actual)}, expected ${toHex(expected)}`);
  }
  if (opts.expectedNonce !== undefined && (d.nonce === null || !equalBytes(d.nonce, opts.expectedNonce))) {
    invalid('nonce does not match the expected nonce');
  }
  if (opts.maxAgeMs !== undefined) {
    const age = at.getTime() - d.timestamp;
    if (age > opts.maxAgeMs) invalid(`document is ${age} ms old, more than the allowed ${opts.maxAgeMs} ms`);
    if (-age > MAX_CLOCK_SKEW_MS) invalid(`document timestamp is ${-age} ms in the future`);
  }
}

/** Verify a document end to end; resolves with its contents, rejects with ATTESTATION_INVALID. */
export async function verifyAttestationDocument(doc: Uint8Array, opts: VerifyOptions): Promise<AttestationDocument> {
  const at = opts.at ?? new Date();
  if (Number.isNaN(at.getTime())) invalid('verification time is not a valid date');
  const pinnedRoot = certificateDer(opts.root);
  const { cose, document } = decodeAttestation(doc);
  const signerKey = verifyCertificateChain({ pinnedRoot, cabundle: document.cabundle, certificate: document.certificate, at });
  verifyCoseSign1Es384(cose, signerKey);
  checkPolicy(document, opts, at);
  return document;
}
