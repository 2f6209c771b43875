import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { isCosignerError, type CosignerError } from '../../shared/errors.js';
import { LoopbackTransport } from '../../shared/channel/loopback-transport.js';
import { ANY_CID, PARENT_CID, type VsockListener } from '../../shared/channel/transport.js';
import { transportFromEnv } from '../../shared/channel/transport-from-env.js';
import { NativeVsockTransport } from '../../shared/channel/vsock-transport.js';

async function rejectsWith(p: Promise<unknown>, code: string): Promise<CosignerError> {
  try {
    await p;
  } catch (e) {
    expect(isCosignerError(e), String(e)).to.equal(true);
    expect((e as CosignerError).code).to.equal(code);
    return e as CosignerError;
  }
  throw new Error(`expected rejection with ${code}`);
}

/** Echo server behaviour: each accepted stream replies with a tag then echoes. */
function tagging(tag: string) {
  return (s: Duplex) => {
    s.write(tag);
    s.on('error', () => undefined);
  };
}

async function firstData(s: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    s.once('data', (b: Buffer) => resolve(b.toString()));
    s.once('error', reject);
  });
}

/** Leave a socket file behind the way a SIGKILLed server does. */
async function staleSocket(file: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(file)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  expect(fs.lstatSync(file).isSocket()).to.equal(true);
}

