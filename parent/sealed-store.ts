// The parent's copy of the enclave's sealed state (DESIGN.md "Sealed state"): one CBOR file holding
// { kmsCiphertext, sealed }. The parent cannot read it, but it must not lose or tear it:
// - writes are atomic: temp file in the same folder, fsync, then rename (or link for create), fsync
//   of the folder, so a crash leaves the old file or the new one, never a mix;
// - the first write is create-only (link(2) fails with EEXIST), so a bug or a confused enclave can
//   never replace existing state with fresh state;
// - a file that does not parse is reported (SEALED_STORE_ERROR) and left exactly as it is;
// - a replaced file is kept as `<path>.prev` (the operator's way back, never read automatically).
import { promises as fsp, constants as fsConstants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CosignerError, isCosignerError } from '../shared/errors.js';
import { decodeCbor, encodeCbor } from '../shared/cbor.js';
import { parse } from '../shared/schema.js';
import { SealedFileSchema, type SealedFile } from '../shared/messages.js';
import { createLogger } from '../shared/log.js';

const log = createLogger('sealed-store');

/** SealedFileSchema bounds a file at 768 KiB sealed + 8 KiB KMS ciphertext (one channel frame); larger is not ours. */
const MAX_FILE_BYTES = 1024 * 1024;

function storeError(message: string, cause?: unknown): CosignerError {
  return new CosignerError('SEALED_STORE_ERROR', message, undefined, cause === undefined ? undefined : { cause });
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, fsConstants.O_RDONLY);
  try { await h.sync(); } finally { await h.close(); }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

export class SealedStore {
  readonly dir: string;
  private readonly base: string;

  constructor(readonly path: string) {
    this.dir = dirname(path);
    this.base = basename(path);
  }

  private tempPath(): string {
    return join(this.dir, `.${this.base}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  }

  /** The stored file, or null when none exists. Throws SEALED_STORE_ERROR for an unreadable or corrupt file. */
  async read(): Promise<SealedFile | null> {
    let bytes: Buffer;
    try {
      const st = await fsp.stat(this.path);
      if (!st.isFile()) throw storeError(`sealed state path ${this.path} is not a regular file; it was left untouched`);
      if (st.size > MAX_FILE_BYTES) throw storeError(`sealed state file ${this.path} is corrupt (${st.size} bytes is too large); it was left untouched`);
      bytes = await fsp.readFile(this.path);
    } catch (e) {
      if (isCosignerError(e)) throw e;
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw storeError(`cannot read sealed state file ${this.path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, e);
    }
    try {
      return parse(SealedFileSchema, decodeCbor(new Uint8Array(bytes)));
    } catch (e) {
      const why = isCosignerError(e) ? e.message : 'not CBOR';
      throw storeError(`sealed state file ${this.path} is corrupt (${why}); it was left untouched — restore it from a backup or move it away deliberately`, e);
    }
  }

  /** First write: only if no file exists. Throws SEALED_STORE_ERROR (file untouched) otherwise. */
  async create(file: SealedFile): Promise<void> {
    await this.writeAtomically(file, async (tmp) => {
      try {
        await fsp.link(tmp, this.path); // atomic create-if-absent
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw storeError(`sealed state file ${this.path} already exists; refusing to replace it`);
        throw e;
      }
      await fsp.unlink(tmp);
    });
    log.info({ path: this.path }, 'sealed state created');
  }

  /** Where replace() keeps the file it replaced. */
  get previousPath(): string {
    return `${this.path}.prev`;
  }

  /**
   * Later writes: replace a file that exists and parses (a corrupt one is never overwritten),
   * keeping the replaced one as `<path>.prev`. Each step is one rename, so a crash leaves the
   * current file old or new, never absent. Writing the bytes already stored changes nothing.
   */
  async replace(file: SealedFile): Promise<void> {
    const current = await this.read();
    if (current === null) throw storeError(`sealed state file ${this.path} does not exist; use create()`);
    const next = parse(SealedFileSchema, file);
    if (Buffer.from(encodeCbor(current)).equals(Buffer.from(encodeCbor(next)))) return;
    await this.writeAtomically(next, async (tmp) => {
      const prevTmp = this.tempPath();
      await fsp.link(this.path, prevTmp);
      await fsp.rename(prevTmp, this.previousPath);
      await fsp.rename(tmp, this.path);
    });
    log.info({ path: this.path, previous: this.previousPath }, 'sealed state replaced (previous kept)');
  }

  /**
   * Removes temp files left by a crash between write and rename. A temp file names the pid that
   * wrote it; one whose writer is still alive (an overlapping parent, this process) is left alone.
   */
  async removeStaleTempFiles(): Promise<number> {
    let names: string[];
    try { names = await fsp.readdir(this.dir); } catch { return 0; }
    const prefix = `.${this.base}.`;
    let n = 0;
    for (const name of names) {
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
      const pid = Number(name.slice(prefix.length).split('.')[0]);
      if (Number.isSafeInteger(pid) && pid > 0 && processAlive(pid)) continue;
      await fsp.unlink(join(this.dir, name)).catch(() => undefined);
      n++;
    }
    return n;
  }

  private async writeAtomically(file: SealedFile, commit: (tmp: string) => Promise<void>): Promise<void> {
    const bytes = encodeCbor(parse(SealedFileSchema, file));
    const tmp = this.tempPath();
    try {
      const h = await fsp.open(tmp, 'wx', 0o600);
      try {
        await h.writeFile(bytes);
        await h.sync();
      } finally {
        await h.close();
      }
      await commit(tmp);
      await fsyncDir(this.dir);
    } catch (e) {
      await fsp.unlink(tmp).catch(() => undefined);
      if (isCosignerError(e)) throw e;
      throw storeError(`cannot write sealed state file ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, e);
    }
  }
}
