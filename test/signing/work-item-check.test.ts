// checkWorkItem (enclave/signing/work-item-check.ts): a work item signed by the pinned service key,
// of a known kind, well formed, for a paired workspace, within its lease and not yet consumed in
// this boot passes; each other case is refused with its own code.
import { expect } from 'chai';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { serviceKeyFingerprint } from '../../shared/cosigner-api/keys.js';
import { signWorkItem, type SignableWorkItem } from '../../shared/cosigner-api/work-item-signature.js';
import { checkWorkItem, ConsumedRequests, type WorkItemCheckContext } from '../../enclave/signing/work-item-check.js';
import { expectCosignerError } from '../support/expect-error.js';
import { hash32, keygenPayload, rawPayload, sessionId, transferPayload } from './fixtures.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const NOW = 1_790_000_000_000;
const WS = randomUUID();

function ed25519() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { privateKey, spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })) };
}
const service = ed25519();
const PINNED = serviceKeyFingerprint(service.spki);

function item(kind: string, payload: unknown, over: Partial<SignableWorkItem> = {}): SignableWorkItem {
  return { id: randomUUID(), workspaceId: WS, kind, payload, attempt: 1, leaseExpiresAt: NOW + 60_000, ...over };
}
const sign = (it: SignableWorkItem, key: KeyObject = service.privateKey) => signWorkItem(it, key);

function ctx(over: Partial<WorkItemCheckContext> = {}): WorkItemCheckContext {
  return { serviceKeySpki: service.spki, pinnedServiceKeySha256: PINNED, pairedWorkspaces: new Set([WS]), now: NOW, consumed: new ConsumedRequests(), ...over };
}

