// Signing attestation documents in exactly the layout the real NSM emits (checked against a real
// document in test/nsm/emulator-document.test.ts): an untagged COSE_Sign1
//   [h'a1013822' ({1: -35}, ES384), {}, payload, 96-byte r‖s signature]
// whose payload is a map with the keys, in this order: module_id, digest, timestamp (uint ms),
// pcrs ({index: 48 bytes}), certificate, cabundle (root first), public_key, user_data, nonce —
// the last three null when absent.
import type { KeyObject } from 'node:crypto';
import { signCoseSign1Es384 } from '../../shared/attestation/cose.js';
import { encodeStrictCbor, type CborKey, type CborValue } from '../../shared/attestation/strict-cbor.js';
import type { AttestationDocument } from '../../shared/attestation/document.js';

/** What the emulator signs: the payload fields of a real document (digest is always SHA384). */
export type DocumentFields = Omit<AttestationDocument, 'digest' | 'debug'>;

export function encodeAttestationPayload(f: DocumentFields): Uint8Array {
  const pcrs = new Map<CborKey, CborValue>([...f.pcrs.entries()].sort(([a], [b]) => a - b));
  return encodeStrictCbor(
    new Map<CborKey, CborValue>([
      ['module_id', f.moduleId],
      ['digest', 'SHA384'],
      ['timestamp', BigInt(f.timestamp)],
      ['pcrs', pcrs],
      ['certificate', f.certificate],
      ['cabundle', f.cabundle],
      ['public_key', f.publicKey],
      ['user_data', f.userData],
      ['nonce', f.nonce],
    ]),
  );
}

/** Sign a document with the leaf's private key. */
export function signAttestationDocument(f: DocumentFields, leafKey: KeyObject): Uint8Array {
  return signCoseSign1Es384(encodeAttestationPayload(f), leafKey);
}
