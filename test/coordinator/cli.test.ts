// The coordinator CLI: what a user does first, on a data folder; every bad argument is one line
// and exit code 2.
import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCoordinatorCli } from '../../coordinator/cli.js';

describe('coordinator CLI', function () {
  this.timeout(60_000);
  let dir: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'coordinator-cli-'));
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCoordinatorCli([...argv, '--data-dir', join(dir!, 'data')], { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  }

  it('creates a workspace, an API user with a key pair, a vault, a policy and a transaction, and shows it', async () => {
    const ws = await run('workspace', 'create', 'acme');
    expect(ws.code, ws.err.join('\n')).to.equal(0);
    expect(statSync(join(dir!, 'data', 'master.key')).mode & 0o777).to.equal(0o600);
    const user = await run('api-user', 'create', '--workspace', 'acme', '--name', 'alice', '--role', 'ADMIN');
    expect(user.code).to.equal(0);
    const apiKey = /^api key (\S+)$/.exec(user.out[1]!)![1]!;
    const keyFile = /^private key (\S+)$/.exec(user.out[2]!)![1]!;
    expect(statSync(keyFile).mode & 0o777).to.equal(0o600);
    expect((await run('vault', 'create', '--as', apiKey, '--name', 'treasury')).out).to.deep.equal(['vault account 0 treasury']);
    const policyFile = join(dir!, 'policy.json');
    writeFileSync(policyFile, JSON.stringify({ rules: [{ name: 'all', operations: '*', initiators: '*', assets: '*', source: '*', destination: '*', action: 'ALLOW' }] }));
    expect((await run('policy', 'publish', policyFile, '--as', apiKey)).out).to.deep.equal(['policy version 1 published (1 rules)']);
    expect((await run('policy', 'show', '--workspace', 'acme')).out.join('\n')).to.match(/"version": 1/);
    const raw = JSON.stringify({ operation: 'RAW', source: { type: 'VAULT_ACCOUNT', id: '0' }, extraParameters: { rawMessageData: { algorithm: 'MPC_EDDSA_ED25519', messages: [{ content: 'abcd', derivationPath: [44, 1, 0, 0, 0] }] } } });
    const noKey = await run('tx', 'create', '--as', apiKey, '--request', raw);
    expect(noKey.code).to.not.equal(0);
    expect(noKey.err.join('\n')).to.match(/no MPC_EDDSA_ED25519 master key yet/);
    const req = JSON.stringify({ operation: 'TRANSFER', assetId: 'ETH_TEST5', amount: '0.1', source: { type: 'VAULT_ACCOUNT', id: '0' }, destination: { type: 'ONE_TIME_ADDRESS', oneTimeAddress: { address: '0x' + '12'.repeat(20) } } });
    const tx = await run('tx', 'create', '--as', apiKey, '--request', req);
    expect(tx.code, tx.err.join('\n')).to.equal(0);
    const [, id, status] = /^transaction (\S+) (\S+)$/.exec(tx.out[0]!)!;
    expect(status).to.equal('QUEUED');
    const shown = JSON.parse((await run('tx', 'show', id!)).out.join('\n'));
    expect(shown).to.include({ id, status: 'QUEUED', operation: 'TRANSFER' });
  });

  it('every bad argument: one line on stderr, exit code 2, nothing written', async () => {
    await run('workspace', 'create', 'acme');
    const cases: string[][] = [
      ['nope'],
      ['workspace', 'create'],
      ['api-user', 'create', '--workspace', 'acme', '--name', 'bob', '--role', 'WIZARD'],
      ['api-user', 'create', '--workspace', 'nowhere', '--name', 'bob', '--role', 'ADMIN'],
      ['serve', '--port', '99999'],
      ['vault', 'create', '--name', 'x'],
      ['vault', 'create', '--name', 'x', '--as', 'nobody'],
      ['tx', 'create', '--as', 'nobody', '--request', '{not json'],
      ['policy', 'publish', join(dir!, 'missing.json'), '--as', 'nobody'],
    ];
    for (const argv of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).to.equal(2);
      expect(r.err, argv.join(' ')).to.have.length(1);
      expect(r.out).to.deep.equal([]);
    }
    expect(existsSync(join(dir!, 'data', 'keys')) ? readdirSync(join(dir!, 'data', 'keys')) : []).to.deep.equal([]);
  });
});
