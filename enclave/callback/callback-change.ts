// Changing an API user's callback handler after pairing (`cosigner callback-update`). The change
// arrives through the parent, so the enclave takes it only when it is signed by the API user's own
// key (sealed from the coordinator-signed pairing record), names this pairing, and is the next in
// the pairing's sequence. A hostile parent can still point the network elsewhere (a denial of
// service), but never install a handler key of its own nor put an older one back.
import { CosignerError } from '../../shared/errors.js';
import { callbackUpdateInvalid, openCallbackUpdate, type CallbackUpdateClaims } from '../../shared/cosigner-api/callback-update.js';
import { activePairing, checkCallbackSettings } from '../pairing.js';
import type { CallbackSettings, EnclaveState } from '../state.js';

/** The claims of `jws` once it verifies under the API user key of the pairing `cosignerId` names. */
export async function verifyCallbackChange(state: EnclaveState, cosignerId: string, jws: string): Promise<CallbackUpdateClaims> {
  const p = activePairing(state, cosignerId);
  if (!p.userPublicKeySpki) {
    throw callbackUpdateInvalid('pairing', 'this pairing was sealed before pairing records carried the API user key; pair this API user again to change its callback');
  }
  return openCallbackUpdate(jws, p.userPublicKeySpki);
}

function sameSettings(a: CallbackSettings | undefined, b: CallbackSettings): boolean {
  return a !== undefined && a.url === b.url && a.allowPlainHttp === b.allowPlainHttp && Buffer.from(a.handlerPublicKeySpki).equals(Buffer.from(b.handlerPublicKeySpki));
}

/**
 * The state change for verified claims, or null when exactly this change is already made (a
 * resubmission after a crash). Synchronous, so it is checked against the state it is applied to.
 */
export function callbackChange(state: EnclaveState, cosignerId: string, c: CallbackUpdateClaims): ((s: EnclaveState) => EnclaveState) | null {
  const p = activePairing(state, cosignerId);
  if (c.cosignerId !== p.cosignerId || c.workspaceId !== p.workspaceId || c.userId !== p.userId) {
    throw callbackUpdateInvalid('pairing', 'the callback change is for another co-signer, workspace or API user');
  }
  const settings: CallbackSettings = { url: c.callback.url, handlerPublicKeySpki: new Uint8Array(Buffer.from(c.callback.publicKey, 'base64')), allowPlainHttp: c.callback.allowPlainHttp };
  const current = p.callbackVersion ?? 0;
  if (c.sequence === current && sameSettings(p.callback, settings)) return null;
  if (c.sequence !== current + 1) {
    throw callbackUpdateInvalid('sequence', `the callback change is number ${c.sequence}; this pairing has had ${current}, so only number ${current + 1} is taken`);
  }
  try {
    checkCallbackSettings(settings);
  } catch (e) {
    if (e instanceof CosignerError) throw callbackUpdateInvalid('callback', e.message);
    throw e;
  }
  return (s) => ({
    ...s,
    pairings: s.pairings.map((o) => (o.tokenId === p.tokenId ? { ...o, callback: settings, callbackVersion: c.sequence } : o)),
  });
}
