// Malformed input on every co-signer API route (/cosigner/v1 in the OpenAPI document), sent WITH
// a valid access token so that it reaches validation and the handlers: always a 4xx JSON
// {message, code}, never a 5xx, and nothing stored. (malformed-input.test.ts sends the same junk
// with an API user's credentials, which these routes refuse at authentication.)
import { expect } from 'chai';
import { startCoordinator, type TestCoordinator } from './support/build-app.js';
import { EmulatedEnclave, TestCosigner, pairingTokenFor } from './support/cosigner.js';
import { expectClientError } from './support/api-error.js';

const TABLES = ['work_items', 'cosigner_pairing_tokens', 'cosigners', 'cosigner_access_tokens', 'mpc_sessions', 'mpc_relay_answers', 'cosigner_run_logs', 'secrets'] as const;

describe('co-signer API: malformed input on every route', function () {
  this.timeout(120_000);
  let enclave: EmulatedEnclave;
  let c: TestCoordinator;
  let cs: TestCosigner;
  before(async () => {
    enclave = EmulatedEnclave.create();
    c = await startCoordinator({ attestationRoot: enclave.rootPem, allowAnyPcrs: true, mpcParty: { opening: async () => { throw new Error('not reached'); }, receive: async () => [] } });
    const admin = await c.user('ADMIN');
    cs = await new TestCosigner(c, enclave).pair(await pairingTokenFor(c, admin, admin.row.id));
  });
  after(async () => {
    await c?.close();
    enclave?.close();
  });

  async function counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of TABLES) out[t] = Number((await c.db.selectFrom(t).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    return out;
  }

  it('answers junk with 4xx {message, code} and stores nothing', async () => {
    const doc = (await (await fetch(`${c.baseUrl}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).filter(([p]) => p.startsWith('/cosigner/')).flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ path, method: m.toUpperCase() })));
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).to.deep.equal([
      'GET /cosigner/v1/service-key', 'GET /cosigner/v1/work',
      'POST /cosigner/v1/mpc/{sessionId}/messages', 'POST /cosigner/v1/mpc/{sessionId}/opening', 'POST /cosigner/v1/pair', 'POST /cosigner/v1/token',
      'POST /cosigner/v1/work/{id}/heartbeat', 'POST /cosigner/v1/work/{id}/result', 'PUT /cosigner/v1/run-log',
    ]);
    const before = await counts();
    const ids = ['x', '-1', 'a'.repeat(65), '%00', '..%2F..', '%E2%80%AE', 'ab'.repeat(32).toUpperCase()];
    const bodies: unknown[] = ['{"unterminated":', '[]', '"a string"', '123', 'null', { messages: [{}], result: undefined, state: { stateVersion: -1 } },
      { pairingToken: 'x', attestationDocument: '!!', identityPublicKey: 1 }, { refreshToken: 5 }, { __proto__: { polluted: true }, constructor: { prototype: {} } }];
    let checked = 0;
    for (const r of routes) {
      const hasParams = r.path.includes('{');
      const bodyless = r.method === 'GET';
      if (!hasParams && bodyless && r.path.endsWith('service-key')) continue; // takes no input
      for (const id of hasParams ? ids : ['']) {
        const path = hasParams ? r.path.replace(/\{[^}]+\}/g, id) : bodyless ? `${r.path}?waitMs=99999&stateVersion=-1&stateDigest=zz&stateAt=x&stateSignature=%00` : r.path;
        for (const body of bodyless ? [undefined] : bodies) {
          // A string is sent twice: as a JSON string value, and as the raw (mostly invalid) JSON text.
          const res = await cs.call(r.method, path, body);
          const raw = typeof body === 'string' ? await fetch(c.baseUrl + path, { method: r.method, headers: { authorization: `Bearer ${cs.accessToken}`, 'content-type': 'application/json' }, body }) : null;
          const answers = raw ? [res, { status: raw.status, json: await raw.json() }] : [res];
          for (const a of answers) {
            const what = `${r.method} ${path} ${JSON.stringify(body)?.slice(0, 60)}`;
            expectClientError(a, what);
            checked++;
          }
        }
      }
    }
    expect(checked).to.be.greaterThan(100);
    expect(await counts()).to.deep.equal(before);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });
});
