// `cosigner setup <pairing-token> [--state-dir <dir>] [--timeout <s>]` (and `add-user`, the same for
// a further API user): hands the token to the running parent daemon through its state folder and
// waits for the outcome; `cosigner status [--state-dir <dir>]` prints what the enclave holds. The
// token is read by the enclave, which pins the coordinator's service key from it: it must reach the
// machine unaltered (copy it from the coordinator's output, not through a channel others can edit).
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodePairingToken } from '../../shared/cosigner-api/pairing-token.js';
import { createPublicKey } from 'node:crypto';
import { encodeSetupRequest, setupDir, statusPath } from '../cosigner-service.js';
import type { CallbackSetup } from '../pairing/pair-with-coordinator.js';
import type { CommandIo } from './verify-attestation.js';

const DEFAULT_STATE_DIR = '/var/lib/cosigner';
const USAGE = 'usage: cosigner setup <pairing-token> [--callback-url <https://…> --callback-public-key <handler.pub PEM>] [--allow-plain-http-callback] [--state-dir <dir>] [--timeout <seconds>]';

/** The handler's public key file (PEM) as DER SPKI; null with neither option; an error string otherwise. */
function callbackFrom(values: { 'callback-url'?: string; 'callback-public-key'?: string; 'allow-plain-http-callback'?: boolean }): CallbackSetup | null | string {
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
  const timeoutMs = Number(values.timeout ?? 180) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    io.stderr('cosigner setup: --timeout must be a positive number of seconds');
    return 2;
  }
  const dir = setupDir(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const result = join(dir, `${token.tokenId}.result.json`);
  // An answer to an earlier run with this token is not this run's answer.
  rmSync(result, { force: true });
  // Written whole under a temporary name, then linked in place: the daemon never reads half a request.
  const tmp = join(dir, `.${token.tokenId}.${process.pid}.tmp`);
  writeFileSync(tmp, encodeSetupRequest({ pairingToken: text, callback }), { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, join(dir, `${token.tokenId}.token`));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    io.stderr('cosigner setup: this token is already waiting for the daemon');
  } finally {
    rmSync(tmp, { force: true });
  }
  io.stderr(`pairing with ${token.url} (service key SHA-256 ${token.serviceKeySha256}); waiting for the parent daemon…`);
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (existsSync(result)) {
      const r = JSON.parse(readFileSync(result, 'utf8')) as { ok: boolean; error?: string; cosignerId?: string; workspaceId?: string; userId?: string; serviceKeySha256?: string };
      if (!r.ok) {
        io.stderr(`cosigner setup: pairing failed: ${r.error}`);
        return 1;
      }
      io.stdout(`paired: co-signer ${r.cosignerId}, workspace ${r.workspaceId}, API user ${r.userId}`);
      io.stdout(`pinned coordinator service key SHA-256 ${r.serviceKeySha256}`);
      return 0;
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  io.stderr('cosigner setup: the parent daemon did not answer in time (is it running? `cosigner status`); the request stays queued');
  return 1;
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
    io.stdout(`${p.status === 'active' ? 'paired ' : 'pending'} co-signer ${p.cosignerId ?? '-'} workspace ${p.workspaceId ?? '-'} user ${p.userId ?? '-'} at ${p.coordinatorUrl}, service key SHA-256 ${p.serviceKeySha256}, callback ${p.callbackUrl ? `${p.callbackUrl} (handler key SHA-256 ${p.callbackKeySha256})` : 'none (requests approved)'}`);
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
