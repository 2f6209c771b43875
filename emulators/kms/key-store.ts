// The emulator's keys, persisted in one JSON state file so that a restarted emulator can still
// decrypt what it encrypted. Writes are atomic (temp file in the same directory, fsync, rename,
// fsync the directory): a crash leaves either the old or the new file, never a torn one.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';

export interface StoredKey {
  keyId: string;
  arn: string;
  /** 32-byte AES-256 key material, base64 in the file. */
  material: Uint8Array;
  policy: string;
  description: string;
  creationDate: number; // epoch seconds
  enabled: boolean;
}

interface StateFileV1 {
  version: 1;
  keys: Array<Omit<StoredKey, 'material'> & { material: string }>;
}

export class KeyStore {
  private readonly keys = new Map<string, StoredKey>();

  private constructor(private readonly file: string | null, private readonly region: string, private readonly account: string) {}

  /** Loads `file` when it exists; `null` keeps keys in memory only. */
  static open(file: string | null, region: string, account: string): KeyStore {
    const store = new KeyStore(file, region, account);
    if (file && existsSync(file)) store.load(file);
    return store;
  }

  private load(file: string): void {
    let parsed: StateFileV1;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as StateFileV1;
    } catch (e) {
      throw new Error(`KMS emulator state file ${file} is not valid JSON: ${(e as Error).message}`);
    }
    if (parsed?.version !== 1 || !Array.isArray(parsed.keys)) throw new Error(`KMS emulator state file ${file} has an unknown format`);
    for (const k of parsed.keys) {
      const material = new Uint8Array(Buffer.from(k.material, 'base64'));
      if (material.length !== 32 || typeof k.keyId !== 'string' || typeof k.policy !== 'string') {
        throw new Error(`KMS emulator state file ${file}: key ${String(k.keyId)} is malformed`);
      }
      this.keys.set(k.keyId, { ...k, material });
    }
  }

  private persist(): void {
    if (!this.file) return;
    const state: StateFileV1 = {
      version: 1,
      keys: [...this.keys.values()].map((k) => ({ ...k, material: Buffer.from(k.material).toString('base64') })),
    };
    const dir = dirname(this.file);
    const tmp = join(dir, `.${basename(this.file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeFileSync(fd, JSON.stringify(state, null, 2)); // loops until every byte is written
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      unlinkSync(tmp);
      throw e;
    }
    closeSync(fd);
    renameSync(tmp, this.file);
    const dfd = openSync(dir, 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  }

  arnOf(keyId: string): string {
    return `arn:aws:kms:${this.region}:${this.account}:key/${keyId}`;
  }

  create(policy: string, description: string): StoredKey {
    const keyId = randomUUID();
    const key: StoredKey = {
      keyId,
      arn: this.arnOf(keyId),
      material: new Uint8Array(randomBytes(32)),
      policy,
      description,
      creationDate: Math.floor(Date.now() / 1000),
      enabled: true,
    };
    this.keys.set(keyId, key);
    this.persist();
    return key;
  }

  /** Accepts a key id or a key ARN of this region/account (aliases are not emulated). */
  find(keyIdOrArn: string): StoredKey | undefined {
    const prefix = `arn:aws:kms:${this.region}:${this.account}:key/`;
    const id = keyIdOrArn.startsWith(prefix) ? keyIdOrArn.slice(prefix.length) : keyIdOrArn;
    return this.keys.get(id);
  }

  setPolicy(keyId: string, policy: string): void {
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`no key ${keyId}`);
    key.policy = policy;
    this.persist();
  }
}
