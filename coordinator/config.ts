// The coordinator's configuration: where its data lives, where it listens, and how it gets its
// master key (the key that encrypts its secrets at rest). Checked once, at start.
import { CosignerError } from '../shared/errors.js';

export interface CoordinatorConfig {
  /** Folder for the SQLite database (created mode 0700 if absent). */
  dataDir: string;
  host: string;
  port: number;
  /** The URL co-signers and SDK users reach this coordinator at (goes into pairing tokens). */
  publicUrl: string;
  /** Master key: 32 bytes, from a file of mode 0600 (hex or raw) or COORDINATOR_MASTER_KEY (hex). */
  masterKey: { file: string } | { env: string };
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /** Lifetime accepted for an API request JWT (the SDKs send 55 s). */
  maxTokenLifetimeSeconds: number;
  /** Clock skew tolerated on `iat`. */
  clockSkewSeconds: number;
  logLevel: string;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  bodyLimit: 256 * 1024,
  maxTokenLifetimeSeconds: 60,
  clockSkewSeconds: 10,
  logLevel: 'info',
} as const;

export function checkConfig(c: CoordinatorConfig): CoordinatorConfig {
  if (!c.dataDir) throw new CosignerError('CONFIG_INVALID', 'dataDir is required');
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) throw new CosignerError('CONFIG_INVALID', 'port must be 0..65535');
  if (!Number.isInteger(c.bodyLimit) || c.bodyLimit < 1024 || c.bodyLimit > 16 * 1024 * 1024) throw new CosignerError('CONFIG_INVALID', 'bodyLimit must be 1 KiB..16 MiB');
  try {
    new URL(c.publicUrl);
  } catch {
    throw new CosignerError('CONFIG_INVALID', 'publicUrl must be an absolute URL');
  }
  return c;
}
