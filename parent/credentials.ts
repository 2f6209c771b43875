// IAM credentials the parent hands into the enclave for its KMS calls (DESIGN.md "KMS sealing").
// On EC2: the instance role through IMDSv2 (EC2 User Guide, "Use IMDSv2" and "Retrieve security
// credentials from instance metadata"): PUT /latest/api/token with the TTL header, then
// GET /latest/meta-data/iam/security-credentials/ (role name) and .../<role> with the token.
// Elsewhere: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
// Secrets never reach logs or error messages.
import { CosignerError } from '../shared/errors.js';
import { createLogger } from '../shared/log.js';

const log = createLogger('credentials');

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Epoch milliseconds. */
  expiration?: number;
}

export interface ResolvedCredentials extends AwsCredentials {
  source: 'imds' | 'env';
}

export const IMDS_DEFAULT_BASE_URL = 'http://169.254.169.254';
const TOKEN_TTL_SECONDS = 21600;
const ACCESS_KEY_RE = /^[A-Z0-9]{16,128}$/;

export interface CredentialOptions {
  /** 'auto' tries IMDSv2 then the environment. */
  source?: 'auto' | 'imds' | 'env';
  imdsBaseUrl?: string;
  env?: NodeJS.ProcessEnv;
  /** Per IMDS request; default 2 s (IMDS answers in milliseconds on EC2). */
  timeoutMs?: number;
}

function credError(message: string): CosignerError {
  return new CosignerError('CONFIG_INVALID', message);
}

function checkAccessKeyId(id: unknown, where: string): string {
  if (typeof id !== 'string' || !ACCESS_KEY_RE.test(id)) throw credError(`${where}: access key id is malformed`);
  return id;
}

export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): AwsCredentials | null {
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  if (!id && !secret) return null;
  if (!id || !secret) throw credError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
  const out: AwsCredentials = { accessKeyId: checkAccessKeyId(id, 'environment'), secretAccessKey: secret };
  if (env.AWS_SESSION_TOKEN) out.sessionToken = env.AWS_SESSION_TOKEN;
  return out;
}

const IMDS_MAX_ANSWER_BYTES = 64 * 1024;

async function imdsRequest(url: string, init: { method: 'GET' | 'PUT'; headers: Record<string, string> }, timeoutMs: number): Promise<string> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new CosignerError('CONFIG_INVALID', `IMDS ${init.method} ${new URL(url).pathname} answered HTTP ${res.status}`);
  }
  // Read at most 64 KiB: an answer is never larger, and a bigger one is not buffered whole.
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > IMDS_MAX_ANSWER_BYTES) {
      await res.body?.cancel().catch(() => undefined);
      throw new CosignerError('CONFIG_INVALID', 'IMDS answer is too large');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** IMDSv2: session token, role name, then the role's temporary credentials. */
export async function credentialsFromImds(opts: { baseUrl?: string; timeoutMs?: number } = {}): Promise<AwsCredentials> {
  const base = (opts.baseUrl ?? IMDS_DEFAULT_BASE_URL).replace(/\/+$/, '');
  const timeout = opts.timeoutMs ?? 2000;
  const token = await imdsRequest(`${base}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS) } }, timeout);
  if (!token.trim()) throw credError('IMDS returned an empty session token');
  const auth = { 'X-aws-ec2-metadata-token': token.trim() };
  const roles = await imdsRequest(`${base}/latest/meta-data/iam/security-credentials/`, { method: 'GET', headers: auth }, timeout);
  const role = roles.split('\n').map((r) => r.trim()).find((r) => r.length > 0);
  if (!role || !/^[\w+=,.@-]{1,128}$/.test(role)) throw credError('the instance has no usable IAM role (attach an instance profile)');
  const body = await imdsRequest(`${base}/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`, { method: 'GET', headers: auth }, timeout);
  let doc: Record<string, unknown>;
  try { doc = JSON.parse(body) as Record<string, unknown>; } catch { throw credError('IMDS credentials are not JSON'); }
  if (doc.Code !== 'Success') throw credError(`IMDS credentials for role ${role} are not available (Code ${String(doc.Code).slice(0, 64)})`);
  if (typeof doc.SecretAccessKey !== 'string' || typeof doc.Token !== 'string' || doc.SecretAccessKey.length === 0) throw credError('IMDS credentials are incomplete');
  const expiration = typeof doc.Expiration === 'string' ? Date.parse(doc.Expiration) : NaN;
  if (Number.isNaN(expiration)) throw credError('IMDS credentials have no valid Expiration');
  log.info({ role, expiration: new Date(expiration).toISOString() }, 'instance role credentials fetched through IMDSv2');
  return { accessKeyId: checkAccessKeyId(doc.AccessKeyId, 'IMDS'), secretAccessKey: doc.SecretAccessKey, sessionToken: doc.Token, expiration };
}

function unreachable(e: unknown): boolean {
  const name = (e as Error)?.name;
  return name === 'TimeoutError' || name === 'AbortError' || (e instanceof TypeError && /fetch failed/.test(e.message));
}

/** Instance role on EC2; environment variables elsewhere ('auto': IMDS only if it answers). */
export async function resolveCredentials(opts: CredentialOptions = {}): Promise<ResolvedCredentials> {
  const source = opts.source ?? 'auto';
  if (source !== 'env') {
    try {
      return { ...(await credentialsFromImds({ baseUrl: opts.imdsBaseUrl, timeoutMs: opts.timeoutMs ?? (source === 'auto' ? 1000 : 2000) })), source: 'imds' };
    } catch (e) {
      if (source === 'imds' || !unreachable(e)) throw e instanceof CosignerError ? e : credError(`IMDS request failed: ${(e as Error).message}`);
      log.info('no instance metadata service reachable; using environment credentials');
    }
  }
  const env = credentialsFromEnv(opts.env);
  if (!env) throw credError('no AWS credentials: no instance role reachable through IMDSv2 and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY unset');
  return { ...env, source: 'env' };
}
