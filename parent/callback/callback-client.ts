// The HTTP half of the callback exchange (DESIGN.md "Callback handler"; "The trust boundary is the
// design": the parent only ferries bytes). It POSTs the JWT the enclave signed to
// `{base}/v2/tx_sign_request` or `{base}/v2/config_change_sign_request` and hands back the raw
// body of a 200, or a plain-data failure. It never reads the JWT: the enclave verifies it.
//
// - Request body: the compact JWT, `Content-Type: text/plain; charset=utf-8`. Fireblocks does not
//   document the header its co-signer sends; its example handlers read the raw body whatever the
//   type (Express `bodyParser.text({type: '*/*'})`, Flask `request.data`, Spring `@RequestBody
//   String`). text/plain is what the body is; application/json would make JSON body parsers
//   (express.json()) answer 400 to a bare JWT, which is not JSON.
// - One deadline of 30 s covers connect, TLS, headers and the whole body: a handler that drips its
//   answer slower than that fails the request (DESIGN: no answer in 30 s fails it). No retry here.
// - The body is capped at 1 MiB while it streams (and up front from Content-Length); the rest is
//   never read.
// - Non-200 (redirects included: none are followed) is a failure carrying the status.
// - HTTPS with Node's default trust store, or only the pinned CA / self-signed certificate PEM when
//   `caPem` is given. http:// is refused unless `allowPlainHttp` (local stacks and tests).
import * as http from 'node:http';
import * as https from 'node:https';
import { CosignerError } from '../../shared/errors.js';
import type { CallbackHttpOutcome, CallbackKind, CallbackTransportCode } from '../../shared/callback/claims.js';
import { CALLBACK_KINDS } from '../../shared/callback/claims.js';
import { CALLBACK_RESPONSE_MAX_BYTES } from '../../shared/callback/response-jwt.js';

export const CALLBACK_TIMEOUT_MS = 30_000;
export const CALLBACK_MAX_RESPONSE_BYTES = CALLBACK_RESPONSE_MAX_BYTES;
export const CALLBACK_REQUEST_CONTENT_TYPE = 'text/plain; charset=utf-8';

export interface CallbackClientOptions {
  /** The handler's base URL, possibly with a path of its own (https://h.example/hooks/acme). */
  baseUrl: string;
  /** Trust only these PEM certificates (a private CA, or the handler's self-signed certificate). */
  caPem?: string | string[];
  /** Permit http:// (local use only). */
  allowPlainHttp?: boolean;
  /** Total deadline per POST; 30 s unless a test shortens it. */
  timeoutMs?: number;
  /** Body cap; 1 MiB. */
  maxResponseBytes?: number;
}

