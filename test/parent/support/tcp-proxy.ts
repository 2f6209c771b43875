// A small TCP proxy between the parent's co-signer API client and a real coordinator, so tests can
// take the coordinator "down" (connections refused) and bring it back on the same port, cut the
// connections in use, or swallow the answer to one chosen request after the coordinator has acted
// on it (the crash-after-send case results must survive), or hold chosen requests unanswered. It also notes each request line it sees.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  /** "METHOD /path" of every request seen (query strings dropped), in order. */
  readonly requests: string[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private cutPattern: RegExp | null = null;
  private stallPattern: RegExp | null = null;
  private cutCount = 0;
  port = 0;

  private constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1') {}

  static async start(targetUrl: string): Promise<TcpProxy> {
    const u = new URL(targetUrl);
    const p = new TcpProxy(Number(u.port), u.hostname);
    await p.up();
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** How many answers were swallowed by cutAnswerTo. */
  get cuts(): number {
    return this.cutCount;
  }

  /** The next request whose request line matches `pattern` reaches the coordinator; its answer does not reach the client (the connection is cut). */
  cutAnswerTo(pattern: RegExp): void {
    this.cutPattern = pattern;
  }

  /** Requests matching `pattern` (from now on, until null) are held: never forwarded, never answered. */
  stall(pattern: RegExp | null): void {
    this.stallPattern = pattern;
  }

  requestsMatching(pattern: RegExp): string[] {
    return this.requests.filter((r) => pattern.test(r));
  }

  /** Listens (again) on the same port. */
  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.onClient(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Stops listening and cuts every connection: the coordinator looks down (ECONNREFUSED). */
  async down(): Promise<void> {
    const s = this.server;
    this.server = null;
    this.cutAll();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Cuts the connections in use (a network blip); new ones still go through. */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    await this.down();
  }

  private onClient(client: Socket): void {
    const upstream = createConnection({ port: this.targetPort, host: this.targetHost });
    this.sockets.add(client);
    this.sockets.add(upstream);
    let swallow = false;
    let stalled = false;
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('data', (d: Buffer) => {
      const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/.exec(d.toString('latin1', 0, Math.min(d.length, 2048)));
      if (m) {
        const line = `${m[1]} ${m[2]!.split('?')[0]}`;
        this.requests.push(line);
        if (this.stallPattern?.test(line)) stalled = true;
        if (this.cutPattern?.test(line)) {
          this.cutPattern = null;
          swallow = true;
        }
      }
      if (!stalled) upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (swallow) {
        // The coordinator has answered, so it has acted on the request: the client never learns.
        this.cutCount++;
        drop();
        return;
      }
      client.write(d);
    });
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  }
}
