// A co-signer as the coordinator sees one, for the co-signer API tests: an enclave stand-in whose
// attestation documents come from the real NSM emulator (its own root, PCRs measured from a small
// bundle), Ed25519 identity / P-256 CCK / RSA-2048 callback keys, signed state reports, and HTTP
// calls to /cosigner/v1 over 127.0.0.1.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmulatedNsm } from '../../../emulators/nsm/device.js';
import { bootPcrs } from '../../../emulators/nsm/measure.js';
import { PcrBank } from '../../../emulators/nsm/pcr-bank.js';
import { EmulatorPki } from '../../../emulators/nsm/pki.js';
import { decodeNsmResponse, encodeNsmRequest } from '../../../shared/nsm/codec.js';
import { toHex } from '../../../shared/bytes.js';
import { decodePairingToken, pairingNonce } from '../../../shared/cosigner-api/pairing-token.js';
import { pairingKeyBinding, rawEd25519PublicKey } from '../../../shared/cosigner-api/keys.js';
import { signStateReport } from '../../../shared/cosigner-api/state-report.js';
import type { TestCoordinator } from './build-app.js';

export class EmulatedEnclave {
  private constructor(private readonly dir: string, private readonly pki: EmulatorPki, private readonly pcrs: PcrBank, private clockOffsetMs = 0) {}

  static create(opts: { debug?: boolean; marker?: string } = {}): EmulatedEnclave {
    const dir = mkdtempSync(join(tmpdir(), 'cosigner-nsm-'));
    const instanceId = 'i-0123456789abcdef0';
    const pki = EmulatorPki.open({ stateDir: join(dir, 'state'), instanceId });
    return new EmulatedEnclave(dir, pki, EmulatedEnclave.measure(dir, opts));
  }

  /** Another enclave under the same emulator root: another image (marker) or a debug-mode one. */
  variant(opts: { debug?: boolean; marker?: string }): EmulatedEnclave {
    return new EmulatedEnclave(this.dir, this.pki, EmulatedEnclave.measure(this.dir, opts));
  }

  private static measure(dir: string, opts: { debug?: boolean; marker?: string }): PcrBank {
    const bundle = join(dir, `bundle-${opts.marker ?? 'a'}`);
    mkdirSync(join(bundle, 'enclave'), { recursive: true });
    mkdirSync(join(bundle, 'shared'), { recursive: true });
    writeFileSync(join(bundle, 'enclave', 'main.ts'), `export const build = ${JSON.stringify(opts.marker ?? 'a')};\n`);
    writeFileSync(join(bundle, 'shared', 'x.ts'), 'export {};\n');
    writeFileSync(join(bundle, 'package-lock.json'), '{}\n');
    return new PcrBank(bootPcrs({ bundleRoot: bundle, instanceId: 'i-0123456789abcdef0', debug: opts.debug }));
  }

  get rootPem(): string {
    return this.pki.rootPem;
  }

  pcr(i: number): string {
    return toHex(this.pcrs.describe(i).data);
  }

  /** Documents from now on carry a timestamp `ms` in the past. */
  backdate(ms: number): void {
    this.clockOffsetMs = ms;
  }

