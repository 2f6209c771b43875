// The enclave's KMS client (DESIGN.md "KMS sealing"): @aws-sdk/client-kms with the parent's
// credentials, reaching KMS only through the vsock proxy (stream-agent.ts), and always with a
// Nitro `Recipient`: for each call a fresh RSA-2048 key pair is made inside the enclave, the NSM
// attests its public key, KMS encrypts the secret to that key (CiphertextForRecipient, CMS) and
// the enclave unwraps it. The private key never leaves this function and is dropped afterwards.
// KMS evaluates its key policy (kms:RecipientAttestation:ImageSha384 / PCR<n>) against the
// attestation, so only an enclave with the expected measurement can obtain plaintext.
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import {
  KMSClient,
  DecryptCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  DescribeKeyCommand,
  ListGrantsCommand,
  type KeyMetadata,
  type GrantListEntry,
  type DecryptCommandOutput,
  type GetKeyPolicyCommandOutput,
  type GenerateDataKeyCommandOutput,
} from '@aws-sdk/client-kms';
import { CosignerError } from '../../shared/errors.js';
import { toHex } from '../../shared/bytes.js';
import { decryptCiphertextForRecipient } from '../../shared/kms/cms.js';
import { parseAttestationDocument } from '../../shared/attestation/verify.js';
import { createStreamRequestHandler, type StreamConnect } from './stream-agent.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Epoch milliseconds. */
  expiration?: number;
}

export interface EnclaveKmsOptions {
  region: string;
  /** https://kms.<region>.amazonaws.com in production. */
  endpoint: string;
  credentials: AwsCredentials;
  /** Opens a stream to the parent's KMS proxy (vsock). */
  connect: StreamConnect;
  /** Returns an NSM attestation document whose public_key is the given SPKI DER. */
  attest: (publicKeySpkiDer: Uint8Array) => Promise<Uint8Array>;
  /** Extra trust anchors (PEM) for the TLS endpoint, e.g. the local emulator's. */
  tlsCa?: string;
  /**
   * Plain http lets the parent forge KMS answers (it could hand the enclave a data key of its own
   * choosing, encrypted to the attested public key). Only for the local emulator.
   */
  allowPlainHttp?: boolean;
  /** Per call; default 30 s. */
  timeoutMs?: number;
}

export interface DataKey {
  /** 32-byte AES-256 data key. The caller wipes it after use. */
  plaintext: Uint8Array;
  /** The data key encrypted under the KMS key: what the parent stores. */
  ciphertextBlob: Uint8Array;
  /** The KMS key ARN that KMS reports. */
  keyArn: string;
}

export interface DecryptedSecret {
  /** The caller wipes it after use. */
  plaintext: Uint8Array;
  /** The ARN of the KMS key that decrypted it, as KMS reports. */
  keyArn: string;
}

interface EphemeralRecipient {
  privateKey: KeyObject;
  attestationDocument: Uint8Array;
}

export class EnclaveKmsClient {
  private readonly client: KMSClient;
  private readonly timeoutMs: number;

  constructor(private readonly opts: EnclaveKmsOptions) {
    let endpoint: URL;
    try {
      endpoint = new URL(opts.endpoint);
    } catch {
      throw new CosignerError('CONFIG_INVALID', 'KMS endpoint is not a URL');
    }
    if (endpoint.protocol !== 'https:' && !(endpoint.protocol === 'http:' && opts.allowPlainHttp)) {
      throw new CosignerError('CONFIG_INVALID', `KMS endpoint must be https (TLS end to end from the enclave); got ${endpoint.protocol}`);
    }
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    const c = opts.credentials;
    // Expired credentials would only fail later, inside the SDK, with a vaguer error; say so now.
    // The parent fetches fresh ones on its next Boot attempt (this failure is retried).
    if (c.expiration !== undefined && c.expiration <= Date.now()) {
      throw new CosignerError('CREDENTIALS_EXPIRED', `the IAM credentials handed in expired at ${new Date(c.expiration).toISOString()}`, { expiration: c.expiration });
    }
    this.client = new KMSClient({
      region: opts.region,
      endpoint: endpoint.toString(),
      credentials: {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        sessionToken: c.sessionToken,
        expiration: c.expiration !== undefined ? new Date(c.expiration) : undefined,
      },
      requestHandler: createStreamRequestHandler(endpoint, opts.connect, { ca: opts.tlsCa }),
      maxAttempts: 3,
    });
  }

