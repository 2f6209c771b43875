// The pairing record and callback changes as the enclave takes them (issue 9): the ids and the API
// user's key are sealed only from a record signed by the pinned service key for this enclave's
// identity; a callback change only when the API user's own key signed it, for this pairing, as
// the next in sequence. Each refusal is typed and changes nothing; the parent's own keys get nowhere.
import { expect } from 'chai';
import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { CompactSign } from 'jose';
import { serviceKeyFingerprint } from '../../shared/cosigner-api/keys.js';
import { signPairingRecord, type PairingRecordClaims } from '../../shared/cosigner-api/pairing-record.js';
import { CALLBACK_UPDATE_TYPE, callbackUpdateClaims, signCallbackUpdate, type CallbackUpdateClaims } from '../../shared/cosigner-api/callback-update.js';
import { beginPairing, completePairing } from '../../enclave/pairing.js';
import { callbackChange, verifyCallbackChange } from '../../enclave/callback/callback-change.js';
import { createInitialState, decodeState, encodeState, publicKeysOf, type EnclaveState } from '../../enclave/state.js';
import { expectCosignerError, expectCosignerRejection } from '../support/expect-error.js';

const b64 = (b: Uint8Array | Buffer) => Buffer.from(b).toString('base64');
const spkiOf = (k: KeyObject) => new Uint8Array(k.export({ format: 'der', type: 'spki' }));

function ed25519(): { key: KeyObject; spki: Uint8Array; sha: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = spkiOf(publicKey);
  return { key: privateKey, spki, sha: serviceKeyFingerprint(spki) };
}

function rsa(bits = 2048): { privateKey: KeyObject; spki: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { privateKey, spki: spkiOf(publicKey) };
}

