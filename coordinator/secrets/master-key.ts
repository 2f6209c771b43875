// The coordinator's master key encrypts its secrets at rest (MPC shares, the Paillier key, the
// service key): AES-256-GCM, a fresh 12-byte nonce per secret, the secret's name as associated
// data (a sealed value moved under another name does not open). The key comes from a file that
// only its owner can read, or from the environment; it is never logged and never stored here.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { CosignerError } from '../../shared/errors.js';

const VERSION = 1;

export class MasterKey {
  private constructor(private readonly key: Buffer) {}

  static fromBytes(bytes: Uint8Array): MasterKey {
    if (bytes.length !== 32) throw new CosignerError('CONFIG_INVALID', `the master key must be 32 bytes, got ${bytes.length}`);
    return new MasterKey(Buffer.from(bytes));
  }

  /** 64 hex characters (whitespace around them ignored). */
  static fromHex(text: string, where: string): MasterKey {
    const t = text.trim();
    if (!/^[0-9a-fA-F]{64}$/.test(t)) throw new CosignerError('CONFIG_INVALID', `the master key in ${where} must be 64 hex characters`);
    return MasterKey.fromBytes(Buffer.from(t, 'hex'));
  }

  /** A file of mode 0600 or stricter holding the key as hex. */
  static fromFile(path: string): MasterKey {
    let mode: number;
    try {
      mode = statSync(path).mode;
    } catch {
      throw new CosignerError('CONFIG_INVALID', `master key file ${path} cannot be read`);
    }
    if ((mode & 0o077) !== 0) throw new CosignerError('CONFIG_INVALID', `master key file ${path} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
    return MasterKey.fromHex(readFileSync(path, 'utf8'), path);
  }

  static fromEnv(name: string, env: NodeJS.ProcessEnv = process.env): MasterKey {
    const v = env[name];
    if (!v) throw new CosignerError('CONFIG_INVALID', `environment variable ${name} (the master key) is not set`);
    return MasterKey.fromHex(v, `$${name}`);
  }

  /** version ‖ nonce ‖ ciphertext ‖ tag, base64. */
  seal(name: string, plaintext: Uint8Array): string {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(Buffer.from(`coordinator-secret:v${VERSION}:${name}`));
    const body = Buffer.concat([c.update(plaintext), c.final()]);
    return Buffer.concat([Buffer.from([VERSION]), nonce, body, c.getAuthTag()]).toString('base64');
  }

  open(name: string, sealed: string): Uint8Array {
    const b = Buffer.from(sealed, 'base64');
    if (b.length < 1 + 12 + 16 || b[0] !== VERSION) throw new CosignerError('SEALED_STATE_INVALID', `secret ${name} is not in the sealed format`);
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, b.subarray(1, 13));
      d.setAAD(Buffer.from(`coordinator-secret:v${VERSION}:${name}`));
      d.setAuthTag(b.subarray(b.length - 16));
      return new Uint8Array(Buffer.concat([d.update(b.subarray(13, b.length - 16)), d.final()]));
    } catch {
      throw new CosignerError('SEALED_STATE_INVALID', `secret ${name} does not open under this master key (wrong key, or the value was altered)`);
    }
  }
}
