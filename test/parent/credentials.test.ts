import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { credentialsFromEnv, credentialsFromImds, resolveCredentials } from '../../parent/credentials.js';
import { isCosignerError } from '../../shared/errors.js';
import { expectRejects } from '../kms/support.js';

/** An IMDS-shaped server: IMDSv2 only (token required), one role. */
function startImds(opts: { role?: string | null; code?: string; hugeRoleList?: boolean } = {}) {
  const token = 'imds-session-token-' + Math.random().toString(36).slice(2);
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (req.headers['x-aws-ec2-metadata-token-ttl-seconds'] !== '21600') { res.writeHead(400).end(); return; }
      res.writeHead(200).end(token);
      return;
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== token) { res.writeHead(401).end(); return; }
    if (req.method === 'GET' && req.url === '/latest/meta-data/iam/security-credentials/') {
      if (opts.role === null) { res.writeHead(404).end(); return; }
      if (opts.hugeRoleList) {
        // A streamed answer far past any real one: the client must stop reading, not buffer it.
        res.writeHead(200);
        const block = 'x'.repeat(16 * 1024);
        let sent = 0;
        const more = () => { while (sent < 16 * 1024 * 1024 && res.write(block)) sent += block.length; if (sent < 16 * 1024 * 1024) res.once('drain', more); else res.end(); };
        res.on('error', () => undefined);
        more();
        return;
      }
      res.writeHead(200).end(`${opts.role ?? 'cosigner-parent-role'}\n`);
      return;
    }
    if (req.method === 'GET' && req.url === `/latest/meta-data/iam/security-credentials/${opts.role ?? 'cosigner-parent-role'}`) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(JSON.stringify({
        Code: opts.code ?? 'Success', LastUpdated: '2026-11-25T12:00:00Z', Type: 'AWS-HMAC',
        AccessKeyId: 'ASIAIMDSEXAMPLE00001', SecretAccessKey: 'imds/secret', Token: 'imds-session-credential-token', Expiration: '2026-11-25T18:00:00Z',
      }));
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise<{ url: string; seen: string[]; close: () => Promise<void> }>((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      seen,
      close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
    }));
  });
}

describe('parent IAM credentials', () => {
  it('IMDS: an oversized answer is refused without being read whole', async () => {
    const imds = await startImds({ hugeRoleList: true });
    try {
      const err = await credentialsFromImds({ baseUrl: imds.url, timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(isCosignerError(err, 'CONFIG_INVALID'), String(err)).to.equal(true);
      expect((err as Error).message).to.match(/too large/);
    } finally {
      await imds.close();
    }
  });

  it('IMDSv2: token PUT with TTL, role listing, role credentials with the token', async () => {
    const imds = await startImds();
    try {
      const c = await credentialsFromImds({ baseUrl: imds.url });
      expect(c).to.deep.equal({ accessKeyId: 'ASIAIMDSEXAMPLE00001', secretAccessKey: 'imds/secret', sessionToken: 'imds-session-credential-token', expiration: Date.parse('2026-11-25T18:00:00Z') });
      expect(imds.seen).to.deep.equal([
        'PUT /latest/api/token',
        'GET /latest/meta-data/iam/security-credentials/',
        'GET /latest/meta-data/iam/security-credentials/cosigner-parent-role',
      ]);
      const r = await resolveCredentials({ imdsBaseUrl: imds.url, env: { AWS_ACCESS_KEY_ID: 'AKIAENVEXAMPLE000001', AWS_SECRET_ACCESS_KEY: 'x' } });
      expect(r.source).to.equal('imds');
    } finally {
      await imds.close();
    }
  });

  it('IMDS without a role or with a failed Code is a clear error, not a silent fallback', async () => {
    for (const opts of [{ role: null }, { code: 'Failure' }]) {
      const imds = await startImds(opts);
      try {
        const e = await expectRejects(resolveCredentials({ imdsBaseUrl: imds.url, env: { AWS_ACCESS_KEY_ID: 'AKIAENVEXAMPLE000001', AWS_SECRET_ACCESS_KEY: 'x' } }));
        expect(isCosignerError(e, 'CONFIG_INVALID'), String(e)).to.equal(true);
        expect(e.message).to.not.contain('imds/secret');
      } finally {
        await imds.close();
      }
    }
  });

  it('falls back to environment variables when no IMDS answers', async () => {
    // A port with nothing listening: connection refused immediately.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((r) => probe.close(() => r()));
    const env = { AWS_ACCESS_KEY_ID: 'AKIAENVEXAMPLE000001', AWS_SECRET_ACCESS_KEY: 'env/secret', AWS_SESSION_TOKEN: 'env-token' };
    const r = await resolveCredentials({ imdsBaseUrl: deadUrl, env });
    expect(r).to.deep.equal({ accessKeyId: 'AKIAENVEXAMPLE000001', secretAccessKey: 'env/secret', sessionToken: 'env-token', source: 'env' });
    expect((await resolveCredentials({ source: 'env', env })).source).to.equal('env');
    const none = await expectRejects(resolveCredentials({ imdsBaseUrl: deadUrl, env: {} }));
    expect(isCosignerError(none, 'CONFIG_INVALID')).to.equal(true);
    const forced = await expectRejects(resolveCredentials({ source: 'imds', imdsBaseUrl: deadUrl, env }));
    expect(isCosignerError(forced, 'CONFIG_INVALID')).to.equal(true);
  });

  it('environment credentials are validated and never echoed', () => {
    expect(credentialsFromEnv({})).to.equal(null);
    expect(() => credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'AKIAENVEXAMPLE000001' })).to.throw(/together/);
    try {
      credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'lowercase-secretish', AWS_SECRET_ACCESS_KEY: 'super-secret' });
      expect.fail('should throw');
    } catch (e) {
      expect(isCosignerError(e, 'CONFIG_INVALID')).to.equal(true);
      expect(String(e)).to.not.contain('super-secret');
      expect(String(e)).to.not.contain('lowercase-secretish');
    }
  });
});
