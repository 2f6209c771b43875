// The engine side of a test co-signer for the coordinator's MPC party: the engine's other party (ECDSA P2, FROST
// party 2) driven directly against the MpcPartyEndpoint the relay calls, with its own Ed25519
// identity, taking its instructions from the work item as the real co-signer will (the enclave
// co-signer comes with the signing-path issue). Nothing is faked on the coordinator's side.
import { randomUUID, type KeyObject } from 'node:crypto';
import { Ed25519Identity, ed25519Peers, openMpcMessage, sealMpcMessage, type PeerVerifier } from '../../../shared/mpc/authenticated-message.js';
import type { MpcMessage, Party } from '../../../shared/mpc/party.js';
import { EcdsaKeygenP2, EcdsaSignP2, deriveEcdsaChild, type EcdsaKeyShareP2 } from '../../../shared/mpc/ecdsa/index.js';
import { FrostDkgParty, FrostSignParty, deriveFrostKeyShare, type FrostKeyShare } from '../../../shared/mpc/frost/index.js';
import { generateRingPedersen, type RingPedersenSecret } from '../../../shared/mpc/zk/ring-pedersen.js';
import type { MpcPartyEndpoint, MpcSessionRef } from '../../../coordinator/mpc/party-endpoint.js';
import { beginCosignerHandshake, completeCosignerHandshake, type MpcHello, type PendingHandshake } from '../../../shared/cosigner-api/mpc-channel.js';
import type { WorkQueue } from '../../../coordinator/work-queue/work-queue.js';
import type { FastifyInstance } from 'fastify';
import { keccak256, type Hex } from 'viem';
import { decodeUnsignedEvmTransfer, transferIntent } from '../../../coordinator/chains/evm/evm-transaction.js';
import type { KeygenItemPayload, SignItemPayload } from '../../../coordinator/mpc/signing-requests.js';
import { FROST_SCHEME } from '../../../coordinator/mpc/master-keys.js';
import type { AssetAlgorithm } from '../../../coordinator/assets/index.js';
import { TEST_RING_PEDERSEN_BITS } from '../../support/ecdsa-keys.js';

export const COORDINATOR_ID = 1;
export const COSIGNER_ID = 2;

let ringPedersen: RingPedersenSecret | undefined;

/** A session as the co-signer knows it: the coordinator's ref plus the work item that named it (the channel binds both). */
export type EngineRef = MpcSessionRef & { workItemId: string };

export class EngineCosigner {
  readonly id: string;
  readonly identity: Ed25519Identity;
  readonly shares = new Map<AssetAlgorithm, EcdsaKeyShareP2 | FrostKeyShare>();
  private readonly coordinatorPeers: PeerVerifier;

  /** `as`: a paired co-signer's id and identity key (the HTTP tests); default a fresh identity. */
  constructor(private readonly coordinatorPublicKey: Uint8Array, as?: { id: string; identity: KeyObject }) {
    this.coordinatorPeers = ed25519Peers(new Map([[COORDINATOR_ID, coordinatorPublicKey]]));
    this.id = as?.id ?? `test-cosigner-${randomUUID()}`;
    this.identity = as ? new Ed25519Identity(COSIGNER_ID, as.identity) : Ed25519Identity.generate(COSIGNER_ID);
  }

  /** The verifier the coordinator uses for this co-signer (what pairing will record). */
  peers(): PeerVerifier {
    return ed25519Peers(new Map([[COSIGNER_ID, this.identity.publicKey]]));
  }

  ref(workspaceId: string, sessionId: string, workItemId: string): EngineRef {
    return { workspaceId, cosignerId: this.id, sessionId: new Uint8Array(Buffer.from(sessionId, 'hex')), workItemId };
  }

  private readonly handshakes = new Map<string, PendingHandshake>();

  /** The co-signer's half of the session channel's handshake, as the enclave makes it (one per session: asking again gives the same). */
  handshake(ref: EngineRef): PendingHandshake {
    const key = `${Buffer.from(ref.sessionId).toString('hex')}/${ref.workItemId}`;
    let hs = this.handshakes.get(key);
    if (!hs) {
      hs = beginCosignerHandshake({ sessionId: ref.sessionId, workItemId: ref.workItemId, cosignerIdentity: this.identity.publicKey, coordinatorIdentity: this.coordinatorPublicKey }, this.identity);
      this.handshakes.set(key, hs);
    }
    return hs;
  }

  /** Just a valid hello, for tests that expect the opening to be refused for other reasons. */
  hello(ref: EngineRef): MpcHello {
    return this.handshake(ref).hello;
  }

  /** Runs one session to its end: the channel handshake with the opening, then rounds until neither side has anything to send. */
  async run(endpoint: MpcPartyEndpoint, ref: EngineRef, party: Party<unknown>, tamper: (m: MpcMessage) => MpcMessage = (m) => m): Promise<void> {
    const hs = this.handshake(ref);
    const opened = await endpoint.opening(ref, hs.hello);
    const channel = completeCosignerHandshake(hs, opened.hello, this.coordinatorPeers);
    let inbound = opened.messages;
    let outbound = party.start();
    for (let round = 0; round < 16; round++) {
      for (const f of inbound) outbound.push(...party.receive(openMpcMessage(channel.open(f), { self: COSIGNER_ID, sessionId: ref.sessionId, peers: this.coordinatorPeers })));
      if (outbound.length === 0) return;
      inbound = await endpoint.receive(ref, outbound.map((m) => channel.seal(sealMpcMessage(tamper(m), this.identity))));
      outbound = [];
    }
    throw new Error('session did not finish in 16 rounds');
  }