/** The endpoint for one kind of request; CALLBACK_URL_INVALID for a base URL that cannot be used. */
export function callbackEndpoint(baseUrl: string, kind: CallbackKind, opts: { allowPlainHttp?: boolean } = {}): URL {
  if (!CALLBACK_KINDS.includes(kind)) throw new CosignerError('CALLBACK_URL_INVALID', 'unknown callback endpoint', { reason: 'kind' });
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new CosignerError('CALLBACK_URL_INVALID', 'the callback URL is not a valid absolute URL', { reason: 'malformed' });
  }
  if (url.protocol === 'http:') {
    if (!opts.allowPlainHttp) throw new CosignerError('CALLBACK_URL_INVALID', 'the callback URL must be https:// (plain http is for local use, with allowPlainHttp)', { reason: 'plain-http' });
  } else if (url.protocol !== 'https:') {
    throw new CosignerError('CALLBACK_URL_INVALID', 'the callback URL must be https://', { reason: 'scheme' });
  }
  if (url.username || url.password) throw new CosignerError('CALLBACK_URL_INVALID', 'the callback URL must not carry credentials', { reason: 'credentials' });
  if (url.search || url.hash || baseUrl.includes('?') || baseUrl.includes('#')) {
    throw new CosignerError('CALLBACK_URL_INVALID', 'the callback URL must not carry a query or fragment', { reason: 'query' });
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v2/${kind}`;
  return url;
}

export class CallbackClient {
  private readonly opts: CallbackClientOptions;
  private readonly endpoints: Record<CallbackKind, URL>;

  /** Validates the base URL now (CALLBACK_URL_INVALID), so a bad one is refused at configuration. */
  constructor(opts: CallbackClientOptions) {
    this.opts = opts;
    this.endpoints = {
      tx_sign_request: callbackEndpoint(opts.baseUrl, 'tx_sign_request', opts),
      config_change_sign_request: callbackEndpoint(opts.baseUrl, 'config_change_sign_request', opts),
    };
  }

  endpoint(kind: CallbackKind): URL {
    return new URL(this.endpoints[kind].href);
  }

  /** POSTs the JWT; resolves to the raw 200 answer or a failure. Never rejects. */
  post(kind: CallbackKind, jwt: string): Promise<CallbackHttpOutcome> {
    const url = this.endpoints[kind];
    if (!url) return Promise.resolve({ ok: false, code: 'CALLBACK_URL_INVALID', message: 'unknown callback endpoint' });
    return postOnce(url, jwt, this.opts);
  }
}

function postOnce(url: URL, jwt: string, opts: CallbackClientOptions): Promise<CallbackHttpOutcome> {
  const timeoutMs = opts.timeoutMs ?? CALLBACK_TIMEOUT_MS;
  const cap = opts.maxResponseBytes ?? CALLBACK_MAX_RESPONSE_BYTES;
  const body = Buffer.from(jwt, 'utf8');

  return new Promise<CallbackHttpOutcome>((resolve) => {
    let settled = false;
    let req: http.ClientRequest | undefined;
    const finish = (outcome: CallbackHttpOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!outcome.ok) req?.destroy();
      resolve(outcome);
    };
    const fail = (code: CallbackTransportCode, message: string, status?: number): void => {
      finish(status === undefined ? { ok: false, code, message } : { ok: false, code, message, status });
    };
    const timer = setTimeout(() => fail('CALLBACK_TIMEOUT', `the callback handler gave no complete answer within ${timeoutMs} ms`), timeoutMs);

    const options: https.RequestOptions = {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': CALLBACK_REQUEST_CONTENT_TYPE,
        'content-length': String(body.length),
        accept: '*/*',
        'user-agent': 'nitro-cosigner-callback',
      },
    };
    if (url.protocol === 'https:') {
      options.minVersion = 'TLSv1.2';
      if (opts.caPem !== undefined) options.ca = opts.caPem;
    }
    try {
      req = (url.protocol === 'https:' ? https : http).request(url, options, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          res.destroy();
          fail('CALLBACK_HTTP_STATUS', `the callback handler answered HTTP ${status}`, status);
          return;
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > cap) {
          res.destroy();
          fail('CALLBACK_RESPONSE_TOO_LARGE', `the callback response declares ${declared} bytes; the cap is ${cap}`);
          return;
        }
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          total += chunk.length;
          if (total > cap) {
            res.destroy();
            fail('CALLBACK_RESPONSE_TOO_LARGE', `the callback response is over the cap of ${cap} bytes`);
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const ct = res.headers['content-type'];
          finish({ ok: true, status: 200, contentType: typeof ct === 'string' ? ct : undefined, body: new Uint8Array(Buffer.concat(chunks, total)) });
        });
        res.on('error', (e: NodeJS.ErrnoException) => fail('CALLBACK_UNREACHABLE', `the callback response broke off (${e.code ?? e.message})`));
        res.on('close', () => {
          if (!res.complete) fail('CALLBACK_UNREACHABLE', 'the callback connection closed before the answer was complete');
        });
      });
    } catch (e) {
      fail('CALLBACK_UNREACHABLE', `the callback request could not be made (${(e as Error).message})`);
      return;
    }
    req.on('error', (e: NodeJS.ErrnoException) => fail('CALLBACK_UNREACHABLE', `the callback handler is unreachable (${e.code ?? e.message})`));
    req.end(body);
  });
}

/** One POST's outcome in the shape the enclave's approval RPCs take (MpcApprovalAnswer, ConfigChangeAnswer). */
export function callbackAnswerOf(outcome: CallbackHttpOutcome): { ok: boolean; status: number | null; contentType: string | null; body: Uint8Array | null; code: string | null; message: string | null } {
  return outcome.ok
    ? { ok: true, status: outcome.status, contentType: outcome.contentType ?? null, body: outcome.body, code: null, message: null }
    : { ok: false, status: outcome.status ?? null, contentType: null, body: null, code: outcome.code, message: outcome.message.slice(0, 1024) };
}
