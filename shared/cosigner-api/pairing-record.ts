// The pairing record: the coordinator's answer to a pairing, signed with its service key (Ed25519)
// over the canonical JSON of its claims under a domain tag. The enclave seals the ids and the API
// user's public key only from a record that verifies under the key it pinned from the pairing
// token and names its own identity key, so a hostile parent can neither give it other ids nor an
// API user key of its own (the key that must sign a later callback change, callback-update.ts).
import { sign, verify, type KeyObject } from 'node:crypto';
import { CosignerError } from '../errors.js';
import * as s from '../schema.js';
import { signingBytes } from './canonical-json.js';

export const PAIRING_RECORD_DOMAIN = 'nitro-cosigner/pairing-record/v1';

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export const PairingRecordClaimsSchema = s.struct({
  tokenId: s.text({ min: 1, max: 64, pattern: /^[A-Za-z0-9-]+$/ }),
  cosignerId: s.text({ pattern: ID }),
  workspaceId: s.text({ pattern: ID }),
  userId: s.text({ pattern: ID }),
  /** The co-signer's identity key as it presented it (raw Ed25519, base64). */
  identityPublicKey: s.text({ min: 44, max: 44, pattern: BASE64 }),
  /** The API user's RSA public key, DER SPKI, base64: the key it signs REST API requests with. */
  userPublicKey: s.text({ min: 100, max: 1500, pattern: BASE64 }),
  pairedAt: s.uint(),
  /**
   * The API user's API key (its request JWTs' `sub`) and role at pairing: the enclave checks a
   * configuration change's initiator against them (config-change.ts). Absent in records signed
   * before configuration changes; such a pairing can initiate none.
   */
  apiKey: s.optional(s.text({ min: 1, max: 128, pattern: ID })),
  role: s.optional(s.text({ min: 1, max: 64, pattern: /^[A-Z_]+$/ })),
});
export type PairingRecordClaims = s.Infer<typeof PairingRecordClaimsSchema>;

export const SignedPairingRecordSchema = s.struct({
  claims: PairingRecordClaimsSchema,
  /** base64 Ed25519 signature by the coordinator's service key. */
  signature: s.text({ min: 88, max: 88, pattern: BASE64 }),
});
export type SignedPairingRecord = s.Infer<typeof SignedPairingRecordSchema>;

export function signPairingRecord(claims: PairingRecordClaims, serviceKey: KeyObject): SignedPairingRecord {
  const c = s.parse(PairingRecordClaimsSchema, claims);
  return { claims: c, signature: sign(null, signingBytes(PAIRING_RECORD_DOMAIN, c), serviceKey).toString('base64') };
}

/**
 * The claims of a signed pairing record (untrusted JSON) that verifies under `serviceKey`;
 * PAIRING_INVALID otherwise, saying which part failed and never echoing the input.
 */
export function openPairingRecord(value: unknown, serviceKey: KeyObject): PairingRecordClaims {
  let r: SignedPairingRecord;
  try {
    r = s.parse(SignedPairingRecordSchema, value, 'pairingRecord');
  } catch (e) {
    throw new CosignerError('PAIRING_INVALID', `the pairing record is malformed: ${(e as Error).message}`);
  }
  let ok = false;
  try {
    ok = verify(null, signingBytes(PAIRING_RECORD_DOMAIN, r.claims), serviceKey, Buffer.from(r.signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) throw new CosignerError('PAIRING_INVALID', 'the pairing record is not signed by the pinned coordinator service key');
  return r.claims;
}
