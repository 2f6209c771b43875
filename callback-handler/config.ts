// The handler's configuration file. Checked strictly: an unknown key is an error, since a typo in
// a security setting ("allowList") would otherwise switch a rule off without a word.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isDecimal } from './rules.js';

export interface HandlerConfig {
  port: number;
  host: string;
  basePath: string;
  /** The handler's RSA-2048 private key (PEM); its public half is given to the co-signer. */
  privateKeyFile: string;
  /** The co-signer's RSA public key (PEM), as `print-public-key` shows it. */
  cosignerPublicKeyFile: string;
  bodyLimit?: number;
  rules: {
    /** asset id → maximum amount as a decimal string; "*" applies to assets not named. */
    limits?: Record<string, string>;
    /** destination addresses allowed; absent means no allowlist rule. */
    allowlist?: string[];
    /** what configuration-change requests get; default APPROVE. */
    configChanges: 'APPROVE' | 'REJECT';
  };
}

const TOP_KEYS = ['port', 'host', 'basePath', 'privateKeyFile', 'cosignerPublicKeyFile', 'bodyLimit', 'rules'];
const RULE_KEYS = ['limits', 'allowlist', 'configChanges'];

function fail(file: string, msg: string): never {
  throw new Error(`${file}: ${msg}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads and checks a config file; key file paths are taken relative to the config file. */
export function loadConfig(file: string): HandlerConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(file, `cannot read JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return parseConfig(raw, file);
}

export function parseConfig(raw: unknown, file = 'config'): HandlerConfig {
  if (!isObject(raw)) fail(file, 'must be a JSON object');
  for (const k of Object.keys(raw)) if (!TOP_KEYS.includes(k)) fail(file, `unknown key "${k}"`);
  const here = dirname(resolve(file));

  const port = raw.port ?? 0;
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) fail(file, 'port must be an integer 0..65535');
  const host = raw.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') fail(file, 'host must be a non-empty string');
  const basePath = raw.basePath ?? '';
  if (typeof basePath !== 'string' || (basePath !== '' && !basePath.startsWith('/'))) fail(file, 'basePath must be a path starting with "/"');
  for (const k of ['privateKeyFile', 'cosignerPublicKeyFile'] as const) {
    if (typeof raw[k] !== 'string' || raw[k] === '') fail(file, `${k} is required (a path)`);
  }
  const bodyLimit = raw.bodyLimit;
  if (bodyLimit !== undefined && (!Number.isInteger(bodyLimit) || (bodyLimit as number) < 1024)) fail(file, 'bodyLimit must be an integer ≥ 1024');

  const rules = raw.rules ?? {};
  if (!isObject(rules)) fail(file, 'rules must be an object');
  for (const k of Object.keys(rules)) if (!RULE_KEYS.includes(k)) fail(file, `unknown key "rules.${k}"`);
  let limits: Record<string, string> | undefined;
  if (rules.limits !== undefined) {
    if (!isObject(rules.limits)) fail(file, 'rules.limits must be an object of asset → "maxAmount"');
    for (const [asset, max] of Object.entries(rules.limits)) {
      if (!isDecimal(max)) fail(file, `rules.limits.${asset} must be a decimal string such as "1.5" (strings keep it exact)`);
    }
    limits = rules.limits as Record<string, string>;
  }
  let allowlist: string[] | undefined;
  if (rules.allowlist !== undefined) {
    if (!Array.isArray(rules.allowlist) || !rules.allowlist.every((a) => typeof a === 'string' && a !== '')) {
      fail(file, 'rules.allowlist must be an array of address strings');
    }
    allowlist = rules.allowlist as string[];
  }
  const configChanges = rules.configChanges ?? 'APPROVE';
  if (configChanges !== 'APPROVE' && configChanges !== 'REJECT') fail(file, 'rules.configChanges must be "APPROVE" or "REJECT"');

  return {
    port: port as number,
    host,
    basePath,
    privateKeyFile: resolve(here, raw.privateKeyFile as string),
    cosignerPublicKeyFile: resolve(here, raw.cosignerPublicKeyFile as string),
    ...(bodyLimit !== undefined ? { bodyLimit: bodyLimit as number } : {}),
    rules: {
      ...(limits ? { limits } : {}),
      ...(allowlist ? { allowlist } : {}),
      configChanges,
    },
  };
}