describe('loopback vsock transport', () => {
  let dir: string;
  let transport: LoopbackTransport;
  const listeners: VsockListener[] = [];
  const streams: Duplex[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsk-'));
    transport = new LoopbackTransport({ dir });
  });

  afterEach(async () => {
    for (const s of streams.splice(0)) s.destroy();
    for (const l of listeners.splice(0)) await l.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function listen(cid: number, port: number, onConn: (s: Duplex) => void) {
    const l = await transport.listen(cid, port, onConn);
    listeners.push(l);
    return l;
  }
  async function connect(cid: number, port: number) {
    const s = await transport.connect(cid, port);
    streams.push(s);
    return s;
  }

  it('maps (cid, port) to vsock-<cid>-<port>.sock in the configured folder', () => {
    expect(transport.socketPath(16, 5000)).to.equal(path.join(dir, 'vsock-16-5000.sock'));
    expect(transport.socketPath(ANY_CID, 1)).to.equal(path.join(dir, 'vsock-4294967295-1.sock'));
  });

  it('takes the folder from VSOCK_LOOPBACK_DIR, and refuses to guess one', () => {
    const saved = process.env.VSOCK_LOOPBACK_DIR;
    try {
      process.env.VSOCK_LOOPBACK_DIR = dir;
      expect(new LoopbackTransport().dir).to.equal(dir);
      delete process.env.VSOCK_LOOPBACK_DIR;
      expect(() => new LoopbackTransport()).to.throw().that.satisfies((e: unknown) => isCosignerError(e, 'CONFIG_INVALID'));
    } finally {
      if (saved === undefined) delete process.env.VSOCK_LOOPBACK_DIR;
      else process.env.VSOCK_LOOPBACK_DIR = saved;
    }
  });

  it('refuses to listen in an existing folder others can write to', async () => {
    fs.chmodSync(dir, 0o777);
    const err = await new LoopbackTransport({ dir }).listen(16, 5000, () => undefined).catch((e: unknown) => e);
    expect(isCosignerError(err, 'CONFIG_INVALID'), String(err)).to.equal(true);
    expect(fs.existsSync(path.join(dir, 'vsock-16-5000.sock'))).to.equal(false);
    fs.chmodSync(dir, 0o700);
  });

  it('carries bytes both ways between a listener on a specific CID and a connector', async () => {
    await listen(16, 5000, (s) => s.pipe(s));
    const c = await connect(16, 5000);
    const got = new Promise<string>((resolve) => {
      let acc = '';
      c.on('data', (b: Buffer) => {
        acc += b.toString();
        if (acc.length >= 11) resolve(acc);
      });
    });
    c.write('hello ');
    c.write('world');
    expect(await got).to.equal('hello world');
    expect(fs.lstatSync(transport.socketPath(16, 5000)).isSocket()).to.equal(true);
  });

  it('reaches an ANY_CID listener through any CID', async () => {
    await listen(ANY_CID, 7000, tagging('any'));
    expect(await firstData(await connect(PARENT_CID, 7000))).to.equal('any');
    expect(await firstData(await connect(21, 7000))).to.equal('any');
    expect(await firstData(await connect(ANY_CID, 7000))).to.equal('any');
  });

  it('refuses ANY_CID and a specific CID on the same port, either way round (EADDRINUSE, like af_vsock bind)', async () => {
    const any = await transport.listen(ANY_CID, 7100, tagging('any'));
    const e1 = await rejectsWith(transport.listen(21, 7100, tagging('exact')), 'TRANSPORT_ERROR');
    expect(e1.details).to.include({ errno: 'EADDRINUSE' });
    await any.close();
    await listen(21, 7100, tagging('exact'));
    await listen(22, 7100, tagging('other')); // two specific CIDs do not overlap
    const e2 = await rejectsWith(transport.listen(ANY_CID, 7100, tagging('any')), 'TRANSPORT_ERROR');
    expect(e2.details).to.include({ errno: 'EADDRINUSE' });
    expect(await firstData(await connect(21, 7100))).to.equal('exact');
    expect(await firstData(await connect(22, 7100))).to.equal('other');
    await rejectsWith(transport.connect(23, 7100), 'TRANSPORT_ERROR');
    // A different port is a different address.
    await listen(ANY_CID, 71000, tagging('any-other-port'));
    expect(await firstData(await connect(21, 71000))).to.equal('any-other-port');
  });

  it('does not reach a listener on another port or another specific CID', async () => {
    await listen(16, 5000, tagging('x'));
    const e1 = await rejectsWith(transport.connect(16, 5001), 'TRANSPORT_ERROR');
    expect(e1.details).to.include({ errno: 'ENOENT' });
    await rejectsWith(transport.connect(17, 5000), 'TRANSPORT_ERROR');
  });

  it('reports ECONNREFUSED for a stale socket file as TRANSPORT_ERROR', async () => {
    const file = transport.socketPath(16, 5100);
    await staleSocket(file);
    const e = await rejectsWith(transport.connect(16, 5100), 'TRANSPORT_ERROR');
    expect(e.details).to.include({ errno: 'ECONNREFUSED' });
  });

  it('removes a stale socket file before listening', async () => {
    const file = transport.socketPath(16, 5200);
    await staleSocket(file);
    await listen(16, 5200, tagging('fresh'));
    expect(await firstData(await connect(16, 5200))).to.equal('fresh');
  });

  it('never removes a live listener, a regular file or a symlink', async () => {
    await listen(16, 5300, tagging('first'));
    const inUse = await rejectsWith(transport.listen(16, 5300, tagging('second')), 'TRANSPORT_ERROR');
    expect(inUse.details).to.include({ errno: 'EADDRINUSE' });
    expect(await firstData(await connect(16, 5300))).to.equal('first');

    const regular = transport.socketPath(16, 5301);
    fs.writeFileSync(regular, 'keep me');
    await rejectsWith(transport.listen(16, 5301, tagging('x')), 'TRANSPORT_ERROR');
    expect(fs.readFileSync(regular, 'utf8')).to.equal('keep me');

    const target = path.join(dir, 'target.txt');
    fs.writeFileSync(target, 'target');
    const link = transport.socketPath(16, 5302);
    fs.symlinkSync(target, link);
    await rejectsWith(transport.listen(16, 5302, tagging('x')), 'TRANSPORT_ERROR');
    expect(fs.lstatSync(link).isSymbolicLink()).to.equal(true);
    expect(fs.readFileSync(target, 'utf8')).to.equal('target');
  });

  it('close() stops accepting and removes the socket file; open streams survive', async () => {
    const accepted: Duplex[] = [];
    const l = await transport.listen(16, 5400, (s) => {
      accepted.push(s);
      s.pipe(s);
    });
    const c = await connect(16, 5400);
    await l.close();
    await l.close(); // idempotent
    expect(fs.existsSync(transport.socketPath(16, 5400))).to.equal(false);
    await rejectsWith(transport.connect(16, 5400), 'TRANSPORT_ERROR');
    const echoed = new Promise<string>((resolve) => c.once('data', (b: Buffer) => resolve(b.toString())));
    c.write('still open');
    expect(await echoed).to.equal('still open');
    for (const s of accepted) s.destroy();
    // The port can be listened on again.
    await listen(16, 5400, tagging('again'));
    expect(await firstData(await connect(16, 5400))).to.equal('again');
  });

  it('creates a missing socket folder with mode 0700', async () => {
    const nested = path.join(dir, 'sub');
    const t = new LoopbackTransport({ dir: nested });
    const l = await t.listen(16, 1, tagging('x'));
    listeners.push(l);
    expect(fs.statSync(nested).mode & 0o777).to.equal(0o700);
  });

  it('rejects invalid addresses and over-long socket paths with CONFIG_INVALID', async () => {
    await rejectsWith(transport.connect(-1, 5000), 'CONFIG_INVALID');
    await rejectsWith(transport.connect(16, 2 ** 32), 'CONFIG_INVALID');
    await rejectsWith(transport.listen(16, 1.5, tagging('x')), 'CONFIG_INVALID');
    const long = new LoopbackTransport({ dir: path.join(dir, 'x'.repeat(120)) });
    await rejectsWith(long.connect(16, 5000), 'CONFIG_INVALID');
  });

  it('gives plain net.Socket streams (the Duplex the RPC layer expects)', async () => {
    await listen(16, 5500, (s) => expect(s).to.be.instanceOf(net.Socket));
    expect(await connect(16, 5500)).to.be.instanceOf(net.Socket);
  });
});

describe('transportFromEnv', () => {
  it('picks the loopback emulator when VSOCK_LOOPBACK_DIR is set, AF_VSOCK otherwise', () => {
    const loop = transportFromEnv({ VSOCK_LOOPBACK_DIR: '/tmp/some-dir' });
    expect(loop).to.be.instanceOf(LoopbackTransport);
    expect((loop as LoopbackTransport).dir).to.equal('/tmp/some-dir');
    expect(transportFromEnv({})).to.be.instanceOf(NativeVsockTransport);
    expect(transportFromEnv({ VSOCK_LOOPBACK_DIR: '' })).to.be.instanceOf(NativeVsockTransport);
  });
});
