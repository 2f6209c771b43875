// Compile-time checks (npm test runs tsc first): the catalog types calls and handlers. Each
// expect-error directive below must match a real error, or tsc fails the build.
import { expect } from 'chai';
import { struct, uint, text } from '../../shared/schema.js';
import { RpcClient, RpcServer, type MessageCatalog, type RequestOf, type ResponseOf } from '../../shared/channel/rpc.js';

const catalog = {
  ping: { request: struct({ n: uint() }), response: struct({ n: uint() }) },
  name: { request: struct({}), response: struct({ name: text() }) },
} satisfies MessageCatalog;

function typeChecksOnly(client: RpcClient<typeof catalog>): void {
  void client.call('ping', { n: 1 }).then((r) => {
    const n: number = r.n;
    // @ts-expect-error the response of ping has no name
    void r.name;
    return n;
  });
  // @ts-expect-error n must be a number
  void client.call('ping', { n: '1' });
  // @ts-expect-error unknown message type
  void client.call('pong', { n: 1 });
  // @ts-expect-error missing field
  void client.call('ping', {});

  new RpcServer(catalog, { ping: ({ n }) => ({ n: n + 1 }), name: () => ({ name: 'x' }) });
  // @ts-expect-error a handler is missing
  new RpcServer(catalog, { ping: ({ n }) => ({ n }) });
  // @ts-expect-error the handler returns the wrong response type
  new RpcServer(catalog, { ping: () => ({ n: 'x' }), name: () => ({ name: 'x' }) });
}

describe('channel RPC types', () => {
  it('derive request and response types from the catalog', () => {
    const req: RequestOf<typeof catalog, 'ping'> = { n: 1 };
    const res: ResponseOf<typeof catalog, 'name'> = { name: 'enclave' };
    expect([req, res]).to.deep.equal([{ n: 1 }, { name: 'enclave' }]);
    expect(typeof typeChecksOnly).to.equal('function');
  });
});
