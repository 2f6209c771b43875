// What the parent keeps per pairing: the coordinator's answer (ids and the refresh token) in
// `<state-dir>/pairings/<tokenId>.json`, mode 0600, written create-only and atomically before the
// enclave is told, so the refresh token (which the coordinator shows once) is never lost to a crash.
// The refresh token only lets a co-signer fetch work; every work item is verified in the enclave.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CosignerError } from '../../shared/errors.js';
import * as s from '../../shared/schema.js';

export const PairingRecordSchema = s.struct({
  tokenId: s.text({ min: 1, max: 64, pattern: /^[A-Za-z0-9-]+$/ }),
  coordinatorUrl: s.text({ min: 1, max: 2048 }),
  cosignerId: s.text({ min: 1, max: 128 }),
  workspaceId: s.text({ min: 1, max: 128 }),
  userId: s.text({ min: 1, max: 128 }),
  refreshToken: s.text({ min: 1, max: 512 }),
  pairedAt: s.uint(),
  /**
   * The coordinator's signed pairing record (shared/cosigner-api/pairing-record.ts) as JSON text,
   * carried to the enclave unchanged. Absent in files written before records were signed.
   */
  signedRecord: s.optional(s.text({ min: 1, max: 4096 })),
});
export type PairingRecord = s.Infer<typeof PairingRecordSchema>;

export class PairingRecords {
  readonly dir: string;
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'pairings');
  }

  private pathOf(tokenId: string): string {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(tokenId)) throw new CosignerError('CONFIG_INVALID', 'a pairing token id is letters, digits and dashes');
    return join(this.dir, `${tokenId}.json`);
  }

  async save(record: PairingRecord): Promise<void> {
    const r = s.parse(PairingRecordSchema, record);
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = this.pathOf(r.tokenId);
    const tmp = join(this.dir, `.${r.tokenId}.${randomBytes(6).toString('hex')}.tmp`);
    const h = await fsp.open(tmp, 'wx', 0o600);
    try {
      await h.writeFile(JSON.stringify(r) + '\n');
      await h.sync();
    } finally {
      await h.close();
    }
    try {
      await fsp.link(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new CosignerError('CONFLICT', `a pairing record for token ${r.tokenId} exists already; it was left as it is`);
      throw e;
    } finally {
      await fsp.unlink(tmp).catch(() => undefined);
    }
  }

  async load(tokenId: string): Promise<PairingRecord | null> {
    let text: string;
    try {
      text = await fsp.readFile(this.pathOf(tokenId), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    try {
      return s.parse(PairingRecordSchema, JSON.parse(text));
    } catch {
      throw new CosignerError('CONFIG_INVALID', `pairing record for token ${tokenId} is corrupt; it was left as it is`);
    }
  }

  /** Every readable record; one that is corrupt is reported to `skipped` and left out (and in place). */
  async list(skipped: (name: string, e: unknown) => void = () => undefined): Promise<PairingRecord[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch {
      return [];
    }
    const out: PairingRecord[] = [];
    for (const n of names.filter((x) => /^[A-Za-z0-9-]+\.json$/.test(x)).sort()) {
      try {
        const r = await this.load(n.slice(0, -5));
        if (r) out.push(r);
      } catch (e) {
        skipped(n, e);
      }
    }
    return out;
  }
}
