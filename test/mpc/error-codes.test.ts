// One failure, one code, across the whole engine (issue 7 item 11): a protocol message whose
// envelope or payload fails its schema is MPC_INVALID_MESSAGE in every protocol (FROST DKG and
// signing, two-party ECDSA key generation and signing), and a sealed key share that cannot be
// decoded is SEALED_STATE_INVALID for every scheme.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { ErrorCode } from '../../shared/errors.js';
import type { MpcMessage, Party } from '../../shared/mpc/party.js';
import { FrostDkgParty, FrostKeyShare, FrostSignParty, type FrostScheme } from '../../shared/mpc/frost/index.js';
import { EcdsaSignP1, EcdsaSignP2 } from '../../shared/mpc/ecdsa/sign.js';
import { EcdsaKeyShareP1, EcdsaKeyShareP2 } from '../../shared/mpc/ecdsa/key-share.js';
import { EcdsaKeygenP1, EcdsaKeygenP2 } from '../../shared/mpc/ecdsa/keygen.js';
import { generateRingPedersen } from '../../shared/mpc/zk/ring-pedersen.js';
import { encodeCbor } from '../../shared/cbor.js';
import { expectCosignerError } from '../support/expect-error.js';
import { lockStoreOf } from './lock-stores.js';
import { ecdsaTestKeys, TEST_RING_PEDERSEN_BITS } from '../support/ecdsa-keys.js';
import { authenticateFor, runTwoParties, sealForTest } from '../support/run-parties.js';
import { deliverTo as deliver } from './deliver.js';

type Case = { name: string; make: () => { receiver: Party<unknown>; message: MpcMessage } };

const sid = () => new Uint8Array(randomBytes(32));

/** Ways a message can fail its schema: in the payload (as its sender signed it) or on the wire (the signed envelope). */
const breakages: { name: string; apply: (m: MpcMessage) => MpcMessage }[] = [
  { name: 'an unknown payload field', apply: (m) => ({ ...m, payload: { ...(m.payload as object), extra: 1 } }) },
  { name: 'a null payload', apply: (m) => ({ ...m, payload: null }) },
  { name: 'a payload field of the wrong type', apply: (m) => ({ ...m, payload: Object.fromEntries(Object.keys(m.payload as object).map((k) => [k, 'text'])) }) },
];
type Wire = Record<string, unknown>;
const wireBreakages: { name: string; apply: (w: Wire) => Wire }[] = [
  { name: 'a 31-byte session id in the envelope', apply: (w) => ({ ...w, sessionId: (w.sessionId as Uint8Array).slice(1) }) },
  { name: 'an envelope without a round', apply: (w) => { const { round: _r, ...rest } = w; return rest; } },
  { name: 'an envelope with an extra field', apply: (w) => ({ ...w, extra: true }) },
  { name: 'a payload that is not CBOR', apply: (w) => ({ ...w, payload: new Uint8Array([0xff]) }) },
  { name: 'a signature of the wrong length', apply: (w) => ({ ...w, signature: new Uint8Array(63) }) },
];

function frostDkgCase(scheme: FrostScheme): Case {
  return {
    name: `FROST ${scheme} DKG round 1`,
    make: () => {
      const sessionId = sid();
      const [a, b] = [1, 2].map((self) => new FrostDkgParty({ scheme, sessionId, self, parties: [1, 2], threshold: 2 }));
      b!.start();
      return { receiver: b!, message: a!.start()[0]! };
    },
  };
}

function frostSignCase(scheme: FrostScheme, shares: () => FrostKeyShare[]): Case {
  return {
    name: `FROST ${scheme} signing round 1`,
    make: () => {
      const sessionId = sid();
      const message = new Uint8Array(randomBytes(32));
      const [a, b] = shares().map((keyShare) => new FrostSignParty({ keyShare, sessionId, signers: [1, 2], message }));
      b!.start();
      return { receiver: b!, message: a!.start()[0]! };
    },
  };
}