describe('enclave: checkWorkItem (enclave/signing/work-item-check.ts)', () => {
  describe('accepts', () => {
    it('a signed KEYGEN item, typed, and consumes its id and session', () => {
      const c = ctx();
      const it = item('KEYGEN', keygenPayload('MPC_EDDSA_ED25519'));
      const checked = checkWorkItem(JSON.parse(JSON.stringify(it)), sign(it), c);
      expect(checked).to.deep.equal(it);
      expect(checked.kind).to.equal('KEYGEN');
      expect(c.consumed.size).to.equal(2);
    });
    it('a signed RAW SIGN item of three messages', () => {
      const c = ctx();
      const it = item('SIGN', rawPayload([hash32(), hash32(), hash32()]));
      const checked = checkWorkItem(it, sign(it), c);
      expect(checked.kind === 'SIGN' && checked.payload.messages.length).to.equal(3);
      expect(c.consumed.size, 'item + 3 sessions + 3 transaction messages').to.equal(7);
    });
    it('a signed TRANSFER SIGN item', () => {
      const it = item('SIGN', transferPayload());
      const checked = checkWorkItem(it, sign(it), ctx());
      expect(checked.kind === 'SIGN' && checked.payload.transfer?.serializedUnsigned).to.match(/^0x02/);
    });
    it('the same item again after a reboot (consumption is per boot)', () => {
      const it = item('SIGN', rawPayload());
      checkWorkItem(it, sign(it), ctx());
      expect(() => checkWorkItem(it, sign(it), ctx())).not.to.throw();
    });
    it('another message of the same transaction (consumption is per transaction message)', () => {
      const c = ctx();
      const p = rawPayload([hash32(), hash32()]) as Json;
      const first = item('SIGN', { ...p, messages: [p.messages[0]] });
      const second = item('SIGN', { ...p, messages: [p.messages[1]] });
      checkWorkItem(first, sign(first), c);
      expect(checkWorkItem(second, sign(second), c).id).to.equal(second.id);
    });
  });

  describe('the service key', () => {
    it('refuses a forged signature (one bit flipped)', () => {
      const it = item('SIGN', rawPayload());
      const sig = Buffer.from(sign(it), 'base64');
      sig[10]! ^= 0x01;
      expectCosignerError(() => checkWorkItem(it, sig.toString('base64'), ctx()), 'WORK_ITEM_SIGNATURE_INVALID', /is not signed by the pinned service key/);
    });
    it('refuses an item signed by another Ed25519 key whose SPKI looks the same', () => {
      const other = ed25519();
      expect(other.spki.length).to.equal(service.spki.length);
      expect(Buffer.from(other.spki.subarray(0, 12)).equals(Buffer.from(service.spki.subarray(0, 12))), 'same SPKI header').to.equal(true);
      const it = item('SIGN', rawPayload());
      expectCosignerError(() => checkWorkItem(it, sign(it, other.privateKey), ctx()), 'WORK_ITEM_SIGNATURE_INVALID');
    });
    it('refuses a service key offered by the parent that is not the pinned one (fingerprint mismatch)', () => {
      const other = ed25519();
      const it = item('SIGN', rawPayload());
      // Item and signature are consistent with the key offered: only the pin stops it.
      expectCosignerError(() => checkWorkItem(it, sign(it, other.privateKey), ctx({ serviceKeySpki: other.spki })), 'SERVICE_KEY_NOT_PINNED', /not the one pinned at pairing/);
    });
    it('refuses the right key against another pin', () => {
      const it = item('SIGN', rawPayload());
      expectCosignerError(() => checkWorkItem(it, sign(it), ctx({ pinnedServiceKeySha256: serviceKeyFingerprint(ed25519().spki) })), 'SERVICE_KEY_NOT_PINNED');
    });
    const ALTERED: Array<[string, (i: Json) => void]> = [
      ['its payload (a message content)', (i) => { i.payload.messages[0].content = hash32(); }],
      ['its workspace (re-targeted)', (i) => { i.workspaceId = randomUUID(); }],
      ['its lease (extended by the parent)', (i) => { i.leaseExpiresAt += 3_600_000; }],
      ['its attempt', (i) => { i.attempt = 2; }],
      ['its id', (i) => { i.id = randomUUID(); }],
      ['its kind', (i) => { i.kind = 'KEYGEN'; }],
    ];
    for (const [what, alter] of ALTERED) {
      it(`refuses an item whose ${what.split(' (')[0]} changed after signing`, () => {
        const it = item('SIGN', rawPayload());
        const sig = sign(it);
        const changed = JSON.parse(JSON.stringify(it));
        alter(changed);
        expectCosignerError(() => checkWorkItem(changed, sig, ctx({ pairedWorkspaces: new Set([WS, changed.workspaceId]) })), 'WORK_ITEM_SIGNATURE_INVALID');
      });
    }
    for (const [what, sig] of [['a missing signature', null], ['a signature that is not base64', '!!!!'], ['a signature longer than 128 characters', 'A'.repeat(132)], ['an empty signature', '']] as const) {
      it(`refuses ${what}`, () => {
        const it = item('SIGN', rawPayload());
        expectCosignerError(() => checkWorkItem(it, sig, ctx()), 'WORK_ITEM_SIGNATURE_INVALID');
      });
    }
    it('refuses a payload canonical JSON cannot carry as unsigned (not a crash)', () => {
      const it = item('SIGN', { ...rawPayload(), extra: Number.NaN });
      expectCosignerError(() => checkWorkItem(it, Buffer.alloc(64, 1).toString('base64'), ctx()), 'WORK_ITEM_SIGNATURE_INVALID', /not canonical JSON/);
    });
    it('checks the signature before anything the item claims (an unsigned item for an unknown workspace)', () => {
      const it = item('SIGN', rawPayload(), { workspaceId: randomUUID(), leaseExpiresAt: 1 });
      expectCosignerError(() => checkWorkItem(it, sign(item('SIGN', rawPayload())), ctx()), 'WORK_ITEM_SIGNATURE_INVALID');
    });
  });

  describe('the envelope', () => {
    it('refuses an unsigned extra field next to the signed ones', () => {
      const it = item('SIGN', rawPayload());
      expectCosignerError(() => checkWorkItem({ ...it, approved: true }, sign(it), ctx()), 'SCHEMA_VIOLATION', /item: unexpected field "approved"/);
    });
    it('refuses an item that is not an object', () => {
      expectCosignerError(() => checkWorkItem('SIGN', 'AA==', ctx()), 'SCHEMA_VIOLATION', /item: expected map/);
    });
    it('refuses a lease that is not an integer', () => {
      const it = item('SIGN', rawPayload(), { leaseExpiresAt: NOW + 0.5 });
      expectCosignerError(() => checkWorkItem(it, sign(it), ctx()), 'SCHEMA_VIOLATION', /item\.leaseExpiresAt/);
    });
  });

  describe('the kind and payload', () => {
    it('refuses a signed item of a kind the enclave does not take part in', () => {
      const it = item('BACKUP_EXPORT', { change: 1 });
      expectCosignerError(() => checkWorkItem(it, sign(it), ctx()), 'WORK_ITEM_KIND_UNKNOWN', /BACKUP_EXPORT/);
    });
    it('refuses a kind in the wrong case', () => {
      const it = item('sign', rawPayload());
      expectCosignerError(() => checkWorkItem(it, sign(it), ctx()), 'WORK_ITEM_KIND_UNKNOWN');
    });
    it('refuses a KEYGEN payload under kind SIGN', () => {
      const it = item('SIGN', keygenPayload());
      expectCosignerError(() => checkWorkItem(it, sign(it), ctx()), 'SCHEMA_VIOLATION', /^payload: /);
    });
    it('refuses a SIGN payload under kind KEYGEN', () => {
      const it = item('KEYGEN', rawPayload());
      expectCosignerError(() => checkWorkItem(it, sign(it), ctx()), 'SCHEMA_VIOLATION', /^payload: unexpected field/);
    });
    it('refuses a signed payload with an unknown field', () => {
      const it = item('SIGN', { ...transferPayload(), callbackApproved: true });
      expectCosignerError(() => checkWorkItem(it, sign(it), ctx()), 'SCHEMA_VIOLATION', /unexpected field "callbackApproved"/);
    });
    it('never echoes large untrusted content in its messages', () => {
      const long = 'K'.repeat(10_000);
      for (const [it, code] of [
        [item('K'.repeat(64), {}), 'WORK_ITEM_KIND_UNKNOWN'],
        [item(long, {}), 'SCHEMA_VIOLATION'],
        [item('SIGN', { ...rawPayload(), [long]: 1 }), 'SCHEMA_VIOLATION'],
        [item('SIGN', { ...rawPayload(), algorithm: long }), 'SCHEMA_VIOLATION'],
      ] as const) {
        const e = expectCosignerError(() => checkWorkItem(it, sign(it), ctx()), code);
        expect(e.message.length, e.message.slice(0, 80)).to.be.lessThan(200);
      }
    });
  });

  describe('the workspace, the lease, the boot', () => {
    it('refuses an item for a workspace this enclave is not paired with', () => {
      const it = item('SIGN', rawPayload(), { workspaceId: randomUUID() });
      expectCosignerError(() => checkWorkItem(it, sign(it), ctx()), 'WORKSPACE_NOT_PAIRED', /not paired with/);
    });
    it('refuses an item whose lease expired', () => {
      const it = item('SIGN', rawPayload(), { leaseExpiresAt: NOW - 1 });
      expectCosignerError(() => checkWorkItem(it, sign(it), ctx()), 'LEASE_LOST', /expired 1 ms ago/);
    });
    it('refuses an item whose lease ends now (leaseExpiresAt > now is required)', () => {
      const it = item('SIGN', rawPayload(), { leaseExpiresAt: NOW });
      expectCosignerError(() => checkWorkItem(it, sign(it), ctx()), 'LEASE_LOST');
      expect(checkWorkItem(it, sign(it), ctx({ now: NOW - 1 })).id).to.equal(it.id);
    });
    it('refuses the same item a second time in one boot', () => {
      const c = ctx();
      const it = item('SIGN', rawPayload());
      checkWorkItem(it, sign(it), c);
      expectCosignerError(() => checkWorkItem(it, sign(it), c), 'REQUEST_REPLAYED', /already consumed in this boot \(item:/);
    });
    it('refuses the same item re-leased (attempt 2, a new lease, signed again)', () => {
      const c = ctx();
      const it = item('SIGN', rawPayload());
      checkWorkItem(it, sign(it), c);
      const again = { ...it, attempt: 2, leaseExpiresAt: it.leaseExpiresAt + 60_000 };
      expectCosignerError(() => checkWorkItem(again, sign(again), c), 'REQUEST_REPLAYED', /\(item:/);
    });
    it('refuses a second SIGN for the same transaction and messages (new item id, fresh sessions)', () => {
      const c = ctx();
      const p = rawPayload([hash32(), hash32()]) as Json;
      const first = item('SIGN', p);
      checkWorkItem(first, sign(first), c);
      const second = item('SIGN', { ...p, messages: p.messages.map((m: Json) => ({ ...m, sessionId: sessionId() })) });
      expectCosignerError(() => checkWorkItem(second, sign(second), c), 'REQUEST_REPLAYED', /\(tx-message:/);
    });
    it('refuses a second TRANSFER SIGN for the same transaction even with another transaction built', () => {
      const c = ctx();
      const p = transferPayload() as Json;
      const first = item('SIGN', p);
      checkWorkItem(first, sign(first), c);
      const q = transferPayload({ nonce: 8 }) as Json;
      const second = item('SIGN', { ...q, transactionId: p.transactionId });
      expectCosignerError(() => checkWorkItem(second, sign(second), c), 'REQUEST_REPLAYED', /\(tx-message:/);
    });
    it('refuses a session id used before in this boot (KEYGEN under a new item id)', () => {
      const c = ctx();
      const p = keygenPayload();
      const first = item('KEYGEN', p);
      checkWorkItem(first, sign(first), c);
      const second = item('KEYGEN', p);
      expectCosignerError(() => checkWorkItem(second, sign(second), c), 'REQUEST_REPLAYED', /\(session:/);
    });
    it('a refused item consumes nothing', () => {
      const c = ctx();
      const it = item('SIGN', rawPayload(), { leaseExpiresAt: NOW - 1 });
      expectCosignerError(() => checkWorkItem(it, sign(it), c), 'LEASE_LOST');
      const unpaired = item('SIGN', rawPayload(), { workspaceId: randomUUID() });
      expectCosignerError(() => checkWorkItem(unpaired, sign(unpaired), c), 'WORKSPACE_NOT_PAIRED');
      expect(c.consumed.size).to.equal(0);
    });
    it('refuses new work once the per-boot store is full, and consumes nothing then', () => {
      const c = ctx({ consumed: new ConsumedRequests({ maxEntries: 4 }) });
      const a = item('KEYGEN', keygenPayload());
      checkWorkItem(a, sign(a), c);
      const b = item('SIGN', rawPayload());
      expectCosignerError(() => checkWorkItem(b, sign(b), c), 'REPLAY_STORE_FULL');
      expect(c.consumed.size).to.equal(2);
    });
  });
});
