// SigV4 request authentication for the emulator (AWS Signature Version 4, "Create a signed AWS API
// request"): parse the Authorization header, look up the access key among the configured
// credentials, re-sign the exact signed headers and body with @smithy/signature-v4 (the signer the
// SDK itself uses) at the request's X-Amz-Date, and compare signatures in constant time.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import { KmsError } from './errors.js';
import type { IdentityPolicy } from './policy.js';

export interface EmulatorCredential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** The IAM principal this key acts as, matched against key policy principals. */
  principalArn: string;
  /** Its identity-based policy (what IAM allows it); absent: none attached. */
  identityPolicy?: IdentityPolicy;
}

export interface SigV4Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Clock skew AWS tolerates before "Signature expired". */
const MAX_SKEW_MS = 5 * 60 * 1000;

const AUTH_RE = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$/;

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** SHA-256 / HMAC-SHA-256 in the shape the smithy signer expects, on node:crypto. */
class NodeSha256 implements Checksum {
  private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(private readonly secret?: SourceData) {
    this.h = this.fresh();
  }
  private fresh() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(this.secret));
  }
  update(chunk: Uint8Array): void {
    this.h.update(chunk);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.fresh();
  }
}

function parseAmzDate(v: string | undefined): Date {
  const m = v && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) throw new KmsError('InvalidSignatureException', 'X-Amz-Date is missing or malformed.');
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/** Returns the authenticated credential, or throws the error AWS would return. */
export async function verifySigV4(req: SigV4Request, credentials: readonly EmulatorCredential[], opts: { region: string; now?: Date }): Promise<EmulatorCredential> {
  const auth = req.headers['authorization'];
  if (!auth) throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = AUTH_RE.exec(auth);
  if (!m) throw new KmsError('IncompleteSignatureException', 'Authorization header is not a valid AWS4-HMAC-SHA256 header.');
  const [, accessKeyId, day, region, service, signedHeaderList, signature] = m as unknown as string[];
  const cred = credentials.find((c) => c.accessKeyId === accessKeyId);
  if (!cred) throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (service !== 'kms') throw new KmsError('InvalidSignatureException', `Credential should be scoped to correct service: 'kms'.`);
  if (region !== opts.region) throw new KmsError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${region}'.`);
  const date = parseAmzDate(req.headers['x-amz-date']);
  if (date.toISOString().slice(0, 10).replace(/-/g, '') !== day) {
    throw new KmsError('InvalidSignatureException', 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.');
  }
  const now = opts.now ?? new Date();
  if (Math.abs(now.getTime() - date.getTime()) > MAX_SKEW_MS) {
    throw new KmsError('InvalidSignatureException', 'Signature expired: the request time is more than 5 minutes from the server time.');
  }
  const signedHeaders = signedHeaderList!.split(';');
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) {
    throw new KmsError('InvalidSignatureException', 'Host and X-Amz-Date must be signed.');
  }
  if (cred.sessionToken !== undefined && req.headers['x-amz-security-token'] !== cred.sessionToken) {
    throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  const headers: Record<string, string> = {};
  for (const h of signedHeaders) {
    const v = req.headers[h];
    if (v === undefined) throw new KmsError('InvalidSignatureException', `Signed header ${h} is missing.`);
    headers[h] = v;
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey, sessionToken: cred.sessionToken },
    region: opts.region,
    service: 'kms',
    sha256: NodeSha256,
  });
  const [path, query = ''] = req.path.split('?', 2) as [string, string?];
  const signed = await signer.sign({
    method: req.method,
    protocol: 'https:',
    hostname: headers['host']!.split(':')[0]!,
    path,
    query: Object.fromEntries(new URLSearchParams(query)),
    headers,
    body: Buffer.from(req.body),
  }, { signingDate: date });
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers['authorization']))?.[1] ?? '';
  const ok = expected.length === 64 && timingSafeEqual(Buffer.from(expected), Buffer.from(signature!));
  if (!ok) {
    throw new KmsError('InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }
  return cred;
}
