// The encodings both sides of the co-signer API compute (shared/cosigner-api/): canonical JSON,
// the pairing token, the key binding in user_data, state reports, SignedMpcMessage as JSON.
import { expect } from 'chai';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { canonicalJson } from '../../shared/cosigner-api/canonical-json.js';
import { decodePairingToken, encodePairingToken, pairingNonce } from '../../shared/cosigner-api/pairing-token.js';
import { pairingKeyBinding } from '../../shared/cosigner-api/keys.js';
import { signStateReport, verifyStateReport } from '../../shared/cosigner-api/state-report.js';
import { frameFromJson, frameToJson, helloFromJson, helloToJson } from '../../shared/cosigner-api/mpc-channel.js';
import { expectCosignerError } from '../support/expect-error.js';

describe('co-signer API: shared encodings', () => {
  it('canonical JSON sorts keys at every depth, has no whitespace, and refuses what JSON cannot carry', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 'x', c: null }], é: true, A: -0 })).to.equal('{"A":0,"a":[{"c":null,"d":"x"}],"b":1,"é":true}');
    expect(canonicalJson({ a: 1, b: 2 })).to.equal(canonicalJson({ b: 2, a: 1 }));
    for (const bad of [{ x: Number.NaN }, { x: Infinity }, { x: undefined }, { x: new Date(0) }, { x: 1n }, { x: new Uint8Array(1) }]) {
      expectCosignerError(() => canonicalJson(bad), 'SCHEMA_VIOLATION');
    }
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expectCosignerError(() => canonicalJson(deep), 'SCHEMA_VIOLATION', /deeply/);
  });

  it('pairing tokens round-trip and anything else is TOKEN_INVALID; the nonce is SHA-256 of the secret', () => {
    const t = { v: 1 as const, url: 'https://coordinator.example', serviceKeySha256: 'ab'.repeat(32), tokenId: 'd9c1-22', secret: randomBytes(32).toString('base64url') };
    const text = encodePairingToken(t);
    expect(text).to.match(/^[A-Za-z0-9_-]+$/);
    expect(decodePairingToken(text)).to.deep.equal(t);
    expect(pairingNonce(t.secret)).to.have.length(32);
    expect(Buffer.from(pairingNonce(t.secret)).toString('hex')).to.not.equal(Buffer.from(pairingNonce(randomBytes(32).toString('base64url'))).toString('hex'));
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const bad of ['', 'a+b', enc({ ...t, v: 2 }), enc({ ...t, url: 'not a url' }), enc({ ...t, extra: 1 }), enc({ ...t, secret: 'short' }), enc({ ...t, serviceKeySha256: 'AB'.repeat(32) }), 'A'.repeat(5000)]) {
      const e = expectCosignerError(() => decodePairingToken(bad), 'TOKEN_INVALID');
      expect(e.details?.reason).to.equal('malformed');
    }
  });

  it('the key binding changes with each of the three keys and with their order', () => {
    const k = () => new Uint8Array(randomBytes(91));
    const base = { identityPublicKey: new Uint8Array(randomBytes(32)), cckPublicKeySpki: k(), callbackPublicKeySpki: k() };
    const b0 = Buffer.from(pairingKeyBinding(base)).toString('hex');
    expect(b0).to.have.length(64);
    expect(Buffer.from(pairingKeyBinding({ ...base })).toString('hex')).to.equal(b0);
    for (const v of [{ ...base, identityPublicKey: new Uint8Array(randomBytes(32)) }, { ...base, cckPublicKeySpki: k() }, { ...base, callbackPublicKeySpki: k() },
      { ...base, cckPublicKeySpki: base.callbackPublicKeySpki, callbackPublicKeySpki: base.cckPublicKeySpki }]) {
      expect(Buffer.from(pairingKeyBinding(v)).toString('hex')).to.not.equal(b0);
    }
  });

  it('a state report verifies only for its co-signer, purpose, values and key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const ctx = { cosignerId: 'c1', purpose: 'poll' };
    const r = signStateReport({ stateVersion: 3, stateDigest: 'aa'.repeat(32), at: 1_700_000_000_000 }, ctx, privateKey);
    expect(verifyStateReport(r, ctx, publicKey)).to.equal(true);
    expect(verifyStateReport(r, { ...ctx, cosignerId: 'c2' }, publicKey)).to.equal(false);
    expect(verifyStateReport(r, { ...ctx, purpose: 'result:x' }, publicKey)).to.equal(false);
    expect(verifyStateReport({ ...r, stateVersion: 4 }, ctx, publicKey)).to.equal(false);
    expect(verifyStateReport({ ...r, stateDigest: 'ab'.repeat(32) }, ctx, publicKey)).to.equal(false);
    expect(verifyStateReport({ ...r, at: r.at + 1 }, ctx, publicKey)).to.equal(false);
    expect(verifyStateReport(r, ctx, generateKeyPairSync('ed25519').publicKey)).to.equal(false);
    expect(verifyStateReport({ ...r, signature: 'AAAA' }, ctx, publicKey)).to.equal(false);
  });

  it('MPC frame and hello JSON: hex session id, base64 bytes, round-trip exactly and parse strictly', () => {
    const f = { sessionId: new Uint8Array(randomBytes(32)), seq: 3, ciphertext: new Uint8Array(randomBytes(40)) };
    const j = frameToJson(f);
    expect(j.sessionId).to.match(/^[0-9a-f]{64}$/);
    expect(frameFromJson(JSON.parse(JSON.stringify(j)))).to.deep.equal(f);
    for (const bad of [{ ...j, sessionId: j.sessionId.slice(2) }, { ...j, sessionId: j.sessionId.toUpperCase() }, { ...j, ciphertext: `${j.ciphertext}!` }, { ...j, ciphertext: 'AAAA' },
      { ...j, seq: -1 }, { ...j, seq: 1025 }, { ...j, extra: 1 }, { ...j, ciphertext: 'QQ' }]) {
      expectCosignerError(() => frameFromJson(bad), 'SCHEMA_VIOLATION');
    }
    const h = { ephemeralPublicKey: new Uint8Array(randomBytes(32)), signature: new Uint8Array(randomBytes(64)) };
    const hj = helloToJson(h);
    expect(helloFromJson(JSON.parse(JSON.stringify(hj)))).to.deep.equal(h);
    for (const bad of [{ ...hj, ephemeralPublicKey: 'AAAA' }, { ...hj, signature: hj.ephemeralPublicKey }, { ...hj, extra: 1 }, {}]) {
      expectCosignerError(() => helloFromJson(bad), 'SCHEMA_VIOLATION');
    }
  });
});
