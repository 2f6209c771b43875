// The KMS emulator: an HTTP(S) server that @aws-sdk/client-kms talks to unchanged (AWS JSON 1.1
// protocol: POST /, `x-amz-target: TrentService.<Operation>`, `content-type:
// application/x-amz-json-1.1`, blobs in base64, errors as `__type` + `x-amzn-errortype`, HTTP 400).
// Every request must carry a valid SigV4 signature by one of the configured credentials.
// Operations: CreateKey, DescribeKey, ListGrants (always empty), GenerateDataKey, Decrypt, Encrypt, GenerateRandom, GetKeyPolicy,
// PutKeyPolicy. With a `Recipient` (Nitro attestation document), the document is verified by the
// injected verifier, key policy conditions are evaluated against its PCRs, and the secret comes
// back only as CiphertextForRecipient (CMS to the document's public key), exactly like AWS.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { buildCiphertextForRecipient } from '../../shared/kms/cms-build.js';
import { wipe } from '../../shared/bytes.js';
import { createLogger, type Logger } from '../../shared/log.js';
import { KmsError } from './errors.js';
import { KeyStore, type StoredKey } from './key-store.js';
import { defaultKeyPolicy, evaluateKeyPolicy, parseKeyPolicy, type IdentityPolicy } from './policy.js';
import { blobKeyId, openBlob, sealBlob } from './ciphertext-blob.js';
import { verifySigV4, type EmulatorCredential } from './sigv4.js';

export interface VerifiedRecipient {
  pcrs: Map<number, Uint8Array>;
  publicKey: Uint8Array | null;
}

export interface KmsEmulatorOptions {
  /** JSON state file for keys; null keeps them in memory. */
  stateFile: string | null;
  credentials: EmulatorCredential[];
  /** Verifies a Recipient attestation document (chain to a pinned root, signature); rejects if invalid. */
  verifyRecipient: (doc: Uint8Array) => Promise<VerifiedRecipient>;
  region?: string;
  account?: string;
  /** Serve HTTPS with this certificate (PEM) so TLS runs end to end from the enclave. */
  tls?: { cert: string; key: string };
  logger?: Logger;
}

type Json = Record<string, unknown>;
type Caller = { principalArn: string; identityPolicy?: IdentityPolicy };
type Handler = (input: Json, caller: Caller) => Promise<Json>;

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_PLAINTEXT_BYTES = 4096;
const MAX_ATTESTATION_BYTES = 0x3000 * 2;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function validation(message: string): never {
  throw new KmsError('ValidationException', message);
}

function str(input: Json, field: string, opts: { required: true; max?: number }): string;
function str(input: Json, field: string, opts?: { required?: false; max?: number }): string | undefined;
function str(input: Json, field: string, opts: { required?: boolean; max?: number } = {}): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (opts.required) validation(`1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0 || v.length > (opts.max ?? 2048)) validation(`Value at '${field}' failed to satisfy constraint: Member must have length between 1 and ${opts.max ?? 2048}`);
  return v;
}

function blob(input: Json, field: string, opts: { required: boolean; max: number }): Uint8Array | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (opts.required) validation(`1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof v !== 'string' || !BASE64_RE.test(v)) throw new KmsError('SerializationException', `${field} is not valid base64`);
  const b = new Uint8Array(Buffer.from(v, 'base64'));
  if (b.length < 1 || b.length > opts.max) validation(`Value at '${field}' failed to satisfy constraint: Member must have length between 1 and ${opts.max}`);
  return b;
}

function encryptionContext(input: Json): Record<string, string> | undefined {
  const v = input.EncryptionContext;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) validation('EncryptionContext must be a map of strings');
  return v as Record<string, string>;
}

function b64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

