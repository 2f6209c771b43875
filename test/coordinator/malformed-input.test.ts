// Malformed input on every route the OpenAPI document lists: each answer is a 4xx with a JSON
// {message, code}, never a 5xx, never `null`, and nothing is stored.
import { expect } from 'chai';
import { signedFetch, startCoordinator, type TestCoordinator, type TestUser } from './support/build-app.js';
import { expectClientError } from './support/api-error.js';

const TABLES = ['vault_accounts', 'vault_assets', 'transactions', 'policies', 'approvals', 'external_wallets', 'external_wallet_assets', 'webhooks', 'work_items', 'api_users', 'cosigner_pairing_tokens', 'cosigners', 'cosigner_access_tokens', 'cosigner_attestation_policies', 'mpc_relay_answers', 'mpc_keys', 'mpc_sessions', 'chain_transfers', 'cosigner_run_logs'] as const;

describe('coordinator: malformed input on every route', function () {
  this.timeout(120_000);
  let c: TestCoordinator;
  let admin: TestUser;
  before(async () => {
    c = await startCoordinator();
    admin = await c.user('ADMIN');
  });
  after(async () => {
    await c?.close();
  });

  async function counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of TABLES) out[t] = Number((await c.db.selectFrom(t).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    return out;
  }

  it('answers junk with 4xx {message, code} and stores nothing', async () => {
    const doc = (await (await fetch(`${c.baseUrl}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ path, method: m.toUpperCase() })));
    expect(routes.length).to.be.greaterThan(20);
    const before = await counts();
    const ids = ['x', '-1', '99999999999', '%00', 'a'.repeat(60), '..%2F..', '%E2%80%AE'];
    const bodies: unknown[] = ['{"unterminated":', '[]', '"a string"', '123', 'null', { name: 123, amount: [1], address: {}, url: 5, events: 'x', rules: 'x', vote: 'MAYBE', csrPem: 7 }, { __proto__: { polluted: true }, constructor: { prototype: {} } }];
    let checked = 0;
    for (const r of routes) {
      const hasParams = r.path.includes('{');
      const bodyless = r.method === 'GET' || r.method === 'DELETE';
      for (const id of hasParams ? ids : ['']) {
        // Routes with neither ids nor a body get junk query parameters: refused or ignored, never a 5xx.
        const path = hasParams ? r.path.replace(/\{[^}]+\}/g, id) : bodyless ? `${r.path}?limit=-5&orderBy=SIDEWAYS&before=x&after=%00&status=` : r.path;
        for (const body of bodyless ? [undefined] : bodies) {
          const res = await signedFetch(c, admin, r.method, path, body);
          const what = `${r.method} ${path} ${JSON.stringify(body)?.slice(0, 60)}`;
          if (!hasParams && bodyless) {
            expect(res.status, what).to.be.below(500);
            expect(res.json, what).to.not.equal(null);
            checked++;
            continue;
          }
          expectClientError(res, what);
          checked++;
        }
      }
    }
    expect(checked).to.be.greaterThan(200);
    expect(await counts()).to.deep.equal(before);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });
});
