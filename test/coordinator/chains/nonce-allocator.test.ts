import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryNonceAllocator, type NonceAllocator } from '../../../coordinator/chains/nonce-allocator.js';
import { DbNonceAllocator } from '../../../coordinator/transfers/db-nonce-allocator.js';
import { migrate, openSqlite, type Db } from '../../../coordinator/storage/database.js';
import { expectChainError } from './chain-test-kit.js';

const A = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const B = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';

// The contract, for the in-memory allocator and for the coordinator's database one.
const dbs: Array<{ db: Db; dir: string }> = [];
const IMPLEMENTATIONS: Array<[string, () => Promise<NonceAllocator>]> = [
  ['in memory', async () => new InMemoryNonceAllocator()],
  ['in the coordinator database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nonces-'));
    const db = openSqlite(dir);
    await migrate(db);
    dbs.push({ db, dir });
    return new DbNonceAllocator(db);
  }],
];

after(async () => {
  for (const { db, dir } of dbs) {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [label, make] of IMPLEMENTATIONS) describe(`nonce allocation (${label})`, () => {
  it('hands concurrent callers distinct, consecutive nonces from the node pending nonce', async () => {
    const n = await make();
    const got = await Promise.all(Array.from({ length: 50 }, () => n.reserve(1, A, 7)));
    expect([...got].sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 50 }, (_, i) => 7 + i));
  });

  it('never goes below a nonce it handed out, and jumps ahead when the node is ahead', async () => {
    const n = await make();
    expect(await n.reserve(1, A, 0)).to.equal(0);
    expect(await n.reserve(1, A, 0)).to.equal(1); // node has not seen nonce 0 yet
    expect(await n.reserve(1, A, 10)).to.equal(10); // something else used 2..9
    expect(await n.reserve(1, A, 3)).to.equal(11);
  });

  it('keeps chains and addresses apart; address case does not matter', async () => {
    const n = await make();
    expect(await n.reserve(1, A, 0)).to.equal(0);
    expect(await n.reserve(1, A.toLowerCase() as `0x${string}`, 0)).to.equal(1);
    expect(await n.reserve(1, B, 0)).to.equal(0);
    expect(await n.reserve(5, A, 0)).to.equal(0);
  });

  it('reuses a released nonce first, unless the chain has used it since', async () => {
    const n = await make();
    for (let i = 0; i < 4; i++) await n.reserve(1, A, 0);
    await n.release(1, A, 2);
    await n.release(1, A, 1);
    expect(await n.reserve(1, A, 0)).to.equal(1);
    // The node now reports nonce 3 as next: 2 was used on chain by some other transaction.
    expect(await n.reserve(1, A, 3)).to.equal(4);
  });

  it('refuses releasing a nonce never reserved or twice, and bad arguments', async () => {
    const n = await make();
    await n.reserve(1, A, 0);
    await expectChainError(n.release(1, A, 1), 'CHAIN_INVALID_INPUT', /never reserved/);
    await n.release(1, A, 0);
    await expectChainError(n.release(1, A, 0), 'CHAIN_INVALID_INPUT', /already released/);
    await expectChainError(n.reserve(1, A, -1), 'CHAIN_INVALID_INPUT');
    await expectChainError(n.reserve(1, A, 0.5), 'CHAIN_INVALID_INPUT');
    await expectChainError(n.reserve(0, A, 0), 'CHAIN_INVALID_INPUT');
    await expectChainError(n.reserve(1, '0x12' as `0x${string}`, 0), 'CHAIN_INVALID_INPUT');
  });
});
