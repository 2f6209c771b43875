// The HTTP side: two POST endpoints under an optional base path, a bounded body, a verified JWT in,
// a signed JWT out. Anything that is not a request signed by the co-signer gets a status code and
// no JWT, so a forged request can never obtain a signed answer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import {
  CONFIG_CHANGE_PATH,
  RequestError,
  TX_SIGN_PATH,
  signAnswer,
  verifyConfigChangeRequest,
  verifyTxSignRequest,
  type Action,
  type SignKey,
  type VerifyKey,
} from './protocol.js';
import type { ConfigChangeRule, Decision, Rule } from './rules.js';

export const DEFAULT_BODY_LIMIT = 64 * 1024;

export interface HandlerOptions {
  cosignerPublicKey: VerifyKey;
  handlerPrivateKey: SignKey;
  txRule: Rule;
  configChangeRule: ConfigChangeRule;
  /** Path prefix of the base URL the co-signer was given, e.g. "/hooks/acme"; default none. */
  basePath?: string;
  bodyLimit?: number;
  logger?: Logger;
}

export interface RunningHandler {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export function normaliseBasePath(p: string | undefined): string {
  if (p === undefined || p === '' || p === '/') return '';
  if (!p.startsWith('/') || p.includes('?') || p.includes('#')) throw new Error(`basePath must be a path starting with "/": ${p}`);
  return p.replace(/\/+$/, '');
}

class TooLarge extends Error {}

// Reads at most `limit` bytes; a declared or actual excess stops reading at once.
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return reject(new TooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        reject(new TooLarge());
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// After a 413 the rest of the body is read and dropped, so that closing the socket does not reset
// the connection before the client has read its answer; past `max` more bytes the socket is cut.
function discardRest(req: IncomingMessage, max: number): void {
  let more = 0;
  req.on('data', (c: Buffer) => {
    more += c.length;
    if (more > max) req.socket.destroy();
  });
  req.resume();
}

function send(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra });
  res.end(body);
}

export function createHandler(opts: HandlerOptions): Server {
  const base = normaliseBasePath(opts.basePath);
  const limit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const log = opts.logger ?? pino({ level: 'info' });
  const txPath = base + TX_SIGN_PATH;
  const ccPath = base + CONFIG_CHANGE_PATH;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://handler').pathname;
    const kind = path === txPath ? 'tx_sign_request' : path === ccPath ? 'config_change_sign_request' : undefined;
    if (!kind) return send(res, 404, 'not found\n');
    if (req.method !== 'POST') return send(res, 405, 'method not allowed\n', { allow: 'POST' });

    let body: string;
    try {
      body = await readBody(req, limit);
    } catch (e) {
      if (e instanceof TooLarge) {
        log.warn({ kind, status: 413 }, `request body over ${limit} bytes`);
        discardRest(req, 16 * limit);
        return send(res, 413, 'payload too large\n', { connection: 'close' });
      }
      throw e;
    }

    let requestId: string;
    let decision: Decision;
    try {
      if (kind === 'tx_sign_request') {
        const claims = await verifyTxSignRequest(body, opts.cosignerPublicKey);
        requestId = claims.requestId;
        decision = await opts.txRule(claims);
      } else {
        const claims = await verifyConfigChangeRequest(body, opts.cosignerPublicKey);
        requestId = claims.requestId;
        decision = await decideConfigChange(opts.configChangeRule, claims);
      }
    } catch (e) {
      if (e instanceof RequestError) {
        const status = e.kind === 'unauthenticated' ? 401 : 400;
        log.warn({ kind, status }, e.message);
        return send(res, status, e.kind === 'unauthenticated' ? 'unauthorized\n' : 'bad request\n');
      }
      throw e;
    }

    const answer = {
      action: decision.action,
      requestId,
      ...(decision.action === 'REJECT' ? { rejectionReason: decision.reason ?? 'rejected' } : {}),
    };
    const token = await signAnswer(answer, opts.handlerPrivateKey);
    // One line per decision; never the JWTs or keys.
    log.info({ kind, requestId, action: decision.action, ...(decision.reason ? { reason: decision.reason } : {}) }, 'decision');
    send(res, 200, token);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log.error({ err: e instanceof Error ? e.message : String(e) }, 'internal error');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  // The co-signer gives up after 30 s; a client slower than that at sending its body is not one.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return server;
}

// Config-change rules may also IGNORE (the protocol allows it for approvals); a throwing rule or an
// unknown action is a REJECT.
async function decideConfigChange(rule: ConfigChangeRule, claims: Parameters<ConfigChangeRule>[0]): Promise<Decision> {
  const allowed: readonly Action[] = ['APPROVE', 'REJECT', 'RETRY', 'IGNORE'];
  try {
    const d = await rule(claims);
    if (d && allowed.includes(d.action)) return d;
    return { action: 'REJECT', reason: 'the config-change rule gave no valid decision' };
  } catch {
    return { action: 'REJECT', reason: 'the config-change rule failed' };
  }
}

/** Starts the handler; host defaults to loopback, so exposing it is a deliberate choice (put TLS
 *  in front of it: the co-signer calls an https URL). */
export async function startHandler(opts: HandlerOptions & { port?: number; host?: string }): Promise<RunningHandler> {
  const server = createHandler(opts);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${shownHost}:${addr.port}${normaliseBasePath(opts.basePath)}`;
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