export class KmsEmulator {
  readonly region: string;
  readonly account: string;
  private readonly keys: KeyStore;
  private readonly log: Logger;
  private readonly server: http.Server | https.Server;
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly opts: KmsEmulatorOptions) {
    if (opts.credentials.length === 0) throw new Error('the KMS emulator needs at least one credential to authenticate requests');
    this.region = opts.region ?? 'us-east-1';
    this.account = opts.account ?? '111122223333';
    this.keys = KeyStore.open(opts.stateFile, this.region, this.account);
    this.log = opts.logger ?? createLogger('kms-emulator');
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    this.server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : http.createServer(listener);
    this.handlers = {
      CreateKey: (i, c) => this.createKey(i, c),
      GenerateDataKey: (i, c) => this.generateDataKey(i, c),
      Decrypt: (i, c) => this.decrypt(i, c),
      Encrypt: (i, c) => this.encrypt(i, c),
      GenerateRandom: (i) => this.generateRandom(i),
      GetKeyPolicy: (i, c) => this.getKeyPolicy(i, c),
      PutKeyPolicy: (i, c) => this.putKeyPolicy(i, c),
      DescribeKey: (i, c) => this.describeKey(i, c),
      ListGrants: (i, c) => this.listGrants(i, c),
    };
  }

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.url;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `${this.opts.tls ? 'https' : 'http'}://${a.address}:${a.port}`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- transport -------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let op = '?';
    try {
      const body = await readBody(req);
      if (req.method !== 'POST' || (req.url ?? '/') !== '/') throw new KmsError('UnknownOperationException', '', 404);
      const target = String(req.headers['x-amz-target'] ?? '');
      if (!target.startsWith('TrentService.')) throw new KmsError('UnknownOperationException', '');
      op = target.slice('TrentService.'.length);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const caller = await verifySigV4({ method: req.method, path: req.url ?? '/', headers, body }, this.opts.credentials, { region: this.region });
      const handler = Object.prototype.hasOwnProperty.call(this.handlers, op) ? this.handlers[op] : undefined;
      if (!handler) throw new KmsError('UnknownOperationException', '');
      if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) {
        throw new KmsError('SerializationException', 'Content-Type must be application/x-amz-json-1.1');
      }
      let input: unknown;
      try { input = body.length === 0 ? {} : JSON.parse(Buffer.from(body).toString('utf8')); } catch { throw new KmsError('SerializationException', 'Start of structure or map found where not expected.'); }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new KmsError('SerializationException', 'Expected a JSON object.');
      const output = await handler(input as Json, caller);
      this.log.info({ op, requestId, principal: caller.principalArn }, 'kms request served');
      send(res, 200, output, requestId);
    } catch (e) {
      const err = e instanceof KmsError ? e : new KmsError('KMSInternalException', 'The request was rejected because an internal exception occurred.', 500);
      if (!(e instanceof KmsError)) this.log.error({ op, requestId, err: (e as Error).message }, 'kms emulator internal error');
      else this.log.info({ op, requestId, error: err.type, message: err.message }, 'kms request refused');
      send(res, err.status, { __type: err.type, message: err.message }, requestId, err.type);
    }
  }

  // ---- authorisation ---------------------------------------------------------------------

  private findKey(keyIdOrArn: string): StoredKey {
    const key = this.keys.find(keyIdOrArn);
    if (!key) throw new KmsError('NotFoundException', `Key '${keyIdOrArn.startsWith('arn:') ? keyIdOrArn : this.keys.arnOf(keyIdOrArn)}' does not exist`);
    return key;
  }

  private authorise(key: StoredKey, action: string, caller: Caller, recipient: VerifiedRecipient | null): void {
    const decision = evaluateKeyPolicy(parseKeyPolicy(key.policy), { action, principalArn: caller.principalArn, identityPolicy: caller.identityPolicy ?? null, resource: key.arn, account: this.account, recipient });
    if (!decision.allowed) {
      throw new KmsError('AccessDeniedException',
        `User: ${caller.principalArn} is not authorized to perform: ${action} on resource: ${key.arn} because ${decision.reason}`);
    }
  }

  /** The policy must keep letting the caller change it, unless the caller bypasses the check (as AWS). */
  private lockoutCheck(policyText: string, input: Json, caller: Caller, keyArn?: string): void {
    if (input.BypassPolicyLockoutSafetyCheck === true) return;
    const d = evaluateKeyPolicy(parseKeyPolicy(policyText), { action: 'kms:PutKeyPolicy', principalArn: caller.principalArn, identityPolicy: caller.identityPolicy ?? null, resource: keyArn, account: this.account, recipient: null });
    if (!d.allowed) throw new KmsError('MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
  }

  /** Verify the Recipient's attestation document; null when the request has none. */
  private async recipient(input: Json): Promise<VerifiedRecipient | null> {
    const r = input.Recipient;
    if (r === undefined || r === null) return null;
    if (typeof r !== 'object' || Array.isArray(r)) validation('Recipient must be a structure');
    const rec = r as Json;
    if (rec.KeyEncryptionAlgorithm !== 'RSAES_OAEP_SHA_256') validation("Value at 'Recipient.KeyEncryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RSAES_OAEP_SHA_256]");
    const doc = blob(rec, 'AttestationDocument', { required: true, max: MAX_ATTESTATION_BYTES })!;
    let verified: VerifiedRecipient;
    try {
      verified = await this.opts.verifyRecipient(doc);
    } catch (e) {
      throw new KmsError('ValidationException', `The attestation document in the Recipient parameter is not valid: ${(e as Error).message}`);
    }
    if (!verified.publicKey) validation('The attestation document in the Recipient parameter does not contain a public key.');
    return verified;
  }

  private forRecipient(secret: Uint8Array, recipient: VerifiedRecipient): string {
    try {
      return b64(buildCiphertextForRecipient(secret, recipient.publicKey!));
    } catch (e) {
      throw new KmsError('ValidationException', `The public key in the attestation document cannot be used: ${(e as Error).message}`);
    } finally {
      wipe(secret);
    }
  }

  // ---- operations ------------------------------------------------------------------------

  private async createKey(input: Json, caller: Caller): Promise<Json> {
    const usage = str(input, 'KeyUsage') ?? 'ENCRYPT_DECRYPT';
    const spec = str(input, 'KeySpec') ?? str(input, 'CustomerMasterKeySpec') ?? 'SYMMETRIC_DEFAULT';
    if (usage !== 'ENCRYPT_DECRYPT' || spec !== 'SYMMETRIC_DEFAULT') throw new KmsError('UnsupportedOperationException', 'The emulator supports only SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys.');
    if ((str(input, 'Origin') ?? 'AWS_KMS') !== 'AWS_KMS') throw new KmsError('UnsupportedOperationException', 'The emulator supports only Origin AWS_KMS.');
    // CreateKey has no key policy yet: IAM alone decides (the account root user may always).
    const root = caller.principalArn === `arn:aws:iam::${this.account}:root`;
    const iam = evaluateKeyPolicy({ Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${this.account}:root` }, Action: 'kms:CreateKey' }] },
      { action: 'kms:CreateKey', principalArn: caller.principalArn, identityPolicy: caller.identityPolicy ?? null, account: this.account, recipient: null });
    if (!root && !iam.allowed) throw new KmsError('AccessDeniedException', `User: ${caller.principalArn} is not authorized to perform: kms:CreateKey because no identity-based policy allows the kms:CreateKey action`);
    const policy = str(input, 'Policy', { max: 32768 }) ?? defaultKeyPolicy(this.account);
    parseKeyPolicy(policy);
    this.lockoutCheck(policy, input, caller);
    const key = this.keys.create(policy, str(input, 'Description', { max: 8192 }) ?? '');
    return { KeyMetadata: this.metadata(key) };
  }

  private metadata(key: StoredKey): Json {
    return {
      AWSAccountId: this.account,
      KeyId: key.keyId,
      Arn: key.arn,
      CreationDate: key.creationDate,
      Enabled: key.enabled,
      Description: key.description,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: 'Enabled',
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      MultiRegion: false,
    };
  }

  private async generateDataKey(input: Json, caller: Caller): Promise<Json> {
    const key = this.findKey(str(input, 'KeyId', { required: true }));
    const spec = str(input, 'KeySpec');
    const n = input.NumberOfBytes;
    if ((spec === undefined) === (n === undefined || n === null)) validation('Please specify either number of bytes or key spec.');
    let length: number;
    if (spec !== undefined) {
      if (spec !== 'AES_256' && spec !== 'AES_128') validation("Value at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]");
      length = spec === 'AES_256' ? 32 : 16;
    } else {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1024) validation("Value at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024");
      length = n;
    }
    const ctx = encryptionContext(input);
    const recipient = await this.recipient(input);
    this.authorise(key, 'kms:GenerateDataKey', caller, recipient);
    const dataKey = new Uint8Array(randomBytes(length));
    const out: Json = { KeyId: key.arn, CiphertextBlob: b64(sealBlob(key.keyId, key.material, dataKey, ctx)) };
    if (recipient) out.CiphertextForRecipient = this.forRecipient(dataKey, recipient);
    else { out.Plaintext = b64(dataKey); wipe(dataKey); }
    return out;
  }

  private async decrypt(input: Json, caller: Caller): Promise<Json> {
    const ciphertext = blob(input, 'CiphertextBlob', { required: true, max: 6144 })!;
    const alg = str(input, 'EncryptionAlgorithm');
    if (alg !== undefined && alg !== 'SYMMETRIC_DEFAULT') throw new KmsError('IncorrectKeyException', 'The key supports only SYMMETRIC_DEFAULT.');
    const key = this.keys.find(blobKeyId(ciphertext));
    if (!key) throw new KmsError('InvalidCiphertextException', '');
    const requested = str(input, 'KeyId');
    if (requested !== undefined && this.keys.find(requested)?.keyId !== key.keyId) {
      throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
    }
    const recipient = await this.recipient(input);
    this.authorise(key, 'kms:Decrypt', caller, recipient);
    const plaintext = openBlob(ciphertext, key.material, encryptionContext(input));
    const out: Json = { KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    if (recipient) out.CiphertextForRecipient = this.forRecipient(plaintext, recipient);
    else { out.Plaintext = b64(plaintext); wipe(plaintext); }
    return out;
  }

  private async encrypt(input: Json, caller: Caller): Promise<Json> {
    const key = this.findKey(str(input, 'KeyId', { required: true }));
    const plaintext = blob(input, 'Plaintext', { required: true, max: MAX_PLAINTEXT_BYTES })!;
    const alg = str(input, 'EncryptionAlgorithm');
    if (alg !== undefined && alg !== 'SYMMETRIC_DEFAULT') throw new KmsError('InvalidKeyUsageException', 'The key supports only SYMMETRIC_DEFAULT.');
    this.authorise(key, 'kms:Encrypt', caller, null);
    const out = { KeyId: key.arn, CiphertextBlob: b64(sealBlob(key.keyId, key.material, plaintext, encryptionContext(input))), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    wipe(plaintext);
    return out;
  }

  /** Not tied to a key, so no key policy applies (IAM-only in AWS, i.e. allowed here). */
  private async generateRandom(input: Json): Promise<Json> {
    const n = input.NumberOfBytes;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1024) validation("Value at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024");
    const recipient = await this.recipient(input);
    const random = new Uint8Array(randomBytes(n));
    if (recipient) return { CiphertextForRecipient: this.forRecipient(random, recipient) };
    return { Plaintext: b64(random) };
  }

  private async describeKey(input: Json, caller: Caller): Promise<Json> {
    const key = this.findKey(str(input, 'KeyId', { required: true }));
    this.authorise(key, 'kms:DescribeKey', caller, null);
    return { KeyMetadata: this.metadata(key) };
  }

  /** The emulator has no CreateGrant, so a key never has grants. */
  private async listGrants(input: Json, caller: Caller): Promise<Json> {
    const key = this.findKey(str(input, 'KeyId', { required: true }));
    this.authorise(key, 'kms:ListGrants', caller, null);
    return { Grants: [], Truncated: false };
  }

  private async getKeyPolicy(input: Json, caller: Caller): Promise<Json> {
    const key = this.findKey(str(input, 'KeyId', { required: true }));
    if ((str(input, 'PolicyName') ?? 'default') !== 'default') throw new KmsError('NotFoundException', 'No such policy exists');
    this.authorise(key, 'kms:GetKeyPolicy', caller, null);
    return { Policy: key.policy, PolicyName: 'default' };
  }

  private async putKeyPolicy(input: Json, caller: Caller): Promise<Json> {
    const key = this.findKey(str(input, 'KeyId', { required: true }));
    if ((str(input, 'PolicyName') ?? 'default') !== 'default') validation('PolicyName must be default');
    const policy = str(input, 'Policy', { required: true, max: 32768 });
    parseKeyPolicy(policy);
    this.authorise(key, 'kms:PutKeyPolicy', caller, null);
    this.lockoutCheck(policy, input, caller, key.arn);
    this.keys.setPolicy(key.keyId, policy);
    return {};
  }
}

function readBody(req: http.IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        reject(new KmsError('ValidationException', 'Request body too large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: Json, requestId: string, errorType?: string): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
  };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(text);
}
