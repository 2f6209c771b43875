// `cosigner callback-update`: a new callback handler (URL and public key) for a paired API user.
// The enclave takes the change only signed by that API user's own key, the RSA key it signs REST
// API requests with (DESIGN.md "Callback handler"), so it is made in one of two ways:
//   --user-key <pem>       here, with the key at hand: build, sign, hand to the daemon;
//   --print-request        print the change to be signed; the API user signs it where its key is
//                          (`cosigner sign-callback-update --user-key <pem> --callback-url <url>
//                          --callback-public-key <pem> <request.json>`, which signs only the handler
//                          it is given), and
//   --signed <file>        hands the signed change to the daemon.
// The parent builds nothing the enclave trusts: the request's ids and sequence come from
// `cosigner status`, and a wrong one is only refused by the enclave.
import { createHash, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeJwt } from 'jose';
import { CallbackUpdateClaimsSchema, callbackUpdateClaims, signCallbackUpdate, type CallbackUpdateClaims } from '../../shared/cosigner-api/callback-update.js';
import { parse } from '../../shared/schema.js';
import { encodeCallbackUpdateRequest, statusPath } from '../cosigner-service.js';
import { callbackFrom } from './setup.js';
import { DEFAULT_STATE_DIR, requestFromDaemon, timeoutOption } from './daemon-request.js';
import type { CommandIo } from './verify-attestation.js';

const USAGE = [
  'usage: cosigner callback-update --callback-url <https://…> --callback-public-key <handler.pub PEM> [--allow-plain-http-callback]',
  '         [--cosigner-id <id>] (--user-key <API user private key PEM> | --print-request) [--state-dir <dir>] [--timeout <seconds>]',
  '       cosigner callback-update --signed <file> [--state-dir <dir>] [--timeout <seconds>]',
].join('\n');

interface StatusPairing { status: string; cosignerId: string | null; workspaceId: string | null; userId: string | null; callbackVersion?: number; userKeySha256?: string | null }

function pairingFromStatus(stateDir: string, cosignerId: string | undefined): StatusPairing | string {
  const path = statusPath(stateDir);
  if (!existsSync(path)) return `no status at ${path} (is the parent daemon running?)`;
  const status = JSON.parse(readFileSync(path, 'utf8')) as { pairings: StatusPairing[] };
  const active = status.pairings.filter((p) => p.status === 'active');
  if (cosignerId !== undefined) return active.find((p) => p.cosignerId === cosignerId) ?? `no active pairing with co-signer id ${cosignerId} (see \`cosigner status\`)`;
  if (active.length === 1) return active[0]!;
  return `${active.length} API users are paired here: name one with --cosigner-id (see \`cosigner status\`)`;
}

function readPrivateKey(file: string): KeyObject | string {
  try {
    const k = createPrivateKey(readFileSync(file, 'utf8'));
    if (k.asymmetricKeyType !== 'rsa') return `${file} is not an RSA private key (API user keys are RSA)`;
    return k;
  } catch {
    return `cannot read a private key (PEM) from ${file}`;
  }
}

function describe(c: CallbackUpdateClaims): string {
  const keySha = createHash('sha256').update(Buffer.from(c.callback.publicKey, 'base64')).digest('hex');
  return `callback change ${c.sequence} for co-signer ${c.cosignerId} (workspace ${c.workspaceId}, API user ${c.userId}): ${c.callback.url}, handler key SHA-256 ${keySha}${c.callback.allowPlainHttp ? ', plain http allowed' : ''}`;
}

async function submit(stateDir: string, jws: string, cosignerId: string, timeout: string | undefined, io: CommandIo): Promise<number> {
  const timeoutMs = timeoutOption(timeout);
  if (timeoutMs === null) {
    io.stderr('cosigner callback-update: --timeout must be a positive number of seconds');
    return 2;
  }
  const id = `cb-${randomBytes(8).toString('hex')}`;
  const r = await requestFromDaemon(stateDir, id, 'callback-update', encodeCallbackUpdateRequest({ cosignerId, update: jws }), timeoutMs, () => undefined);
  if (r === null) {
    io.stderr('cosigner callback-update: the parent daemon did not answer in time (is it running?); the request stays queued');
    return 1;
  }
  if (!r.ok) {
    io.stderr(`cosigner callback-update: refused: ${r.error}`);
    return 1;
  }
  io.stdout(r.changed ? `callback changed: co-signer ${cosignerId} is at callback version ${String(r.callbackVersion)}` : `callback already at this change (version ${String(r.callbackVersion)}); nothing changed`);
  return 0;
}

