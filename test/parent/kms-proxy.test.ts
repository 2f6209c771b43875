import { expect } from 'chai';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { startKmsProxy, kmsEndpointForRegion, isAllowlisted } from '../../parent/kms-proxy.js';
import { LoopbackTransport } from '../../shared/channel/loopback-transport.js';
import { PARENT_CID } from '../../shared/channel/transport.js';
import { isCosignerError } from '../../shared/errors.js';
import { expectRejects, tempDir } from '../kms/support.js';

const PROXY_PORT = 8000;

/** A TCP server that answers every chunk with its bytes reversed, and records what it saw. */
async function startReverser() {
  const sockets = new Set<net.Socket>();
  let received = 0;
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (c: Buffer) => { received += c.length; s.write(Buffer.from(c).reverse()); });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    get received() { return received; },
    get open() { return sockets.size; },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

function readN(s: Duplex, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let len = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      len += c.length;
      if (len >= n) { s.off('data', onData); resolve(Buffer.concat(chunks)); }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.once('close', () => reject(new Error(`closed after ${len} bytes`)));
  });
}

describe('parent KMS vsock proxy', () => {
  let dir: ReturnType<typeof tempDir>;
  let transport: LoopbackTransport;
  beforeEach(() => {
    dir = tempDir('kp-');
    transport = new LoopbackTransport({ dir: dir.path });
  });
  afterEach(() => dir?.remove());

  it('relays bytes both ways to an allowlisted endpoint and closes both sides together', async () => {
    const target = await startReverser();
    const proxy = await startKmsProxy({ transport, port: PROXY_PORT, target: { host: '127.0.0.1', port: target.port }, allowlist: [{ host: '127.0.0.1', port: target.port }] });
    try {
      const s = await transport.connect(PARENT_CID, PROXY_PORT);
      const msg = randomBytes(5000);
      const reply = readN(s, 5000);
      s.write(msg);
      const got = await reply;
      // chunking may differ, but every byte went there and came back (reversed per chunk)
      expect(got.length).to.equal(5000);
      expect(Buffer.from(got).sort().equals(Buffer.from(msg).sort())).to.equal(true);
      expect(target.received).to.equal(5000);
      expect(proxy.openConnections).to.equal(1);
      s.destroy();
      while (target.open > 0 || proxy.openConnections > 0) await new Promise((r) => setImmediate(r));
    } finally {
      await proxy.close();
      await target.close();
    }
  });

  it('refuses an endpoint that is not on the allowlist', async () => {
    const target = await startReverser();
    try {
      const e = await expectRejects(startKmsProxy({ transport, port: PROXY_PORT, target: { host: '127.0.0.1', port: target.port }, allowlist: [kmsEndpointForRegion('us-east-1')] }));
      expect(isCosignerError(e, 'CONFIG_INVALID')).to.equal(true);
      expect(e.message).to.contain('not on the allowlist');
      // nothing listens on the proxy port
      expect((await expectRejects(transport.connect(PARENT_CID, PROXY_PORT)) as { code?: string }).code).to.equal('TRANSPORT_ERROR');
      expect(target.received).to.equal(0);
    } finally {
      await target.close();
    }
    expect(isAllowlisted({ host: 'KMS.us-east-1.amazonaws.com', port: 443 }, [kmsEndpointForRegion('us-east-1')])).to.equal(true);
    expect(isAllowlisted({ host: 'kms.us-east-1.amazonaws.com', port: 80 }, [kmsEndpointForRegion('us-east-1')])).to.equal(false);
    expect(isAllowlisted({ host: 'evil.example', port: 443 }, [kmsEndpointForRegion('us-east-1')])).to.equal(false);
  });

  it('closes the enclave side when the endpoint cannot be reached', async () => {
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const dead = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const proxy = await startKmsProxy({ transport, port: PROXY_PORT, target: { host: '127.0.0.1', port: dead }, allowlist: [{ host: '127.0.0.1', port: dead }] });
    try {
      const s = await transport.connect(PARENT_CID, PROXY_PORT);
      s.on('error', () => undefined);
      s.resume();
      await once(s, 'close');
      expect(proxy.openConnections).to.equal(0);
    } finally {
      await proxy.close();
    }
  });
});
