import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SealedStore } from '../../parent/sealed-store.js';
import { encodeCbor } from '../../shared/cbor.js';
import { isCosignerError } from '../../shared/errors.js';
import { expectRejects, tempDir } from '../kms/support.js';

const sample = () => ({ kmsCiphertext: new Uint8Array(randomBytes(180)), sealed: new Uint8Array(randomBytes(500)) });

describe('parent sealed-state store', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => { dir = tempDir('sealed-store-'); });
  afterEach(() => dir?.remove());

  it('reads null when absent, then create → read round trip, file mode 0600, no temp files left', async () => {
    const store = new SealedStore(join(dir.path, 'state.sealed'));
    expect(await store.read()).to.equal(null);
    const f = sample();
    await store.create(f);
    expect(await store.read()).to.deep.equal(f);
    expect(statSync(store.path).mode & 0o777).to.equal(0o600);
    expect(readdirSync(dir.path)).to.deep.equal(['state.sealed']);
  });

  it('create never replaces an existing file (bytes and mtime unchanged), and leaves no temp file', async () => {
    const store = new SealedStore(join(dir.path, 'state.sealed'));
    const first = sample();
    await store.create(first);
    const before = readFileSync(store.path);
    const mtime = statSync(store.path).mtimeMs;
    const e = await expectRejects(store.create(sample()));
    expect(isCosignerError(e, 'SEALED_STORE_ERROR')).to.equal(true);
    expect(e.message).to.match(/already exists/);
    expect(readFileSync(store.path).equals(before)).to.equal(true);
    expect(statSync(store.path).mtimeMs).to.equal(mtime);
    expect(readdirSync(dir.path)).to.deep.equal(['state.sealed']);
  });

  it('two concurrent creates: exactly one wins', async () => {
    const store = new SealedStore(join(dir.path, 'state.sealed'));
    const [a, b] = [sample(), sample()];
    const results = await Promise.allSettled([store.create(a), store.create(b)]);
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    const stored = await store.read();
    expect([a, b].some((x) => Buffer.from(encodeCbor(x)).equals(Buffer.from(encodeCbor(stored))))).to.equal(true);
    expect(readdirSync(dir.path)).to.deep.equal(['state.sealed']);
  });

  it('a corrupt file is reported and never overwritten (not CBOR, wrong shape, extra field)', async () => {
    const store = new SealedStore(join(dir.path, 'state.sealed'));
    for (const bad of [Buffer.from('garbage, not cbor \xff'), Buffer.from(encodeCbor({ kmsCiphertext: 'text', sealed: new Uint8Array(4) })), Buffer.from(encodeCbor({ ...sample(), extra: 1 }))]) {
      writeFileSync(store.path, bad);
      const mtime = statSync(store.path).mtimeMs;
      const e = await expectRejects(store.read());
      expect(isCosignerError(e, 'SEALED_STORE_ERROR'), String(e)).to.equal(true);
      expect(e.message).to.match(/corrupt/);
      expect((await expectRejects(store.replace(sample()))).message).to.match(/corrupt/);
      expect((await expectRejects(store.create(sample()))).message).to.match(/already exists/);
      expect(readFileSync(store.path).equals(bad)).to.equal(true);
      expect(statSync(store.path).mtimeMs).to.equal(mtime);
    }
  });

  it('replace swaps a valid file atomically; replace without a file is refused', async () => {
    const store = new SealedStore(join(dir.path, 'state.sealed'));
    expect((await expectRejects(store.replace(sample()))).message).to.match(/does not exist/);
    expect(existsSync(store.path)).to.equal(false);
    await store.create(sample());
    const first = await store.read();
    const next = sample();
    await store.replace(next);
    expect(await store.read()).to.deep.equal(next);
    // The replaced file is kept beside it, and nothing else is left.
    expect(readdirSync(dir.path).sort()).to.deep.equal(['state.sealed', 'state.sealed.prev']);
    expect(await new SealedStore(store.previousPath).read()).to.deep.equal(first);
    // Writing what is already stored changes nothing (the previous file stays the older one).
    await store.replace(next);
    expect(await new SealedStore(store.previousPath).read()).to.deep.equal(first);
  });

  it('invalid input and unwritable places fail cleanly; stale temp files from a crash are cleaned', async () => {
    const store = new SealedStore(join(dir.path, 'state.sealed'));
    // A writer that has exited (a crash) versus one still at work (an overlapping parent).
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(join(dir.path, `.state.sealed.${dead}.abcdef.tmp`), 'left by a crash');
    writeFileSync(join(dir.path, `.state.sealed.${process.pid}.123456.tmp`), 'being written');
    expect(await store.removeStaleTempFiles()).to.equal(1);
    expect(readdirSync(dir.path)).to.deep.equal([`.state.sealed.${process.pid}.123456.tmp`]);
    rmSync(join(dir.path, `.state.sealed.${process.pid}.123456.tmp`));
    // an invalid SealedFile is refused before touching the disk
    const e = await expectRejects(store.create({ kmsCiphertext: new Uint8Array(0), sealed: new Uint8Array(1) }));
    expect(isCosignerError(e, 'SCHEMA_VIOLATION')).to.equal(true);
    expect(readdirSync(dir.path)).to.deep.equal([]);
    const nowhere = new SealedStore(join(dir.path, 'missing-dir', 'state.sealed'));
    const e2 = await expectRejects(nowhere.create(sample()));
    expect(isCosignerError(e2, 'SEALED_STORE_ERROR')).to.equal(true);
    expect(e2.message).to.match(/ENOENT/);
    expect(readdirSync(dir.path)).to.deep.equal([]);
  });
});