  /** GenerateDataKey (AES_256) with Recipient; the plaintext key exists only inside the enclave. */
  async generateDataKeyForRecipient(keyId: string, encryptionContext?: Record<string, string>): Promise<DataKey> {
    const recipient = await this.ephemeralRecipient();
    const out = await this.call<GenerateDataKeyCommandOutput>('GenerateDataKey', recipient, () => this.client.send(
      new GenerateDataKeyCommand({
        KeyId: keyId,
        KeySpec: 'AES_256',
        EncryptionContext: encryptionContext,
        Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: recipient.attestationDocument },
      }),
      { abortSignal: AbortSignal.timeout(this.timeoutMs) },
    ));
    if (!out.CiphertextBlob || out.CiphertextBlob.length === 0) throw new CosignerError('KMS_ERROR', 'GenerateDataKey returned no CiphertextBlob');
    const plaintext = this.unwrap('GenerateDataKey', out, recipient);
    if (plaintext.length !== 32) throw new CosignerError('KMS_ERROR', `GenerateDataKey returned a ${plaintext.length}-byte key, expected 32`);
    return { plaintext, ciphertextBlob: new Uint8Array(out.CiphertextBlob), keyArn: out.KeyId ?? keyId };
  }

  /** Decrypt with Recipient. Passing `keyId` makes KMS refuse a blob made under any other key. */
  async decryptForRecipient(ciphertextBlob: Uint8Array, opts: { keyId?: string; encryptionContext?: Record<string, string> } = {}): Promise<DecryptedSecret> {
    const recipient = await this.ephemeralRecipient();
    const out = await this.call<DecryptCommandOutput>('Decrypt', recipient, () => this.client.send(
      new DecryptCommand({
        CiphertextBlob: ciphertextBlob,
        KeyId: opts.keyId,
        EncryptionContext: opts.encryptionContext,
        Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: recipient.attestationDocument },
      }),
      { abortSignal: AbortSignal.timeout(this.timeoutMs) },
    ));
    if (!out.KeyId) throw new CosignerError('KMS_ERROR', 'Decrypt returned no KeyId');
    return { plaintext: this.unwrap('Decrypt', out, recipient), keyArn: out.KeyId };
  }

  /**
   * The key's policy document, read over the enclave's own TLS session (the parent cannot alter
   * the answer). Used to refuse sealing under a key that others could decrypt with.
   */
  async getKeyPolicy(keyId: string): Promise<string> {
    const out: GetKeyPolicyCommandOutput = await this.plainCall('GetKeyPolicy', () =>
      this.client.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }), { abortSignal: AbortSignal.timeout(this.timeoutMs) }));
    if (!out.Policy) throw new CosignerError('KMS_ERROR', 'GetKeyPolicy returned no policy');
    return out.Policy;
  }

  /** DescribeKey, over the enclave's own TLS session: what kind of key seals the state. */
  async describeKey(keyId: string): Promise<KeyMetadata> {
    const out = await this.plainCall('DescribeKey', () => this.client.send(new DescribeKeyCommand({ KeyId: keyId }), { abortSignal: AbortSignal.timeout(this.timeoutMs) }));
    if (!out.KeyMetadata) throw new CosignerError('KMS_ERROR', 'DescribeKey returned no metadata');
    return out.KeyMetadata;
  }

  /** Every grant on the key (all pages). */
  async listGrants(keyId: string): Promise<GrantListEntry[]> {
    const grants: GrantListEntry[] = [];
    let marker: string | undefined;
    for (let page = 0; page < 100; page++) {
      const out = await this.plainCall('ListGrants', () => this.client.send(new ListGrantsCommand({ KeyId: keyId, Marker: marker }), { abortSignal: AbortSignal.timeout(this.timeoutMs) }));
      grants.push(...(out.Grants ?? []));
      if (!out.Truncated) return grants;
      marker = out.NextMarker;
    }
    throw new CosignerError('KMS_ERROR', 'ListGrants did not finish after 100 pages');
  }

  private async plainCall<T>(op: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      const name = (e as { name?: string })?.name ?? 'Error';
      const message = String((e as { message?: string })?.message ?? e).slice(0, 1024);
      if (name === 'AccessDeniedException') throw new CosignerError('KMS_ACCESS_DENIED', `KMS ${op} denied (the enclave checks its sealing key before use): ${message}`);
      throw new CosignerError('KMS_ERROR', `KMS ${op} failed: ${name}: ${message}`, { kmsError: name });
    }
  }

  destroy(): void {
    this.client.destroy();
  }

  private async ephemeralRecipient(): Promise<EphemeralRecipient> {
    const { publicKey, privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const attestationDocument = await this.opts.attest(spki);
    return { privateKey, attestationDocument };
  }

  private unwrap(op: string, out: { Plaintext?: Uint8Array; CiphertextForRecipient?: Uint8Array }, recipient: EphemeralRecipient): Uint8Array {
    // With a Recipient, KMS never returns Plaintext; if it appears, something is not KMS.
    if (out.Plaintext && out.Plaintext.length > 0) throw new CosignerError('KMS_ERROR', `${op} returned Plaintext despite the Recipient parameter`);
    if (!out.CiphertextForRecipient) throw new CosignerError('KMS_ERROR', `${op} returned no CiphertextForRecipient`);
    return decryptCiphertextForRecipient(out.CiphertextForRecipient, recipient.privateKey);
  }

  private async call<T>(op: string, recipient: EphemeralRecipient, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      throw this.translate(op, e, recipient);
    }
  }

  /** KMS errors → CosignerError; an access denial names this enclave's PCR0 so operators see why. */
  private translate(op: string, e: unknown, recipient: EphemeralRecipient): CosignerError {
    const name = (e as { name?: string })?.name ?? 'Error';
    const message = String((e as { message?: string })?.message ?? e).slice(0, 1024);
    if (name === 'AccessDeniedException') {
      const pcr0 = ownPcr0(recipient.attestationDocument);
      return new CosignerError('KMS_ACCESS_DENIED',
        `KMS ${op} denied: the key policy refuses this enclave's measurement (PCR0 ${pcr0 ?? 'unknown'}). KMS said: ${message}`,
        pcr0 ? { pcr0 } : undefined);
    }
    if (name === 'TimeoutError' || name === 'AbortError') return new CosignerError('KMS_ERROR', `KMS ${op} timed out after ${this.timeoutMs} ms`);
    return new CosignerError('KMS_ERROR', `KMS ${op} failed: ${name}: ${message}`, { kmsError: name });
  }
}

/** PCR0 of our own (trusted) attestation document, for messages only. */
function ownPcr0(doc: Uint8Array): string | null {
  try {
    const pcr0 = parseAttestationDocument(doc).pcrs.get(0);
    return pcr0 ? toHex(pcr0) : null;
  } catch {
    return null;
  }
}
