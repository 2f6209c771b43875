// HTTP(S) agents whose connections are streams opened by an injected `connect()` — in the enclave,
// a vsock connection to the parent's KMS proxy port. For https endpoints TLS runs inside that
// stream (tls.connect({ socket })), so the handshake, certificate check and all bytes are end to
// end between the enclave and KMS: the parent only relays ciphertext.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export type StreamConnect = () => Promise<Duplex>;

/**
 * The http Agent manages sockets with a few net.Socket methods (keep-alive, ref/unref, timeouts).
 * A bare Duplex (e.g. a vsock stream) lacks them; give it harmless stand-ins so pooling works.
 * Timeouts are enforced per call by the client with an AbortSignal instead.
 */
function asSocketLike(stream: Duplex): Duplex {
  const s = stream as Duplex & Partial<Record<'setKeepAlive' | 'setNoDelay' | 'setTimeout' | 'ref' | 'unref', () => unknown>>;
  for (const m of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref'] as const) {
    if (typeof s[m] !== 'function') s[m] = function (this: Duplex) { return this; };
  }
  return stream;
}

export interface TlsOptions {
  /** Extra trust anchors (PEM), e.g. the local emulator's CA. Default: Node's bundled CAs. */
  ca?: string;
  /** SNI and certificate name: the endpoint's host name. */
  servername: string;
}

function openTls(raw: Duplex, opts: TlsOptions, callback: (err: Error | null, s: Duplex) => void): void {
  const sni = net.isIP(opts.servername) === 0 ? opts.servername : undefined;
  const socket = tls.connect({
    socket: raw,
    servername: sni,
    ca: opts.ca,
    // Hostname check against the endpoint name, even when it is an IP address.
    checkServerIdentity: (_host, cert) => tls.checkServerIdentity(opts.servername, cert),
    ALPNProtocols: ['http/1.1'],
    minVersion: 'TLSv1.2',
  });
  let done = false;
  const finish = (err: Error | null) => {
    if (done) return;
    done = true;
    if (err) {
      socket.destroy();
      raw.destroy();
    }
    callback(err, socket);
  };
  socket.once('secureConnect', () => finish(null));
  socket.once('error', (e) => finish(e));
  socket.once('close', () => finish(new Error('connection closed during the TLS handshake')));
}

class StreamHttpAgent extends http.Agent {
  constructor(private readonly connectStream: StreamConnect) {
    super({ keepAlive: true, maxSockets: 4 });
  }

  override createConnection(_options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    this.connectStream().then((s) => callback?.(null, asSocketLike(s)), (e: Error) => callback?.(e, undefined as never));
    return undefined;
  }
}

class StreamHttpsAgent extends https.Agent {
  constructor(private readonly connectStream: StreamConnect, private readonly tlsOptions: TlsOptions) {
    super({ keepAlive: true, maxSockets: 4 });
  }

  override createConnection(_options: https.RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    this.connectStream().then(
      (raw) => openTls(raw, this.tlsOptions, (err, s) => callback?.(err, s)),
      (e: Error) => callback?.(e, undefined as never),
    );
    return undefined;
  }
}

/** Used for the protocol the endpoint does not use: never opens anything. */
class RefusingAgent extends http.Agent {
  override createConnection(_o: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    queueMicrotask(() => callback?.(new Error('this KMS client only connects to its configured https endpoint'), undefined as never));
    return undefined;
  }
}

/** A smithy request handler for @aws-sdk clients that reaches `endpoint` only through `connect()`. */
export function createStreamRequestHandler(endpoint: URL, connect: StreamConnect, opts: { ca?: string } = {}): NodeHttpHandler {
  if (endpoint.protocol === 'https:') {
    const httpsAgent = new StreamHttpsAgent(connect, { ca: opts.ca, servername: endpoint.hostname });
    return new NodeHttpHandler({ httpsAgent, httpAgent: new RefusingAgent() });
  }
  return new NodeHttpHandler({ httpAgent: new StreamHttpAgent(connect) });
}
