// Helpers for the callback tests: real RSA keys, a recording HTTP(S) handler on 127.0.0.1:0, and a
// throwaway PKI made by the openssl CLI.
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RsaPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function rsaPair(bits = 2048): RsaPair {
  return generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A token with `alg: none` and an empty signature. */
export function algNoneToken(claims: unknown): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

/** An HS256 token whose HMAC secret is the public key's PEM (the classic key-confusion attack). */
export function hs256Token(claims: unknown, publicKey: KeyObject): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  const secret = publicKey.export({ format: 'pem', type: 'spki' }) as string;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface TestServer {
  url: string;
  port: number;
  requests: Recorded[];
  close(): Promise<void>;
}

type Handler = (req: Recorded, res: http.ServerResponse, raw: http.IncomingMessage) => void | Promise<void>;

async function listen(server: http.Server | https.Server, scheme: 'http' | 'https', requests: Recorded[]): Promise<TestServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function wrap(handler: Handler, requests: Recorded[]): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(rec);
      void Promise.resolve(handler(rec, res, req)).catch(() => res.destroy());
    });
  };
}

export function startHttpServer(handler: Handler): Promise<TestServer> {
  const requests: Recorded[] = [];
  return listen(http.createServer(wrap(handler, requests)), 'http', requests);
}

export function startHttpsServer(tls: { key: string; cert: string }, handler: Handler): Promise<TestServer> {
  const requests: Recorded[] = [];
  return listen(https.createServer({ key: tls.key, cert: tls.cert }, wrap(handler, requests)), 'https', requests);
}

export interface TestPki {
  caPem: string;
  leafKey: string;
  leafCert: string;
  selfSignedKey: string;
  selfSignedCert: string;
  otherCaPem: string;
}

/** A CA, a leaf for IP 127.0.0.1 signed by it, a self-signed 127.0.0.1 certificate, and an unrelated CA. */
export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'callback-pki-'));
  const ossl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  try {
    const ca = (name: string): void =>
      ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    ca('test-ca');
    ca('other-ca');
    ossl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'leaf.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
    ossl('x509', '-req', '-in', 'leaf.csr', '-CA', 'test-ca.pem', '-CAkey', 'test-ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', 'leaf.ext');
    ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ss.key', '-out', 'ss.pem', '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1');
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    return {
      caPem: read('test-ca.pem'),
      leafKey: read('leaf.key'),
      leafCert: read('leaf.pem'),
      selfSignedKey: read('ss.key'),
      selfSignedCert: read('ss.pem'),
      otherCaPem: read('other-ca.pem'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