export async function callbackUpdateCommand(argv: string[], io: CommandIo): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'callback-url': { type: 'string' }, 'callback-public-key': { type: 'string' }, 'allow-plain-http-callback': { type: 'boolean' },
        'cosigner-id': { type: 'string' }, 'user-key': { type: 'string' }, 'print-request': { type: 'boolean' }, signed: { type: 'string' },
        'state-dir': { type: 'string' }, timeout: { type: 'string' },
      },
    }));
  } catch (e) {
    io.stderr(`cosigner callback-update: ${(e as Error).message}`);
    return 2;
  }
  const stateDir = (values['state-dir'] as string | undefined) ?? DEFAULT_STATE_DIR;
  const modes = ['user-key', 'print-request', 'signed'].filter((m) => values[m] !== undefined);
  if (modes.length !== 1) {
    io.stderr(USAGE);
    return 2;
  }

  if (values.signed !== undefined) {
    let jws: string;
    let cosignerId: unknown;
    try {
      jws = readFileSync(values.signed as string, 'utf8').trim();
      // Unverified, only to route it: the enclave verifies everything.
      cosignerId = decodeJwt(jws).cosignerId;
    } catch {
      io.stderr(`cosigner callback-update: ${String(values.signed)} does not hold a signed callback change (a compact JWS)`);
      return 2;
    }
    if (typeof cosignerId !== 'string') {
      io.stderr('cosigner callback-update: the signed change names no co-signer');
      return 2;
    }
    return submit(stateDir, jws, cosignerId, values.timeout as string | undefined, io);
  }

  const callback = callbackFrom(values as { 'callback-url'?: string; 'callback-public-key'?: string; 'allow-plain-http-callback'?: boolean });
  if (callback === null || typeof callback === 'string') {
    io.stderr(`cosigner callback-update: ${callback ?? '--callback-url and --callback-public-key are required'}`);
    return 2;
  }
  const p = pairingFromStatus(stateDir, values['cosigner-id'] as string | undefined);
  if (typeof p === 'string') {
    io.stderr(`cosigner callback-update: ${p}`);
    return 1;
  }
  let claims: CallbackUpdateClaims;
  try {
    claims = callbackUpdateClaims({
      cosignerId: p.cosignerId!, workspaceId: p.workspaceId!, userId: p.userId!, sequence: (p.callbackVersion ?? 0) + 1,
      callback: { url: callback.url, publicKey: Buffer.from(callback.handlerPublicKeySpki).toString('base64'), allowPlainHttp: callback.allowPlainHttp },
      issuedAt: Date.now(),
    });
  } catch (e) {
    io.stderr(`cosigner callback-update: ${(e as Error).message}`);
    return 2;
  }
  if (values['print-request']) {
    io.stderr(`sign this with the API user's key (cosigner sign-callback-update --user-key <pem> --callback-url <url> --callback-public-key <handler.pub> <file>), then: cosigner callback-update --signed <file>`);
    io.stdout(JSON.stringify(claims, null, 2));
    return 0;
  }
  const key = readPrivateKey(values['user-key'] as string);
  if (typeof key === 'string') {
    io.stderr(`cosigner callback-update: ${key}`);
    return 2;
  }
  // A friendly early word only; the enclave checks the signature itself.
  const sha = createHash('sha256').update(createPublicKey(key).export({ format: 'der', type: 'spki' })).digest('hex');
  if (p.userKeySha256 && p.userKeySha256 !== sha) io.stderr(`cosigner callback-update: warning: this key (SHA-256 ${sha}) is not the API user key the enclave holds (${p.userKeySha256}); the enclave will refuse the change`);
  io.stderr(describe(claims));
  return submit(stateDir, await signCallbackUpdate(claims, key), claims.cosignerId, values.timeout as string | undefined, io);
}

/**
 * `cosigner sign-callback-update --user-key <pem> --callback-url <url> --callback-public-key <pem>
 * <request.json>`: where the API user's key is; prints the signed change. The request came from
 * the parent, which may have put its own handler in it: it is signed only if its URL and handler
 * key are the ones given here, by the person signing.
 */
export async function signCallbackUpdateCommand(argv: string[], io: CommandIo): Promise<number> {
  let values: { 'user-key'?: string; 'callback-url'?: string; 'callback-public-key'?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'user-key': { type: 'string' }, 'callback-url': { type: 'string' }, 'callback-public-key': { type: 'string' } } }));
  } catch (e) {
    io.stderr(`cosigner sign-callback-update: ${(e as Error).message}`);
    return 2;
  }
  const expected = callbackFrom(values);
  if (values['user-key'] === undefined || positionals.length !== 1 || expected === null) {
    io.stderr('usage: cosigner sign-callback-update --user-key <API user private key PEM> --callback-url <url> --callback-public-key <handler.pub PEM> <request.json>');
    return 2;
  }
  if (typeof expected === 'string') {
    io.stderr(`cosigner sign-callback-update: ${expected}`);
    return 2;
  }
  const key = readPrivateKey(values['user-key']);
  if (typeof key === 'string') {
    io.stderr(`cosigner sign-callback-update: ${key}`);
    return 2;
  }
  let claims: CallbackUpdateClaims;
  try {
    claims = parse(CallbackUpdateClaimsSchema, JSON.parse(readFileSync(positionals[0]!, 'utf8')));
  } catch (e) {
    io.stderr(`cosigner sign-callback-update: ${positionals[0]} is not a callback change request: ${(e as Error).message}`);
    return 2;
  }
  if (claims.callback.url !== expected.url || claims.callback.publicKey !== Buffer.from(expected.handlerPublicKeySpki).toString('base64')) {
    io.stderr(`cosigner sign-callback-update: not signed: the request names another handler than the one given here (${describe(claims)})`);
    return 1;
  }
  io.stderr(`signing ${describe(claims)}`);
  io.stdout(await signCallbackUpdate(claims, key));
  return 0;
}
