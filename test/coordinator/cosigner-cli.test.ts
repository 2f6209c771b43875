// `coordinator pairing-token`: prints a token that pairs with the coordinator serving the same data
// folder; every bad argument is one line on stderr and exit code 2.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCoordinatorCli } from '../../coordinator/cli.js';
import { buildApp } from '../../coordinator/app.js';
import { AssetCatalogue } from '../../coordinator/assets/index.js';
import { loadMasterKey, openDatabase } from '../../coordinator/open-coordinator.js';
import { decodePairingToken } from '../../shared/cosigner-api/pairing-token.js';
import { EmulatedEnclave, TestCosigner } from './support/cosigner.js';
import type { TestCoordinator } from './support/build-app.js';

describe('coordinator CLI: pairing-token', function () {
  this.timeout(60_000);
  let dir: string;
  let enclave: EmulatedEnclave;
  before(() => {
    enclave = EmulatedEnclave.create();
  });
  after(() => enclave?.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'coordinator-cli-pair-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCoordinatorCli([...argv, '--data-dir', join(dir, 'data')], { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  }

  it('prints a token that pairs with the coordinator serving that data folder', async () => {
    expect((await run('workspace', 'create', 'acme')).code).to.equal(0);
    const user = await run('api-user', 'create', '--workspace', 'acme', '--name', 'alice', '--role', 'SIGNER');
    const userId = /^api user (\S+)/.exec(user.out[0]!)![1]!;
    const o = { dataDir: join(dir, 'data') };
    const db = await openDatabase(o);
    const app = await buildApp({ db, masterKey: loadMasterKey(o), assets: new AssetCatalogue({ evmChainId: 31337 }), logger: false, attestationRoot: enclave.rootPem, allowAnyPcrs: true });
    try {
      const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
      const t = await run('pairing-token', '--workspace', 'acme', '--user', userId, '--ttl', '3600', '--url', baseUrl);
      expect(t.code, t.err.join('\n')).to.equal(0);
      expect(t.out[0]).to.match(new RegExp(`^pairing token \\S+ for api user ${userId}, expires `));
      const token = t.out[1]!;
      const decoded = decodePairingToken(token);
      expect(decoded.url).to.equal(baseUrl);
      expect(decoded.serviceKeySha256).to.equal((await app.cosignerServiceKey()).sha256);
      const cs = await new TestCosigner({ baseUrl } as TestCoordinator, enclave).pair(token);
      expect(cs.cosignerId).to.be.a('string');
      expect(cs.accessToken).to.match(/^csa_/);
    } finally {
      await app.close();
    }
  });

  it('bad arguments: one line on stderr, exit code 2, no token made', async () => {
    await run('workspace', 'create', 'acme');
    const user = await run('api-user', 'create', '--workspace', 'acme', '--name', 'alice', '--role', 'SIGNER');
    const userId = /^api user (\S+)/.exec(user.out[0]!)![1]!;
    const cases: string[][] = [
      ['pairing-token', '--workspace', 'acme'],
      ['pairing-token', '--user', userId],
      ['pairing-token', '--workspace', 'nowhere', '--user', userId],
      ['pairing-token', '--workspace', 'acme', '--user', 'nobody'],
      ['pairing-token', '--workspace', 'acme', '--user', userId, '--ttl', '5'],
      ['pairing-token', '--workspace', 'acme', '--user', userId, '--ttl', 'soon'],
      ['pairing-token', '--workspace', 'acme', '--user', userId, '--url', 'not a url'],
    ];
    for (const argv of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).to.equal(2);
      expect(r.err, argv.join(' ')).to.have.length(1);
      expect(r.out, argv.join(' ')).to.deep.equal([]);
    }
    const db = await openDatabase({ dataDir: join(dir, 'data') });
    try {
      expect(await db.selectFrom('cosigner_pairing_tokens').selectAll().execute()).to.deep.equal([]);
    } finally {
      await db.destroy();
    }
  });
});
