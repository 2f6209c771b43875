// RAW signing (DESIGN.md, "The trust boundary is the design": "the hash signed is the approved
// content — RAW: the approved payload"): each message the enclave is asked to sign must be
// byte-equal to the payload the callback approved for that message index. ECDSA signs a 32-byte
// hash; Ed25519 and BIP-340 sign a message of 1 to MAX_MESSAGE_BYTES bytes (the coordinator's own
// bound). Pure: no I/O.
import { CosignerError } from '../../shared/errors.js';
import { MAX_MESSAGE_BYTES, type SignAlgorithm } from '../../shared/cosigner-api/sign-item.js';

export interface RawMessageToSign {
  index: number;
  /** Lower-case hex, no 0x (SignItemPayload.messages[].content). */
  content: string;
}

function contentInvalid(index: number, why: string): never {
  throw new CosignerError('RAW_CONTENT_INVALID', `RAW message ${index}: ${why}`, { index });
}

function contentBytes(m: RawMessageToSign, algorithm: SignAlgorithm): Uint8Array {
  if (typeof m.content !== 'string' || m.content.length > 2 * MAX_MESSAGE_BYTES || !/^(?:[0-9a-f]{2})*$/.test(m.content)) {
    contentInvalid(m.index, `content is not lower-case hex of at most ${MAX_MESSAGE_BYTES} bytes`);
  }
  const bytes = new Uint8Array(Buffer.from(m.content, 'hex'));
  if (algorithm === 'MPC_ECDSA_SECP256K1') {
    if (bytes.length !== 32) contentInvalid(m.index, `an ECDSA message is a 32-byte hash, this one is ${bytes.length} bytes`);
  } else if (algorithm === 'MPC_EDDSA_ED25519' || algorithm === 'MPC_BIP340_SECP256K1') {
    if (bytes.length === 0) contentInvalid(m.index, 'empty message');
  } else {
    contentInvalid(m.index, 'unknown algorithm');
  }
  return bytes;
}

/**
 * The bytes to sign for each message, after checking each is byte-equal to `approved[index]`, the
 * payload the callback approved for that message index. A message with no approved payload is
 * refused, as is a message of the wrong size for `algorithm`.
 */
export function checkRawMessages(algorithm: SignAlgorithm, messages: readonly RawMessageToSign[], approved: readonly Uint8Array[]): Uint8Array[] {
  if (messages.length === 0) throw new CosignerError('RAW_CONTENT_INVALID', 'no RAW message to sign');
  const seen = new Set<number>();
  return messages.map((m) => {
    if (!Number.isSafeInteger(m.index) || m.index < 0 || seen.has(m.index)) contentInvalid(Number(m.index) || 0, 'message index is not a fresh non-negative integer');
    seen.add(m.index);
    const bytes = contentBytes(m, algorithm);
    const ok = approved[m.index];
    if (!(ok instanceof Uint8Array)) {
      throw new CosignerError('RAW_CONTENT_NOT_APPROVED', `RAW message ${m.index} has no approved payload`, { index: m.index });
    }
    if (ok.length !== bytes.length || !ok.every((b, i) => b === bytes[i])) {
      throw new CosignerError('RAW_CONTENT_NOT_APPROVED', `RAW message ${m.index} is not byte-equal to the payload the callback approved`, { index: m.index });
    }
    return bytes;
  });
}