describe('mpc — one error code per failure across the engine', function () {
  this.timeout(120_000);
  const frostShares = new Map<FrostScheme, FrostKeyShare[]>();
  let ecdsa: { share1: EcdsaKeyShareP1; share2: EcdsaKeyShareP2 };
  const ringPedersen = generateRingPedersen(TEST_RING_PEDERSEN_BITS);

  before(() => {
    for (const scheme of ['ed25519', 'bip340'] as const) {
      const sessionId = sid();
      const parties = [1, 2].map((self) => new FrostDkgParty({ scheme, sessionId, self, parties: [1, 2], threshold: 2 }));
      let q = parties.flatMap((p) => p.start());
      while (q.length) q = q.flatMap((m) => deliver(parties.find((p) => p.self === m.to)!, m));
      frostShares.set(scheme, parties.map((p) => p.result()));
    }
    ecdsa = ecdsaTestKeys();
  });

  const cases: Case[] = [
    frostDkgCase('ed25519'),
    frostDkgCase('bip340'),
    frostSignCase('ed25519', () => frostShares.get('ed25519')!),
    frostSignCase('bip340', () => frostShares.get('bip340')!),
    {
      name: 'ECDSA signing round 1 (at P2)',
      make: () => {
        const sessionId = sid();
        const messageHash = new Uint8Array(randomBytes(32));
        const p1 = new EcdsaSignP1(ecdsa.share1, { lockStore: lockStoreOf(ecdsa.share1), sessionId, messageHash });
        const p2 = new EcdsaSignP2(ecdsa.share2, { sessionId, messageHash });
        p2.start();
        return { receiver: p2, message: p1.start()[0]! };
      },
    },
    {
      name: 'ECDSA key generation round 1 (at P2)',
      make: () => {
        const sessionId = sid();
        const p1 = new EcdsaKeygenP1({ sessionId, minRingPedersenBits: TEST_RING_PEDERSEN_BITS });
        const p2 = new EcdsaKeygenP2({ sessionId, ringPedersen, minRingPedersenBits: TEST_RING_PEDERSEN_BITS });
        p2.start();
        return { receiver: p2, message: p1.start()[0]! };
      },
    },
  ];

  for (const c of cases) {
    it(`${c.name}: every schema failure is MPC_INVALID_MESSAGE`, () => {
      for (const b of breakages) {
        const { receiver, message } = c.make();
        const err = expectCosignerError(() => deliver(receiver, b.apply(message)), 'MPC_INVALID_MESSAGE');
        expect(err.message, b.name).to.be.a('string');
      }
      for (const b of wireBreakages) {
        const { receiver, message } = c.make();
        const broken = b.apply(sealForTest(message) as unknown as Wire);
        const err = expectCosignerError(() => receiver.receive(authenticateFor(receiver, broken as never)), 'MPC_INVALID_MESSAGE');
        expect(err.message, b.name).to.be.a('string');
      }
    });
  }

  it('a sealed key share that does not decode is SEALED_STATE_INVALID for FROST and both ECDSA roles', () => {
    const garbage: [string, Uint8Array][] = [
      ['not CBOR', new Uint8Array([0xff, 0x00])],
      ['a wrong version', encodeCbor({ v: 99 })],
      ['a map with a bad field', new Uint8Array([0xa1, 0x61, 0x76, 0x02])],
    ];
    const decoders: [string, (b: Uint8Array) => unknown][] = [
      ['FrostKeyShare', (b) => FrostKeyShare.decode(b)],
      ['EcdsaKeyShareP1', (b) => EcdsaKeyShareP1.decode(b)],
      ['EcdsaKeyShareP2', (b) => EcdsaKeyShareP2.decode(b)],
    ];
    for (const [who, decode] of decoders) for (const [what, bytes] of garbage) {
      const code: ErrorCode = 'SEALED_STATE_INVALID';
      expect(expectCosignerError(() => decode(bytes), code).code, `${who}: ${what}`).to.equal(code);
    }
    // A FROST share whose fields parse but do not form a valid sharing is the same failure.
    const parts = frostShares.get('ed25519')![0]!.toParts();
    const bad = encodeCbor({ v: 1, ...parts, signingShare: new Uint8Array(32).fill(1) });
    expectCosignerError(() => FrostKeyShare.decode(bad), 'SEALED_STATE_INVALID');
  });

  it('honest runs still complete (the cases above broke only the messages they name)', () => {
    const sessionId = sid();
    const messageHash = new Uint8Array(randomBytes(32));
    const p1 = new EcdsaSignP1(ecdsa.share1, { lockStore: lockStoreOf(ecdsa.share1), sessionId, messageHash });
    const p2 = new EcdsaSignP2(ecdsa.share2, { sessionId, messageHash });
    runTwoParties(p1, p2);
    expect(p2.result().s).to.equal(p1.result().s);
  });
});