  keygenParty(item: KeygenItemPayload): Party<unknown> {
    const sessionId = new Uint8Array(Buffer.from(item.sessionId, 'hex'));
    if (item.algorithm === 'MPC_ECDSA_SECP256K1') {
      ringPedersen ??= generateRingPedersen(TEST_RING_PEDERSEN_BITS);
      return new EcdsaKeygenP2({ sessionId, p1Id: COORDINATOR_ID, p2Id: COSIGNER_ID, ringPedersen, minRingPedersenBits: TEST_RING_PEDERSEN_BITS });
    }
    return new FrostDkgParty({ scheme: FROST_SCHEME[item.algorithm], sessionId, self: COSIGNER_ID, parties: [COORDINATOR_ID, COSIGNER_ID], threshold: 2 });
  }

  async generate(endpoint: MpcPartyEndpoint, workspaceId: string, workItemId: string, item: KeygenItemPayload): Promise<void> {
    const party = this.keygenParty(item);
    await this.run(endpoint, this.ref(workspaceId, item.sessionId, workItemId), party);
    this.shares.set(item.algorithm, party.result() as EcdsaKeyShareP2 | FrostKeyShare);
  }

  /**
   * Reports a KEYGEN item's result as the work route applies it (through the registered handler, in
   * the result's transaction): GENERATED makes the coordinator's pending key ACTIVE.
   */
  async report(app: FastifyInstance, itemId: string, result: { outcome: string; reason?: string }): Promise<'recorded' | 'duplicate'> {
    const row = await app.db.selectFrom('work_items').select('kind').where('id', '=', itemId).executeTakeFirstOrThrow();
    const handler = app.workResults.handlerOf(row.kind)!;
    const parsed = handler.parse(result);
    return app.workQueue.complete(itemId, this.id, result, (trx, item) => handler.apply(trx, item, parsed));
  }

  /** The co-signer's party for message `index` of a SIGN item; `hashOverride` makes it sign something else (a cheating P2). */
  signParty(item: SignItemPayload, index: number, hashOverride?: Uint8Array): Party<unknown> {
    const m = item.messages[index]!;
    const sessionId = new Uint8Array(Buffer.from(m.sessionId, 'hex'));
    const content = new Uint8Array(Buffer.from(m.content, 'hex'));
    const share = this.shares.get(item.algorithm);
    if (!share) throw new Error(`no ${item.algorithm} share`);
    if (item.algorithm === 'MPC_ECDSA_SECP256K1') {
      const child = deriveEcdsaChild(share as EcdsaKeyShareP2, m.derivationPath);
      return new EcdsaSignP2(share as EcdsaKeyShareP2, { sessionId, p1Id: COORDINATOR_ID, p2Id: COSIGNER_ID, messageHash: hashOverride ?? content, tweak: child.tweak });
    }
    const child = deriveFrostKeyShare(share as FrostKeyShare, m.derivationPath);
    return new FrostSignParty({ keyShare: child.keyShare, sessionId, signers: [COORDINATOR_ID, COSIGNER_ID], message: hashOverride ?? content });
  }

  /**
   * Takes SIGN items by long poll and signs them until stop() — checking, as the enclave will, that
   * a transfer's hash is the hash of the unsigned transaction it was shown and that this pays the
   * recipient and amount named. Items it refuses are reported as refused.
   */
  serve(endpoint: MpcPartyEndpoint, queue: WorkQueue, workspaceId: string): { stop(): Promise<void>; signed: number; refused: string[] } {
    let stopped = false;
    const state = { signed: 0, refused: [] as string[], stop: async () => { stopped = true; await loop; } };
    const loop = (async () => {
      while (!stopped) {
        const item = await queue.poll([workspaceId], this.id, { holdMs: 100 });
        if (!item || item.kind !== 'SIGN') continue;
        const p = item.payload as SignItemPayload;
        try {
          if (p.transfer) checkTransfer(p);
          for (let i = 0; i < p.messages.length; i++) await this.run(endpoint, this.ref(workspaceId, p.messages[i]!.sessionId, item.id), this.signParty(p, i));
          state.signed++;
          await queue.complete(item.id, this.id, { outcome: 'SIGNED' }, async () => undefined);
        } catch (e) {
          state.refused.push(`${p.transactionId}: ${(e as Error).message}`);
          await queue.complete(item.id, this.id, { outcome: 'FAILED', reason: (e as Error).message.slice(0, 200) }, async () => undefined).catch(() => undefined);
        }
      }
    })();
    return state;
  }
}

function checkTransfer(p: SignItemPayload): void {
  const t = p.transfer!;
  const unsigned = decodeUnsignedEvmTransfer(t.serializedUnsigned as Hex, t.from as Hex);
  if (keccak256(t.serializedUnsigned as Hex).slice(2) !== p.messages[0]!.content) throw new Error('the hash to sign is not the hash of the transaction shown');
  if (unsigned.chainId !== t.chainId) throw new Error('wrong chain');
  // Native or token: transferIntent reads the recipient and amount from the transaction itself.
  const asset = unsigned.data === '0x' ? { id: t.assetId, chainId: t.chainId, kind: 'NATIVE' as const, decimals: 18 } : { id: t.assetId, chainId: t.chainId, kind: 'ERC20' as const, contract: unsigned.to, decimals: 0 };
  const intent = transferIntent(unsigned, asset);
  if (intent.recipient.toLowerCase() !== t.to.toLowerCase() || intent.amount !== BigInt(t.amount)) throw new Error('the transaction pays someone else or another amount');
}
