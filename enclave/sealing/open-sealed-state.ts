// The boot step that turns what the parent stored into enclave state (DESIGN.md "Sealed state"):
// - no file: KMS GenerateDataKey (with Recipient) → seal fresh state → hand the new SealedFile to
//   the parent to store;
// - a file: KMS Decrypt (with Recipient, KeyId pinned) → unseal.
// A corrupt, truncated or foreign file is SEALED_STATE_INVALID and produces NO replacement: the
// parent must never be told to overwrite state it may still need (or an attacker planted).
import { CosignerError, isCosignerError } from '../../shared/errors.js';
import { wipe } from '../../shared/bytes.js';
import { parse } from '../../shared/schema.js';
import { SealedFileSchema, type SealedFile } from '../../shared/messages.js';
import type { DataKey, DecryptedSecret } from '../kms/recipient-client.js';
import { seal, unseal } from './sealed-blob.js';

export type { SealedFile };

/** Bound into every data key's KMS ciphertext, so a blob made for something else will not decrypt here. */
export const SEALING_ENCRYPTION_CONTEXT: Readonly<Record<string, string>> = Object.freeze({ purpose: 'nitro-cosigner/sealed-state/v1' });

/** What openSealedState needs from KMS (EnclaveKmsClient provides it). */
export interface SealingKms {
  generateDataKeyForRecipient(keyId: string, encryptionContext?: Record<string, string>): Promise<DataKey>;
  decryptForRecipient(ciphertextBlob: Uint8Array, opts?: { keyId?: string; encryptionContext?: Record<string, string> }): Promise<DecryptedSecret>;
}

export interface OpenSealedStateArgs {
  existing: SealedFile | null;
  kms: SealingKms;
  keyId: string;
  createInitialState: () => Uint8Array;
}

export interface OpenedState {
  state: Uint8Array;
  /** Non-null only on first boot: the parent stores it (create-only) before anything else. */
  toStore: SealedFile | null;
  /**
   * The data key and the KMS key that wraps it, for sealing later changes of state under the same
   * KMS ciphertext (state-changes.ts). The caller owns it: it wipes it when it is done.
   */
  dataKey: Uint8Array;
  kmsKeyArn: string;
}

function invalid(reason: string): never {
  throw new CosignerError('SEALED_STATE_INVALID', `sealed state: ${reason}`);
}

/** KMS refusing the stored ciphertext means the file is bad, not that KMS is down. */
function kmsErrorToInvalid(e: unknown): never {
  if (isCosignerError(e, 'KMS_ERROR')) {
    const kmsError = e.details?.kmsError;
    if (kmsError === 'InvalidCiphertextException') invalid('KMS cannot decrypt the stored data key (corrupt, or made under another key or context)');
    if (kmsError === 'IncorrectKeyException') invalid('the stored data key was encrypted under another KMS key');
  }
  throw e;
}

export async function openSealedState(args: OpenSealedStateArgs): Promise<OpenedState> {
  const ctx = { ...SEALING_ENCRYPTION_CONTEXT };
  if (args.existing === null) {
    const dk = await args.kms.generateDataKeyForRecipient(args.keyId, ctx);
    try {
      const state = args.createInitialState();
      const sealed = seal(state, dk.plaintext, dk.keyArn);
      return { state, toStore: { kmsCiphertext: dk.ciphertextBlob, sealed }, dataKey: dk.plaintext, kmsKeyArn: dk.keyArn };
    } catch (e) {
      wipe(dk.plaintext);
      throw e;
    }
  }

  let file: SealedFile;
  try {
    file = parse(SealedFileSchema, args.existing);
  } catch (e) {
    invalid(`stored file has the wrong shape (${(e as Error).message})`);
  }
  let dk: DecryptedSecret;
  try {
    dk = await args.kms.decryptForRecipient(file.kmsCiphertext, { keyId: args.keyId, encryptionContext: ctx });
  } catch (e) {
    kmsErrorToInvalid(e);
  }
  try {
    if (dk.plaintext.length !== 32) invalid(`the stored data key is ${dk.plaintext.length} bytes, not 32`);
    return { state: unseal(file.sealed, dk.plaintext, dk.keyArn), toStore: null, dataKey: dk.plaintext, kmsKeyArn: dk.keyArn };
  } catch (e) {
    wipe(dk.plaintext);
    throw e;
  }
}
