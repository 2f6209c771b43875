// `cosigner setup <pairing-token> [--state-dir <dir>] [--timeout <s>]` (and `add-user`, the same for
// a further API user): hands the token to the running parent daemon through its state folder and
// waits for the outcome; `cosigner status [--state-dir <dir>]` prints what the enclave holds. The
// token is read by the enclave, which pins the coordinator's service key from it: it must reach the
// machine unaltered (copy it from the coordinator's output, not through a channel others can edit).
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodePairingToken } from '../../shared/cosigner-api/pairing-token.js';
import { createPublicKey } from 'node:crypto';
import { encodeSetupRequest, statusPath } from '../cosigner-service.js';
import { DEFAULT_STATE_DIR, requestFromDaemon, timeoutOption } from './daemon-request.js';
import type { CallbackSetup } from '../pairing/pair-with-coordinator.js';
import type { CommandIo } from './verify-attestation.js';

const USAGE = 'usage: cosigner setup <pairing-token> [--callback-url <https://…> --callback-public-key <handler.pub PEM>] [--allow-plain-http-callback] [--state-dir <dir>] [--timeout <seconds>]';

/** The handler's public key file (PEM) as DER SPKI; null with neither option; an error string otherwise. */
export function callbackFrom(values: { 'callback-url'?: string; 'callback-public-key'?: string; 'allow-plain-http-callback'?: boolean }): CallbackSetup | null | string {
  const url = values['callback-url'];
  const keyFile = values['callback-public-key'];
  if (url === undefined && keyFile === undefined) return null;
  if (url === undefined || keyFile === undefined) return '--callback-url and --callback-public-key go together';
  let spki: Uint8Array;
  try {
    spki = new Uint8Array(createPublicKey(readFileSync(keyFile, 'utf8')).export({ format: 'der', type: 'spki' }));
  } catch {
    return `cannot read an RSA public key (PEM) from ${keyFile}`;
  }
  return { url, handlerPublicKeySpki: spki, allowPlainHttp: values['allow-plain-http-callback'] === true };
}

export async function setupCommand(argv: string[], io: CommandIo): Promise<number> {
  let values: { 'state-dir'?: string; timeout?: string; 'callback-url'?: string; 'callback-public-key'?: string; 'allow-plain-http-callback'?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'state-dir': { type: 'string' }, timeout: { type: 'string' }, 'callback-url': { type: 'string' }, 'callback-public-key': { type: 'string' }, 'allow-plain-http-callback': { type: 'boolean' } } }));
  } catch (e) {
    io.stderr(`cosigner setup: ${(e as Error).message}`);
    return 2;
  }
  if (positionals.length !== 1) {
    io.stderr(USAGE);
    return 2;
  }
  const text = positionals[0]!.trim();
  let token;
  try {
    token = decodePairingToken(text);
  } catch {
    io.stderr('cosigner setup: that is not a pairing token (copy it whole from the coordinator)');
    return 2;
  }
  const callback = callbackFrom(values);
  if (typeof callback === 'string') {
    io.stderr(`cosigner setup: ${callback}`);
    return 2;
  }
  const stateDir = values['state-dir'] ?? DEFAULT_STATE_DIR;
  if (!existsSync(stateDir)) {
    io.stderr(`cosigner setup: state folder ${stateDir} does not exist (is the parent daemon installed here?)`);
    return 2;
  }
  const timeoutMs = timeoutOption(values.timeout);
  if (timeoutMs === null) {
    io.stderr('cosigner setup: --timeout must be a positive number of seconds');
    return 2;
  }
  io.stderr(`pairing with ${token.url} (service key SHA-256 ${token.serviceKeySha256}); waiting for the parent daemon…`);
  const r = await requestFromDaemon(stateDir, token.tokenId, 'token', encodeSetupRequest({ pairingToken: text, callback }), timeoutMs,
    () => io.stderr('cosigner setup: this token is already waiting for the daemon'));
  if (r === null) {
    io.stderr('cosigner setup: the parent daemon did not answer in time (is it running? `cosigner status`); the request stays queued');
    return 1;
  }
  if (!r.ok) {
    io.stderr(`cosigner setup: pairing failed: ${r.error}`);
    return 1;
  }
  io.stdout(`paired: co-signer ${String(r.cosignerId)}, workspace ${String(r.workspaceId)}, API user ${String(r.userId)}`);
  io.stdout(`pinned coordinator service key SHA-256 ${String(r.serviceKeySha256)}`);
  return 0;
}

export async function statusCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'state-dir': { type: 'string' } } });
  const path = statusPath(values['state-dir'] ?? DEFAULT_STATE_DIR);
  if (!existsSync(path)) {
    io.stderr(`cosigner status: no status yet at ${path} (the parent daemon writes it once the enclave is ready)`);
    return 1;
  }
  const s = JSON.parse(readFileSync(path, 'utf8')) as { updatedAt: string; stateVersion: number; pairings: Array<Record<string, string | null>> };
  io.stdout(`enclave state version ${s.stateVersion} (as of ${s.updatedAt})`);
  for (const p of s.pairings) {
    io.stdout(`${p.status === 'active' ? 'paired ' : 'pending'} co-signer ${p.cosignerId ?? '-'} workspace ${p.workspaceId ?? '-'} user ${p.userId ?? '-'} at ${p.coordinatorUrl}, service key SHA-256 ${p.serviceKeySha256}, callback ${p.callbackUrl ? `${p.callbackUrl} (handler key SHA-256 ${p.callbackKeySha256}, version ${p.callbackVersion ?? 0})` : 'none (requests approved)'}`);
  }
  if (s.pairings.length === 0) io.stdout('not paired: run `cosigner setup <pairing-token>`');
  // The file is the parent's: on a parent you do not trust, compare these with the coordinator and the handler.
  return 0;
}

/** `cosigner print-public-key`: the RSA key callback handlers verify this co-signer's requests with (PEM). */
export async function printPublicKeyCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'state-dir': { type: 'string' } } });
  const path = statusPath(values['state-dir'] ?? DEFAULT_STATE_DIR);
  if (!existsSync(path)) {
    io.stderr(`cosigner print-public-key: no status yet at ${path} (the parent daemon writes it once the enclave is ready)`);
    return 1;
  }
  const s = JSON.parse(readFileSync(path, 'utf8')) as { callbackSigningKeyPem: string };
  for (const l of s.callbackSigningKeyPem.trimEnd().split('\n')) io.stdout(l);
  return 0;
}