  attest(userData: Uint8Array, nonce: Uint8Array): Uint8Array {
    const nsm = new EmulatedNsm(this.pki, this.pcrs, () => new Date(Date.now() - this.clockOffsetMs));
    const r = decodeNsmResponse(nsm.handle(encodeNsmRequest({ kind: 'Attestation', userData, nonce, publicKey: null })));
    if (r.kind !== 'Attestation') throw new Error(`NSM emulator answered ${r.kind}`);
    return r.document;
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface HttpAnswer {
  status: number;
  json: any;
  headers: Headers;
}

export class TestCosigner {
  readonly identity: KeyObject;
  readonly identityRaw: Uint8Array;
  readonly cckPem: string;
  /** The test co-signer's Configuration Change Key (Ed25519), as an enclave holds it. */
  readonly cck: KeyObject;
  readonly callbackPem: string;
  cosignerId = '';
  refreshToken = '';
  accessToken = '';
  stateVersion = 1;
  stateDigest = toHex(randomBytes(32));

  constructor(readonly c: TestCoordinator, readonly enclave: EmulatedEnclave) {
    this.identity = generateKeyPairSync('ed25519').privateKey;
    this.identityRaw = rawEd25519PublicKey(this.identity);
    const cck = generateKeyPairSync('ed25519');
    this.cck = cck.privateKey;
    this.cckPem = cck.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.callbackPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  keyBinding(): Uint8Array {
    const der = (pem: string) => new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
    return pairingKeyBinding({ identityPublicKey: this.identityRaw, cckPublicKeySpki: der(this.cckPem), callbackPublicKeySpki: der(this.callbackPem) });
  }

  /** The pair request an honest enclave makes for `token`; `over` replaces parts of it. */
  pairRequest(token: string, over: { nonce?: Uint8Array; userData?: Uint8Array; document?: Uint8Array } = {}): Record<string, string> {
    const secret = decodePairingToken(token).secret;
    const doc = over.document ?? this.enclave.attest(over.userData ?? this.keyBinding(), over.nonce ?? pairingNonce(secret));
    return {
      pairingToken: token,
      attestationDocument: Buffer.from(doc).toString('base64'),
      identityPublicKey: Buffer.from(this.identityRaw).toString('base64'),
      cckPublicKey: this.cckPem,
      callbackPublicKey: this.callbackPem,
    };
  }

  async call(method: string, path: string, body?: unknown, opts: { token?: string | null; signal?: AbortSignal } = {}): Promise<HttpAnswer> {
    const token = opts.token === undefined ? this.accessToken : opts.token;
    const res = await fetch(this.c.baseUrl + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: opts.signal,
    });
    const raw = await res.text();
    return { status: res.status, json: raw ? JSON.parse(raw) : null, headers: res.headers };
  }

  /** Pairs with `token` and takes a first access token; throws unless both succeed. */
  async pair(token: string): Promise<this> {
    const r = await this.call('POST', '/cosigner/v1/pair', this.pairRequest(token), { token: null });
    if (r.status !== 200) throw new Error(`pairing failed: ${r.status} ${JSON.stringify(r.json)}`);
    this.cosignerId = r.json.cosignerId;
    this.refreshToken = r.json.refreshToken;
    await this.refresh();
    return this;
  }

  async refresh(): Promise<HttpAnswer> {
    const r = await this.call('POST', '/cosigner/v1/token', { refreshToken: this.refreshToken }, { token: null });
    if (r.status === 200) this.accessToken = r.json.accessToken;
    return r;
  }

  state(purpose: string, version = this.stateVersion, digest = this.stateDigest) {
    return signStateReport({ stateVersion: version, stateDigest: digest, at: Date.now() }, { cosignerId: this.cosignerId, purpose }, this.identity);
  }

  pollPath(waitMs: number, version = this.stateVersion, digest = this.stateDigest): string {
    const s = this.state('poll', version, digest);
    const q = new URLSearchParams({ waitMs: String(waitMs), stateVersion: String(s.stateVersion), stateDigest: s.stateDigest, stateAt: String(s.at), stateSignature: s.signature });
    return `/cosigner/v1/work?${q}`;
  }

  poll(waitMs: number, opts: { version?: number } = {}): Promise<HttpAnswer> {
    return this.call('GET', this.pollPath(waitMs, opts.version));
  }

  /**
   * A poll on a connection of its own that the co-signer drops when `signal` aborts. (Not fetch:
   * after an abort its pool opens a spare connection that never sends a request, which keeps the
   * server from closing.) Resolves with the answer, or 'aborted'.
   */
  pollThenHangUp(waitMs: number, signal: AbortSignal): Promise<HttpAnswer | 'aborted'> {
    const url = new URL(this.c.baseUrl + this.pollPath(waitMs));
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { method: 'GET', agent: false, headers: { authorization: `Bearer ${this.accessToken}` } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null, headers: new Headers() }));
      });
      req.on('error', (e) => (signal.aborted ? resolve('aborted') : reject(e)));
      signal.addEventListener('abort', () => req.destroy(), { once: true });
      req.end();
    });
  }

  heartbeat(id: string): Promise<HttpAnswer> {
    return this.call('POST', `/cosigner/v1/work/${id}/heartbeat`);
  }

  result(id: string, result: unknown, version = this.stateVersion): Promise<HttpAnswer> {
    return this.call('POST', `/cosigner/v1/work/${id}/result`, { result, state: this.state(`result:${id}`, version) });
  }
}

/** A pairing token for `userId`, issued over the REST route by `admin`. */
export async function pairingTokenFor(c: TestCoordinator, admin: import('./build-app.js').TestUser, userId: string, ttlSeconds?: number): Promise<string> {
  const { signedFetch } = await import('./build-app.js');
  const r = await signedFetch(c, admin, 'POST', '/v1/cosigner-pairing-tokens', { userId, ...(ttlSeconds ? { ttlSeconds } : {}) });
  if (r.status !== 200) throw new Error(`pairing token: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.pairingToken;
}
