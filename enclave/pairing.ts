// Pairing as the enclave sees it (DESIGN.md "Coordinator ↔ co-signer"), three sealed steps so that
// no crash loses a key the coordinator was shown:
//   begin     the token names the coordinator's service key by fingerprint; the enclave pins that
//             fingerprint from the token itself (the parent only brings the key, whose SHA-256 must
//             match), makes the CCK if it has none, and seals a *pending* pairing;
//   attest    only for a sealed pending pairing: a document whose user_data binds identity, CCK and
//             callback public keys, and whose nonce is SHA-256(token secret);
//   complete  the coordinator accepted it: the ids in its signed pairing record, and the API user's
//             public key there, are sealed and the pairing is active.
// What setup trusts: the token reaching the enclave unaltered once. A parent that swapped it pairs
// the enclave with a coordinator of its choosing, which the operator sees in `cosigner status`
// (the pinned fingerprint) and the coordinator's admin sees as a missing co-signer.
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { CosignerError } from '../shared/errors.js';
import type { PairingToken } from '../shared/cosigner-api/pairing-token.js';
import { checkCallbackKey, isRs256Key, pinnedServiceKey, serviceKeyFingerprint } from '../shared/cosigner-api/keys.js';
import { openPairingRecord } from '../shared/cosigner-api/pairing-record.js';
import type { CallbackSettings, EnclaveState, Pairing } from './state.js';

function find(state: EnclaveState, tokenId: string): Pairing | undefined {
  return state.pairings.find((p) => p.tokenId === tokenId);
}

/** The state change of `begin`, or null when this token's pairing is already sealed (a repeat). */
export function beginPairing(state: EnclaveState, token: PairingToken, serviceKeySpki: Uint8Array, now: number, callback: CallbackSettings | null = null): ((s: EnclaveState) => EnclaveState) | null {
  if (serviceKeyFingerprint(serviceKeySpki) !== token.serviceKeySha256) {
    throw new CosignerError('PAIRING_INVALID', 'the service key the parent brought is not the one the pairing token names');
  }
  if (callback) checkCallbackSettings(callback);
  const existing = find(state, token.tokenId);
  if (existing) {
    if (existing.serviceKeySha256 !== token.serviceKeySha256 || existing.coordinatorUrl !== token.url) {
      throw new CosignerError('PAIRING_INVALID', 'a pairing with this token id but another coordinator is sealed here');
    }
    const a = existing.callback;
    const same = a === undefined ? callback === null
      : callback !== null && a.url === callback.url && a.allowPlainHttp === callback.allowPlainHttp && Buffer.from(a.handlerPublicKeySpki).equals(Buffer.from(callback.handlerPublicKeySpki));
    if (!same) throw new CosignerError('PAIRING_INVALID', 'this token is sealed here with another callback setting; it cannot be changed by pairing again');
    return null;
  }
  return (s) => ({
    ...s,
    cckSeed: s.cckSeed ?? new Uint8Array(randomBytes(32)),
    pairings: [
      ...s.pairings,
      {
        tokenId: token.tokenId,
        coordinatorUrl: token.url,
        serviceKeySha256: token.serviceKeySha256,
        serviceKeySpki: new Uint8Array(serviceKeySpki),
        status: 'pending',
        cosignerId: null,
        workspaceId: null,
        userId: null,
        createdAt: now,
        ...(callback ? { callback: { url: callback.url, handlerPublicKeySpki: new Uint8Array(callback.handlerPublicKeySpki), allowPlainHttp: callback.allowPlainHttp } } : {}),
      },
    ],
  });
}

/**
 * The callback handler set at pairing: an https URL (http only when allowed, for local use) with
 * no credentials, query or fragment, and an RSA key of at least 2048 bits. The parent brings
 * them at setup, as the operator typed them; afterwards it can move nothing but the network.
 */
