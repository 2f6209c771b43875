// The enclave's MPC sessions against a hostile parent that makes pairings of its own (a hostile
// review's findings): a key share serves only the coordinator it was made with; whose callback
// decides does not depend on the pairing the parent names; a state with two shares of one key is
// never sealed.
import { expect } from 'chai';
import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { createLogger } from '../../shared/log.js';
import { FrostDkgParty } from '../../shared/mpc/frost/index.js';
import { serviceKeyFingerprint } from '../../shared/cosigner-api/keys.js';
import { signWorkItem } from '../../shared/cosigner-api/work-item-signature.js';
import { MpcSessions } from '../../enclave/mpc/mpc-sessions.js';
import { SealedStateHolder } from '../../enclave/state-changes.js';
import { createInitialState, encodeState, type EnclaveState, type Pairing } from '../../enclave/state.js';
import { runTwoParties } from '../support/run-parties.js';
import { expectCosignerError, expectCosignerRejection } from '../support/expect-error.js';

function coordinatorKey(): { key: KeyObject; spki: Uint8Array; sha: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  return { key: privateKey, spki, sha: serviceKeyFingerprint(spki) };
}

const handlerKey = new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' }));

function pairing(c: { spki: Uint8Array; sha: string }, ids: { cosignerId: string; workspaceId: string; userId: string }, createdAt: number, callback = false): Pairing {
  return {
    tokenId: randomUUID(), coordinatorUrl: 'https://coordinator.example', serviceKeySha256: c.sha, serviceKeySpki: c.spki, status: 'active', ...ids, createdAt,
    ...(callback ? { callback: { url: 'https://handler.example/cb', handlerPublicKeySpki: handlerKey, allowPlainHttp: false } } : {}),
  };
}

function signItem(c: { key: KeyObject }, workspaceId: string, initiatorId: string) {
  const item = {
    id: randomUUID(), workspaceId, kind: 'SIGN', attempt: 1, leaseExpiresAt: Date.now() + 60_000,
    payload: {
      transactionId: randomUUID(), initiatorId, algorithm: 'MPC_EDDSA_ED25519', coordinatorPartyId: 1, cosignerPartyId: 2,
      messages: [{ index: 0, sessionId: randomBytes(32).toString('hex'), content: Buffer.from('pay me').toString('hex'), derivationPath: [44, 501, 0, 0, 0] }],
    },
  };
  return { itemJson: JSON.stringify(item), signature: signWorkItem(item, c.key) };
}

describe('enclave MPC sessions against a hostile parent', function () {
  this.timeout(60_000);
  const real = coordinatorKey();
  const fake = coordinatorKey(); // the parent's own "coordinator"
  const W = 'workspace-victim';
  let state: EnclaveState;

  before(() => {
    const sessionId = new Uint8Array(randomBytes(32));
    const [p1, p2] = [1, 2].map((self) => new FrostDkgParty({ scheme: 'ed25519', sessionId, self, parties: [1, 2], threshold: 2 }));
    runTwoParties(p1!, p2!);
    const share = p2!.result();
    state = {
      ...createInitialState(),
      pairings: [
        pairing(real, { cosignerId: 'cs-with-callback', workspaceId: W, userId: 'user-a' }, 1, true),
        pairing(real, { cosignerId: 'cs-no-callback', workspaceId: W, userId: 'user-b' }, 2),
        // Made by the parent: BeginPairing with a token it wrote, CompletePairing with ids it chose.
        pairing(fake, { cosignerId: 'evil', workspaceId: W, userId: 'user-b' }, 3),
      ],
      keyShares: [{ workspaceId: W, algorithm: 'MPC_EDDSA_ED25519', publicKey: Buffer.from(share.groupPublicKey).toString('hex'), share: share.encode(), createdAt: 1, sessionId: Buffer.from(sessionId).toString('hex'), serviceKeySha256: real.sha }],
    };
  });

  function sessions(s: EnclaveState): MpcSessions {
    const holder = new SealedStateHolder({ state: s, file: { kmsCiphertext: new Uint8Array(8), sealed: new Uint8Array(64) } }, new Uint8Array(randomBytes(32)), 'arn:aws:kms:us-east-1:111122223333:key/test');
    return new MpcSessions({ holder: () => holder, log: createLogger('test', { level: 'silent' }), ringPedersenBits: 2048 });
  }

  it("a share serves only its own coordinator: an item the parent's pairing signs for the victim workspace finds no share", async () => {
    await expectCosignerRejection(sessions(state).start({ cosignerId: 'evil', ...signItem(fake, W, 'nobody') }), 'MPC_STATE', /holds no MPC_EDDSA_ED25519 key share/);
  });

  it('the callback of the workspace decides whichever pairing the parent names: an initiator not paired here still gets a callback', async () => {
    const m = sessions(state);
    const viaNoCallback = await m.start({ cosignerId: 'cs-no-callback', ...signItem(real, W, 'not-paired-here') });
    expect(viaNoCallback.sessions, 'nothing signed before the callback answers').to.deep.equal([]);
    expect(viaNoCallback.approval?.url).to.equal('https://handler.example/cb');
    // The initiator's own pairing, without a callback, decides for its own requests.
    const own = await m.start({ cosignerId: 'cs-with-callback', ...signItem(real, W, 'user-b') });
    expect(own.approval).to.equal(null);
    expect(own.sessions).to.have.length(1);
  });

  it('a state with two shares of one key is refused before it is sealed', () => {
    const twice = { ...state, keyShares: [state.keyShares[0]!, { ...state.keyShares[0]!, sessionId: 'ab'.repeat(32) }] };
    expectCosignerError(() => encodeState(twice), 'SCHEMA_VIOLATION', /two key shares/);
  });
});