describe('enclave: the signed pairing record and callback changes (enclave/pairing.ts, enclave/callback/callback-change.ts)', function () {
  this.timeout(60_000);
  const service = ed25519();
  const user = rsa();
  const otherUser = rsa(); // the parent's own RSA key
  const handlerA = rsa();
  const handlerB = rsa();
  let state: EnclaveState;
  let identity: string;
  let tokenId: string;

  function claims(over: Partial<PairingRecordClaims> = {}): PairingRecordClaims {
    return { tokenId, cosignerId: 'cs-1', workspaceId: 'ws-1', userId: 'user-1', identityPublicKey: identity, userPublicKey: b64(user.spki), pairedAt: 1, ...over };
  }

  function pending(): EnclaveState {
    const s = createInitialState();
    identity = b64(publicKeysOf(s).identityPublicKey);
    tokenId = randomUUID();
    const token = { v: 1 as const, url: 'https://coordinator.example', serviceKeySha256: service.sha, tokenId, secret: randomBytes(32).toString('base64url') };
    return beginPairing(s, token, service.spki, 1, { url: 'https://a.example/cb', handlerPublicKeySpki: handlerA.spki, allowPlainHttp: false })!(s);
  }

  function paired(): EnclaveState {
    const s = pending();
    return completePairing(s, tokenId, signPairingRecord(claims(), service.key), publicKeysOf(s).identityPublicKey)!(s);
  }

  describe('the pairing record', () => {
    beforeEach(() => {
      state = pending();
    });
    const complete = (record: unknown) => completePairing(state, tokenId, record, publicKeysOf(state).identityPublicKey);

    it('seals the ids and the API user key of a record signed by the pinned service key, at callback version 0', () => {
      const next = decodeState(encodeState(complete(signPairingRecord(claims(), service.key))!(state)));
      const p = next.pairings[0]!;
      expect(p).to.include({ status: 'active', cosignerId: 'cs-1', workspaceId: 'ws-1', userId: 'user-1', callbackVersion: 0 });
      expect(Buffer.from(p.userPublicKeySpki!).equals(Buffer.from(user.spki))).to.equal(true);
      // The same record again is a repeat; another record for the active pairing is refused.
      expect(completePairing(next, tokenId, signPairingRecord(claims(), service.key), publicKeysOf(next).identityPublicKey)).to.equal(null);
      expectCosignerError(() => completePairing(next, tokenId, signPairingRecord(claims({ userPublicKey: b64(otherUser.spki) }), service.key), publicKeysOf(next).identityPublicKey), 'PAIRING_INVALID', /already complete/);
    });

    it("refuses a record the parent signed itself: its own ids and its own API user key", () => {
      const fake = ed25519();
      expectCosignerError(() => complete(signPairingRecord(claims({ userPublicKey: b64(otherUser.spki) }), fake.key)), 'PAIRING_INVALID', /not signed by the pinned coordinator service key/);
    });

    for (const [field, value] of [['cosignerId', 'cs-evil'], ['workspaceId', 'ws-evil'], ['userId', 'user-evil'], ['userPublicKey', 'x'], ['pairedAt', 2]] as const) {
      it(`refuses a record whose ${field} was changed after signing`, () => {
        const r = signPairingRecord(claims(), service.key);
        const altered = { ...r, claims: { ...r.claims, [field]: field === 'userPublicKey' ? b64(otherUser.spki) : value } };
        expectCosignerError(() => complete(altered), 'PAIRING_INVALID', /not signed by the pinned/);
      });
    }

    it('refuses a signed record for another token or another identity key', () => {
      expectCosignerError(() => complete(signPairingRecord(claims({ tokenId: randomUUID() }), service.key)), 'PAIRING_INVALID', /another pairing token/);
      expectCosignerError(() => complete(signPairingRecord(claims({ identityPublicKey: b64(randomBytes(32)) }), service.key)), 'PAIRING_INVALID', /another co-signer identity key/);
    });

    it('refuses a signed record whose API user key is not RSA of at least 2048 bits', () => {
      expectCosignerError(() => complete(signPairingRecord(claims({ userPublicKey: b64(rsa(1024).spki) }), service.key)), 'PAIRING_INVALID', /RSA of at least 2048 bits/);
      const ec = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
      expectCosignerError(() => complete(signPairingRecord(claims({ userPublicKey: b64(ec) }), service.key)), 'PAIRING_INVALID', /RSA of at least 2048 bits/);
    });

    it('refuses junk, an unsigned extra field, and a missing signature, as PAIRING_INVALID', () => {
      const r = signPairingRecord(claims(), service.key);
      for (const junk of [null, 'record', [], {}, { claims: r.claims }, { ...r, extra: 1 }, { ...r, claims: { ...r.claims, role: 'ADMIN' } }]) {
        expectCosignerError(() => complete(junk), 'PAIRING_INVALID');
      }
    });
  });

  describe('a callback change', () => {
    beforeEach(() => {
      state = paired();
    });

    function change(over: Partial<Omit<CallbackUpdateClaims, 'type'>> = {}, handler = handlerB): CallbackUpdateClaims {
      return callbackUpdateClaims({ cosignerId: 'cs-1', workspaceId: 'ws-1', userId: 'user-1', sequence: 1, callback: { url: 'https://b.example/cb', publicKey: b64(handler.spki), allowPlainHttp: false }, issuedAt: 5, ...over });
    }
    async function apply(s: EnclaveState, jws: string): Promise<EnclaveState> {
      const c = await verifyCallbackChange(s, 'cs-1', jws);
      const f = callbackChange(s, 'cs-1', c);
      return f ? decodeState(encodeState(f(s))) : s;
    }

    it("signed by the API user's key and next in sequence: the handler and its key are replaced, version 1", async () => {
      const next = await apply(state, await signCallbackUpdate(change(), user.privateKey));
      const p = next.pairings[0]!;
      expect(p.callbackVersion).to.equal(1);
      expect(p.callback?.url).to.equal('https://b.example/cb');
      expect(Buffer.from(p.callback!.handlerPublicKeySpki).equals(Buffer.from(handlerB.spki))).to.equal(true);
      // The identical change again (a resubmission after a crash) changes nothing.
      const again = await verifyCallbackChange(next, 'cs-1', await signCallbackUpdate(change(), user.privateKey));
      expect(callbackChange(next, 'cs-1', again)).to.equal(null);
    });

    it('a parent installing its own handler key: a change signed by a key of its own is refused, nothing changes', async () => {
      await expectCosignerRejection(verifyCallbackChange(state, 'cs-1', await signCallbackUpdate(change(), otherUser.privateKey)), 'CALLBACK_UPDATE_INVALID', /not signed by this API user's key/);
      expect(state.pairings[0]!.callbackVersion).to.equal(0);
    });

    it('an older change replayed (to put the old handler key back) is refused; so is one that skips a number', async () => {
      const toB = await signCallbackUpdate(change(), user.privateKey);
      const toA = await signCallbackUpdate(change({ sequence: 2, callback: { url: 'https://a.example/cb', publicKey: b64(handlerA.spki), allowPlainHttp: false } }), user.privateKey);
      const at2 = await apply(await apply(state, toB), toA);
      expect(at2.pairings[0]!.callbackVersion).to.equal(2);
      const replayed = await verifyCallbackChange(at2, 'cs-1', toB);
      expectCosignerError(() => callbackChange(at2, 'cs-1', replayed), 'CALLBACK_UPDATE_INVALID', /number 1; this pairing has had 2, so only number 3/);
      const skipping = await verifyCallbackChange(state, 'cs-1', await signCallbackUpdate(change({ sequence: 3 }), user.privateKey));
      expectCosignerError(() => callbackChange(state, 'cs-1', skipping), 'CALLBACK_UPDATE_INVALID', /only number 1/);
      // Another change under a number already used is no repeat either.
      const other1 = await verifyCallbackChange(await apply(state, toB), 'cs-1', await signCallbackUpdate(change({ callback: { url: 'https://c.example/cb', publicKey: b64(handlerA.spki), allowPlainHttp: false } }), user.privateKey));
      expectCosignerError(() => callbackChange(state, 'cs-1', { ...other1, sequence: 0 }), 'CALLBACK_UPDATE_INVALID', /only number 1/);
    });

    it("a change for another co-signer, workspace or API user is refused even when the user's key signed it", async () => {
      for (const over of [{ cosignerId: 'cs-2' }, { workspaceId: 'ws-2' }, { userId: 'user-2' }]) {
        const c = await verifyCallbackChange(state, 'cs-1', await signCallbackUpdate(change(over), user.privateKey));
        expectCosignerError(() => callbackChange(state, 'cs-1', c), 'CALLBACK_UPDATE_INVALID', /another co-signer, workspace or API user/);
      }
      await expectCosignerRejection(verifyCallbackChange(state, 'cs-2', await signCallbackUpdate(change(), user.privateKey)), 'NOT_PAIRED');
    });

    it('a handler the pairing would refuse is refused: plain http not allowed, a 1024-bit key', async () => {
      const http = await verifyCallbackChange(state, 'cs-1', await signCallbackUpdate(change({ callback: { url: 'http://b.example/cb', publicKey: b64(handlerB.spki), allowPlainHttp: false } }), user.privateKey));
      expectCosignerError(() => callbackChange(state, 'cs-1', http), 'CALLBACK_UPDATE_INVALID', /https/);
      const weak = await verifyCallbackChange(state, 'cs-1', await signCallbackUpdate(change({}, rsa(1024)), user.privateKey));
      expectCosignerError(() => callbackChange(state, 'cs-1', weak), 'CALLBACK_UPDATE_INVALID', /at least 2048 bits/);
    });

    it('only RS256 compact JWS of the callback-change type: alg none, HS256 under the public key, another typ, a REST request token, junk', async () => {
      const payload = new TextEncoder().encode(JSON.stringify(change()));
      const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const none = `${enc({ alg: 'none', typ: CALLBACK_UPDATE_TYPE })}.${Buffer.from(payload).toString('base64url')}.`;
      await expectCosignerRejection(verifyCallbackChange(state, 'cs-1', none), 'CALLBACK_UPDATE_INVALID', /compact JWS/);
      const hs = await new CompactSign(payload).setProtectedHeader({ alg: 'HS256', typ: CALLBACK_UPDATE_TYPE }).sign(new TextEncoder().encode(b64(user.spki)));
      await expectCosignerRejection(verifyCallbackChange(state, 'cs-1', hs), 'CALLBACK_UPDATE_INVALID', /RS256/);
      const untyped = await new CompactSign(payload).setProtectedHeader({ alg: 'RS256' }).sign(user.privateKey);
      await expectCosignerRejection(verifyCallbackChange(state, 'cs-1', untyped), 'CALLBACK_UPDATE_INVALID', /typ must be/);
      // What the user's key signs for the REST API (the Fireblocks request JWT) is no callback change.
      const rest = new TextEncoder().encode(JSON.stringify({ uri: '/v1/vault/accounts_paged', nonce: randomUUID(), iat: 1, exp: 31, sub: 'api-key', bodyHash: 'e3b0'.repeat(16) }));
      const restToken = await new CompactSign(rest).setProtectedHeader({ alg: 'RS256', typ: CALLBACK_UPDATE_TYPE }).sign(user.privateKey);
      await expectCosignerRejection(verifyCallbackChange(state, 'cs-1', restToken), 'CALLBACK_UPDATE_INVALID', /claims are malformed/);
      for (const junk of ['', 'a.b', 'a.b.c.d', 'x'.repeat(20_000)]) await expectCosignerRejection(verifyCallbackChange(state, 'cs-1', junk), 'CALLBACK_UPDATE_INVALID');
    });

    it('a pairing sealed before records carried the API user key cannot change its callback (it says to pair again)', async () => {
      const { userPublicKeySpki: _dropped, ...old } = state.pairings[0]!;
      const s = { ...state, pairings: [old] };
      await expectCosignerRejection(verifyCallbackChange(s, 'cs-1', await signCallbackUpdate(change(), user.privateKey)), 'CALLBACK_UPDATE_INVALID', /pair this API user again/);
    });
  });
});