export function checkCallbackSettings(c: CallbackSettings): void {
  let url: URL;
  try {
    url = new URL(c.url);
  } catch {
    throw new CosignerError('CALLBACK_URL_INVALID', 'the callback URL is not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && c.allowPlainHttp)) throw new CosignerError('CALLBACK_URL_INVALID', 'the callback URL must be https:// (http:// only when allowed, for local use)');
  if (url.username || url.password || url.search || url.hash) throw new CosignerError('CALLBACK_URL_INVALID', 'the callback URL may not carry credentials, a query or a fragment');
  let key;
  try {
    key = createPublicKey({ key: Buffer.from(c.handlerPublicKeySpki), format: 'der', type: 'spki' });
  } catch {
    throw new CosignerError('PAIRING_INVALID', 'the callback handler public key is not a DER SPKI public key');
  }
  try {
    checkCallbackKey(key);
  } catch {
    throw new CosignerError('PAIRING_INVALID', 'the callback handler key must be RSA of at least 2048 bits');
  }
}

/** The sealed pairing a token belongs to (same coordinator, same pinned key). */
export function pairingForToken(state: EnclaveState, token: PairingToken): Pairing {
  const p = find(state, token.tokenId);
  if (!p || p.serviceKeySha256 !== token.serviceKeySha256 || p.coordinatorUrl !== token.url) {
    throw new CosignerError('NOT_PAIRED', 'no sealed pairing for this token: run the first pairing step (and store its state) first');
  }
  return p;
}

/**
 * The state change of `complete`, or null when it is already recorded from the same record.
 * `record` is the coordinator's signed pairing record as the parent brought it (untrusted JSON):
 * it must verify under the service key pinned for this token and name this enclave's identity
 * key; only then are its ids and the API user's public key sealed.
 */
export function completePairing(state: EnclaveState, tokenId: string, record: unknown, identityPublicKey: Uint8Array): ((s: EnclaveState) => EnclaveState) | null {
  const p = find(state, tokenId);
  if (!p) throw new CosignerError('NOT_PAIRED', 'no pending pairing for this token id');
  const serviceKey = pinnedServiceKey(p.serviceKeySpki, p.serviceKeySha256);
  if (!serviceKey) throw new CosignerError('SERVICE_KEY_NOT_PINNED', 'the sealed service key of this pairing is not the pinned one');
  const c = openPairingRecord(record, serviceKey);
  if (c.tokenId !== tokenId) throw new CosignerError('PAIRING_INVALID', 'the pairing record is for another pairing token');
  if (c.identityPublicKey !== Buffer.from(identityPublicKey).toString('base64')) throw new CosignerError('PAIRING_INVALID', 'the pairing record names another co-signer identity key');
  const userPublicKeySpki = apiUserKey(c.userPublicKey);
  if (p.status === 'active') {
    const same = p.cosignerId === c.cosignerId && p.workspaceId === c.workspaceId && p.userId === c.userId
      && p.userPublicKeySpki !== undefined && Buffer.from(p.userPublicKeySpki).equals(Buffer.from(userPublicKeySpki));
    if (same) return null;
    throw new CosignerError('PAIRING_INVALID', 'this pairing is already complete with other ids');
  }
  const clash = state.pairings.find((o) => o.status === 'active' && o.coordinatorUrl === p.coordinatorUrl && o.cosignerId === c.cosignerId);
  if (clash) throw new CosignerError('PAIRING_INVALID', 'another pairing with this coordinator already has that co-signer id');
  return (s) => ({
    ...s,
    pairings: s.pairings.map((o) => (o.tokenId === tokenId
      ? { ...o, status: 'active', cosignerId: c.cosignerId, workspaceId: c.workspaceId, userId: c.userId, userPublicKeySpki, callbackVersion: 0, ...(c.apiKey !== undefined ? { apiKey: c.apiKey } : {}), ...(c.role !== undefined ? { role: c.role } : {}) }
      : o)),
  });
}

/** The API user's key from the record: RSA of at least 2048 bits (it signs RS256), as DER SPKI. */
function apiUserKey(base64: string): Uint8Array {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new CosignerError('PAIRING_INVALID', 'the pairing record\'s API user key is not a DER SPKI public key');
  }
  if (!isRs256Key(key)) throw new CosignerError('PAIRING_INVALID', 'the pairing record\'s API user key must be RSA of at least 2048 bits');
  return new Uint8Array(key.export({ format: 'der', type: 'spki' }));
}

/** The active pairing that a co-signer id names here. */
export function activePairing(state: EnclaveState, cosignerId: string): Pairing {
  const p = state.pairings.find((o) => o.status === 'active' && o.cosignerId === cosignerId);
  if (!p) throw new CosignerError('NOT_PAIRED', 'no active pairing with that co-signer id');
  return p;
}
