// The enclave's state report, sent with every poll and result: (stateVersion, stateDigest) signed
// by its identity key (Ed25519) with the co-signer id, what it accompanies ('poll' or the work item
// id of a result) and the enclave's time, so a report cannot be moved to another co-signer or
// request, nor kept for long. The coordinator refuses a version older than the highest it saw.
import { sign, verify, type KeyObject } from 'node:crypto';
import { signingBytes } from './canonical-json.js';

export const STATE_REPORT_DOMAIN = 'nitro-cosigner/state-report/v1';
/** How far a report's `at` may be from the coordinator's clock. */
export const STATE_REPORT_MAX_SKEW_MS = 5 * 60_000;

export interface StateReport {
  stateVersion: number;
  /** SHA-256 of the sealed state, hex. */
  stateDigest: string;
  /** Milliseconds since the epoch, the enclave's clock. */
  at: number;
  /** base64 Ed25519 signature by the identity key. */
  signature: string;
}

export interface StateReportContext {
  cosignerId: string;
  /** 'poll', or 'result:<work item id>'. */
  purpose: string;
}

export function stateReportSigningBytes(r: Omit<StateReport, 'signature'>, ctx: StateReportContext): Uint8Array {
  return signingBytes(STATE_REPORT_DOMAIN, { cosignerId: ctx.cosignerId, purpose: ctx.purpose, stateVersion: r.stateVersion, stateDigest: r.stateDigest, at: r.at });
}

export function signStateReport(r: Omit<StateReport, 'signature'>, ctx: StateReportContext, identityKey: KeyObject): StateReport {
  return { ...r, signature: sign(null, stateReportSigningBytes(r, ctx), identityKey).toString('base64') };
}

export function verifyStateReport(r: StateReport, ctx: StateReportContext, identityPublicKey: KeyObject): boolean {
  const sig = Buffer.from(r.signature, 'base64');
  if (sig.length !== 64) return false;
  try {
    return verify(null, stateReportSigningBytes(r, ctx), identityPublicKey, sig);
  } catch {
    return false;
  }
}
