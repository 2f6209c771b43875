// The co-signer's configuration commands as the operator's logs tell them: one line per setup,
// add-user and callback-update the daemon handled, with its outcome, in run.log (the history the
// coordinator gets a copy of) and in customer_cosigner.log (with the pairing's start and retries).
// A pairing is "setup" when it is this co-signer's first and "add-user" after that: both commands
// hand the daemon the same request. Tokens never appear: a pairing is named by its token id.
import type { CallbackSetup } from '../pairing/pair-with-coordinator.js';
import type { PairingRecord } from '../pairing/pairing-records.js';
import { createHash } from 'node:crypto';
import type { CustomerLog } from './customer-log.js';

export type PairingCommand = 'setup' | 'add-user';

const CLASS = 'CosignerService';
const method = (c: PairingCommand | 'callback-update') => (c === 'setup' ? 'setup' : c === 'add-user' ? 'addUser' : 'callbackUpdate');

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}

function describeCallback(c: CallbackSetup | null): string {
  if (!c) return 'no callback handler (requests approved unasked)';
  let where: string;
  try {
    const u = new URL(c.url);
    where = u.origin + u.pathname; // never a query or credentials
  } catch {
    where = '(not a URL)';
  }
  return `callback handler ${where} (handler key SHA-256 ${createHash('sha256').update(c.handlerPublicKeySpki).digest('hex')})`;
}

export class ConfigurationHistory {
  constructor(private readonly o: { customerLog?: CustomerLog; runLog?: CustomerLog }) {}

  private both(level: 'info' | 'warn' | 'error', m: string, message: string): void {
    this.o.customerLog?.[level](CLASS, m, message);
    this.o.runLog?.[level](CLASS, m, message);
  }

  pairingStarted(command: PairingCommand, tokenId: string, coordinatorUrl: string): void {
    this.o.customerLog?.info(CLASS, method(command), `${command}: pairing with ${originOf(coordinatorUrl)} (pairing token ${tokenId})`);
  }

  paired(command: PairingCommand, r: PairingRecord, serviceKeySha256: string, callback: CallbackSetup | null): void {
    this.both('info', method(command), `${command}: paired with ${originOf(r.coordinatorUrl)} as co-signer ${r.cosignerId} (workspace ${r.workspaceId}, API user ${r.userId}, pairing token ${r.tokenId}); pinned service key SHA-256 ${serviceKeySha256}; ${describeCallback(callback)}`);
  }

  pairingFailed(command: PairingCommand, tokenId: string, reason: string): void {
    this.both('error', method(command), `${command}: pairing with token ${tokenId} failed: ${reason}`);
  }

  /** A passing failure: the request stays queued (not history yet, so only the customer log). */
  willRetry(command: PairingCommand | 'callback-update', requestId: string, retryInMs: number, reason: string): void {
    this.o.customerLog?.warn(CLASS, method(command), `${command}: request ${requestId} will be tried again in ${Math.round(retryInMs / 1000)} s: ${reason}`);
  }

  callbackUpdated(cosignerId: string, changed: boolean, callbackVersion: number): void {
    this.both('info', method('callback-update'), changed
      ? `callback-update: co-signer ${cosignerId} moved to a new callback handler (callback version ${callbackVersion}), signed by its API user's key`
      : `callback-update: co-signer ${cosignerId} is at callback version ${callbackVersion} already; nothing changed`);
  }

  callbackUpdateFailed(requestId: string, cosignerId: string | null, reason: string): void {
    this.both('error', method('callback-update'), `callback-update: request ${requestId}${cosignerId ? ` for co-signer ${cosignerId}` : ''} refused: ${reason}`);
  }
}
