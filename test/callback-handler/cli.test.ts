// The handler as a user runs it: `npx tsx callback-handler/main.ts` in its own process.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importSPKI, jwtVerify } from 'jose';
import { post, rsaPems, signRequest, txClaims } from './helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function start(args: string[]): ChildProcess {
  // Its own process group, so that npx, tsx and node are stopped together by the group's id.
  return spawn('npx', ['tsx', 'callback-handler/main.ts', ...args], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } });
}

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = start(args);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, out, err }));
  });
}

function stopGroup(child: ChildProcess): Promise<void> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolvePromise();
    child.once('close', () => resolvePromise());
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      resolvePromise();
    }
  });
}

describe('callback handler CLI', function () {
  this.timeout(60_000);
  let dir: string;
  let child: ChildProcess | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'callback-handler-'));
  });
  afterEach(async () => {
    if (child) await stopGroup(child);
    child = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('--gen-key writes an RSA-2048 key with mode 0600, prints its public key, and never overwrites', async () => {
    const file = join(dir, 'handler.key');
    const first = await run(['--gen-key', file]);
    expect(first.code, first.err).to.equal(0);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const pem = readFileSync(file, 'utf8');
    const priv = createPrivateKey(pem);
    expect(priv.asymmetricKeyType).to.equal('rsa');
    expect(priv.asymmetricKeyDetails?.modulusLength).to.equal(2048);
    expect(first.out).to.match(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(createPublicKey(first.out).export({ type: 'spki', format: 'der' }).equals(createPublicKey(priv).export({ type: 'spki', format: 'der' }))).to.equal(true);

    const again = await run(['--gen-key', file]);
    expect(again.code).to.equal(1);
    expect(again.err).to.match(/exists; not overwriting/);
    expect(again.out).to.equal('');
    expect(readFileSync(file, 'utf8')).to.equal(pem);

    const other = join(dir, 'other.key');
    writeFileSync(other, 'not a key, but mine');
    expect((await run(['--gen-key', other])).code).to.equal(1);
    expect(readFileSync(other, 'utf8')).to.equal('not a key, but mine');
  });

  it('asks for exactly one of --config or --gen-key (exit 2); a config with an unknown key does not start', async () => {
    const none = await run([]);
    expect(none.code).to.equal(2);
    expect(none.err).to.match(/exactly one of --config/);
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ privateKeyFile: 'a', cosignerPublicKeyFile: 'b', rules: { allowList: ['0x00'] } }));
    const bad = await run(['--config', cfg]);
    expect(bad.code).to.equal(1);
    expect(bad.err).to.include('unknown key "rules.allowList"');
    expect(bad.out).to.equal('');
  });

  it('starts from a config file on port 0, prints {"listening": url}, and answers with signed decisions', async () => {
    const handlerKey = join(dir, 'keys', 'handler.key');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'keys'));
    const gen = await run(['--gen-key', handlerKey]);
    expect(gen.code, gen.err).to.equal(0);
    const cosigner = rsaPems();
    writeFileSync(join(dir, 'keys', 'cosigner.pub'), cosigner.publicPem);
    const allowed = '0x' + '5c'.repeat(20);
    // Key paths relative to the config file.
    writeFileSync(
      join(dir, 'handler.json'),
      JSON.stringify({ port: 0, basePath: '/hooks/acme', privateKeyFile: 'keys/handler.key', cosignerPublicKeyFile: 'keys/cosigner.pub', rules: { limits: { ETH: '1' }, allowlist: [allowed] } }),
    );
    child = start(['--config', join(dir, 'handler.json')]);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const url = await new Promise<string>((resolvePromise, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${err}`)), 30_000);
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolvePromise((JSON.parse(out.slice(0, nl)) as { listening: string }).listening);
        }
      });
      child!.once('close', (code) => reject(new Error(`exited ${code}; stderr: ${err}`)));
    });
    expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/hooks\/acme$/);
    const key = await importSPKI(gen.out, 'RS256');

    const ok = txClaims({ asset: 'ETH', amountStr: '1', destAddress: allowed });
    let res = await post(`${url}/v2/tx_sign_request`, await signRequest(ok, cosigner.privatePem));
    expect(res.status).to.equal(200);
    expect((await jwtVerify(res.text, key, { algorithms: ['RS256'] })).payload).to.deep.equal({ action: 'APPROVE', requestId: ok.requestId });

    const over = txClaims({ asset: 'ETH', amountStr: '1.000000000000000001', destAddress: allowed });
    res = await post(`${url}/v2/tx_sign_request`, await signRequest(over, cosigner.privatePem));
    const { payload } = await jwtVerify(res.text, key, { algorithms: ['RS256'] });
    expect(payload).to.include({ action: 'REJECT', requestId: over.requestId });

    res = await post(`${url}/v2/config_change_sign_request`, await signRequest({ requestId: 'cc-1', type: 'ADD_WHITELISTED_ADDRESS' }, cosigner.privatePem));
    expect((await jwtVerify(res.text, key, { algorithms: ['RS256'] })).payload).to.deep.equal({ action: 'APPROVE', requestId: 'cc-1' });

    expect((await post(`${url}/v2/tx_sign_request`, 'garbage')).status).to.equal(401);
    // Its decisions are logged on stderr, one JSON line each, without the JWTs.
    await new Promise((r) => setTimeout(r, 200));
    const decisions = err.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'decision');
    expect(decisions.map((d) => [d.requestId, d.action])).to.deep.equal([
      [ok.requestId, 'APPROVE'],
      [over.requestId, 'REJECT'],
      ['cc-1', 'APPROVE'],
    ]);
    expect(err).to.not.include(res.text);
  });
});
