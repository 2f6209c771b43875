// How a failing RPC endpoint surfaces: a real HTTP server answering with errors, garbage or
// silence. Overload and outages are retryable; refusals by the endpoint are not; no message holds
// the URL (it often carries a provider API key).
import { expect } from 'chai';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { EvmChainAdapter } from '../../../coordinator/chains/chain-adapter.js';
import { createEvmAdapter } from '../../../coordinator/chains/evm/evm-adapter.js';
import { isCosignerError } from '../../../shared/errors.js';
import { expectChainError } from './chain-test-kit.js';

const WHO = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';

describe('EVM adapter against a failing RPC endpoint', () => {
  let server: Server | undefined;
  let base = '';
  let answer: (res: ServerResponse, body: { id: number; method: string }) => void = () => undefined;

  before(async () => {
    server = createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => answer(res, JSON.parse(data) as { id: number; method: string }));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });

  function adapter(): EvmChainAdapter {
    return createEvmAdapter({ rpcUrl: `${base}/v3/secret-api-key`, chainId: 31337, retryCount: 0, timeoutMs: 500 });
  }

  const rpc = (res: ServerResponse, body: object) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', ...body }));
  };

  for (const status of [500, 502, 503, 429]) {
    it(`HTTP ${status} is retryable CHAIN_RPC_UNAVAILABLE`, async () => {
      answer = (res) => {
        res.writeHead(status);
        res.end('busy');
      };
      const e = await expectChainError(adapter().pendingNonce(WHO), 'CHAIN_RPC_UNAVAILABLE', new RegExp(`HTTP ${status}`));
      expect(e.retryable).to.equal(true);
      expect(e.message).to.not.contain('secret-api-key');
    });
  }

  it('HTTP 401 is a non-retryable CHAIN_RPC_ERROR', async () => {
    answer = (res) => {
      res.writeHead(401);
      res.end('no key');
    };
    const e = await expectChainError(adapter().pendingNonce(WHO), 'CHAIN_RPC_ERROR', /HTTP 401/);
    expect(e.retryable).to.equal(false);
  });

  it('no answer within the timeout is retryable CHAIN_RPC_UNAVAILABLE', async () => {
    answer = () => undefined;
    const e = await expectChainError(adapter().pendingNonce(WHO), 'CHAIN_RPC_UNAVAILABLE', /in time/);
    expect(e.retryable).to.equal(true);
  });

  it('a JSON-RPC error is CHAIN_RPC_ERROR with the node text, URLs removed', async () => {
    answer = (res, body) =>
      body.method === 'eth_chainId' ? rpc(res, { id: body.id, result: '0x7a69' }) : rpc(res, { id: body.id, error: { code: -32000, message: 'backend https://internal.example/key123 failed' } });
    const e = await expectChainError(adapter().pendingNonce(WHO), 'CHAIN_RPC_ERROR', /backend <url> failed/);
    expect(e.message).to.not.contain('key123');
    expect(e.retryable).to.equal(false);
  });

  it('a rate-limit JSON-RPC error (-32005) is retryable', async () => {
    answer = (res, body) =>
      body.method === 'eth_chainId' ? rpc(res, { id: body.id, result: '0x7a69' }) : rpc(res, { id: body.id, error: { code: -32005, message: 'limit exceeded' } });
    expect((await expectChainError(adapter().pendingNonce(WHO), 'CHAIN_RPC_UNAVAILABLE')).retryable).to.equal(true);
  });

  it('a body that is not JSON is a typed error, not a crash', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>gateway</html>');
    };
    // viem reports an unparsable body like a failed request: treated as a passing outage (often a proxy's error page).
    const e = await expectChainError(adapter().pendingNonce(WHO), 'CHAIN_RPC_UNAVAILABLE');
    expect(e.message).to.not.contain('secret-api-key');
  });

  it('a chain id check that failed on an outage is retried once the node is back', async () => {
    const a = adapter();
    answer = (res) => {
      res.writeHead(503);
      res.end();
    };
    await expectChainError(a.pendingNonce(WHO), 'CHAIN_RPC_UNAVAILABLE');
    answer = (res, body) => rpc(res, { id: body.id, result: body.method === 'eth_chainId' ? '0x7a69' : '0x5' });
    expect(await a.pendingNonce(WHO)).to.equal(5);
  });

  it('refuses a configuration that is not an http(s) URL or has no valid chain id', () => {
    for (const rpcUrl of ['not a url', 'ftp://127.0.0.1/', 'ws://127.0.0.1:8546']) {
      expect(() => createEvmAdapter({ rpcUrl, chainId: 1 })).to.throw().that.satisfies((e: unknown) => isCosignerError(e, 'CONFIG_INVALID'));
    }
    for (const chainId of [0, -1, 1.5, Number.NaN]) {
      expect(() => createEvmAdapter({ rpcUrl: base, chainId })).to.throw().that.satisfies((e: unknown) => isCosignerError(e, 'CONFIG_INVALID'));
    }
  });
});
