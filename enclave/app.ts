// The enclave application for the foundation issue: it answers the parent's RPCs (shared/messages.ts),
// boots by unsealing (or creating) its state through KMS, and attests. Everything the parent sends is
// only a request: KMS answers reach us encrypted to a key that exists only in this process, and the
// sealed blob is authenticated, so a hostile parent can refuse service but not plant state.
import type { Duplex } from 'node:stream';
import { CosignerError, isCosignerError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { equalBytes } from '../shared/bytes.js';
import type { RpcHandlers, RequestOf, ResponseOf } from '../shared/channel/rpc.js';
import { EnclaveMessages, type SealedFile } from '../shared/messages.js';
import type { Nsm } from './nsm/nsm.js';
import { EnclaveKmsClient } from './kms/recipient-client.js';
import { openSealedState } from './sealing/open-sealed-state.js';
import { checkSealingKeyFacts, checkSealingKeyPolicy } from './sealing/key-policy-check.js';
import { createInitialState, decodeState, encodeState, publicKeysOf, type EnclaveState } from './state.js';
import { wipe } from '../shared/bytes.js';

type Catalog = typeof EnclaveMessages;
type Phase = ResponseOf<Catalog, 'Status'>['phase'];

export interface EnclaveAppDeps {
  nsm: Nsm;
  /** The sealing key, from the enclave's own configuration (never from the parent). */
  kms: { region: string; keyArn: string; endpoint: string };
  /** Opens a stream to the parent's KMS proxy. */
  connectKmsProxy: () => Promise<Duplex>;
  kmsTlsCa?: string;
  allowPlainHttpKms: boolean;
  log: Logger;
}

export class EnclaveApp {
  private phase: Phase = 'waiting-for-boot';
  private failure: { code: string; message: string } | null = null;
  private state: EnclaveState | null = null;
  /** The sealed file this state lives in, as the parent should have it on disk. */
  private sealedFile: SealedFile | null = null;
  /** First boot: the new sealed file until the parent shows it has stored it. */
  private unconfirmedFile: SealedFile | null = null;
  private readonly startedAt = Date.now();

  constructor(private readonly deps: EnclaveAppDeps) {}

  handlers(): RpcHandlers<Catalog> {
    return {
      Ping: () => ({ uptimeMs: Date.now() - this.startedAt }),
      Status: () => ({ phase: this.phase, failure: this.failure }),
      Boot: (req) => this.boot(req),
      // The parent's own requests wait behind ours and are bounded; they are dropped if it hangs up.
      GetAttestation: async (req, ctx) => ({
        document: await this.deps.nsm.attestation(
          {
            nonce: req.nonce,
            userData: this.state ? publicKeysOf(this.state).identityPublicKey : null,
            publicKey: null,
          },
          { priority: 'peer', signal: ctx.signal },
        ),
      }),
    };
  }

  private async boot(req: RequestOf<Catalog, 'Boot'>): Promise<ResponseOf<Catalog, 'Boot'>> {
    if (this.phase === 'booting') throw new CosignerError('BOOT_IN_PROGRESS', 'a boot is already in progress');
    if (this.phase === 'ready') return this.repeatBoot(req.sealed);
    this.phase = 'booting';
    this.failure = null;
    try {
      const res = await this.unsealOrInitialise(req);
      this.phase = 'ready';
      this.deps.log.info({ outcome: res.outcome }, 'enclave state ready');
      return res;
    } catch (e) {
      const err = this.explain(e);
      this.phase = 'failed';
      this.failure = { code: err.code, message: err.message.slice(0, 1024) };
      this.deps.log.error({ code: err.code }, `boot failed: ${err.message}`);
      throw err;
    }
  }

  private async unsealOrInitialise(req: RequestOf<Catalog, 'Boot'>): Promise<ResponseOf<Catalog, 'Boot'>> {
    const kms = new EnclaveKmsClient({
      region: this.deps.kms.region,
      endpoint: this.deps.kms.endpoint,
      credentials: req.credentials,
      connect: this.deps.connectKmsProxy,
      attest: (spki) => this.deps.nsm.attestation({ publicKey: spki, userData: null, nonce: null }),
      tlsCa: this.deps.kmsTlsCa,
      allowPlainHttp: this.deps.allowPlainHttpKms,
    });
    try {
      return await this.openWith(kms, req.sealed);
    } finally {
      kms.destroy();
    }
  }

  private async openWith(kms: EnclaveKmsClient, sealed: SealedFile | null): Promise<ResponseOf<Catalog, 'Boot'>> {
    // Every boot: refuse a key whose policy lets anyone but this enclave reach a data key's plaintext
    // or make data keys of their own (see key-policy-check.ts).
    const own = { pcr0: (await this.deps.nsm.describePcr(0)).data, pcr8: (await this.deps.nsm.describePcr(8)).data };
    const keyArn = this.deps.kms.keyArn;
    checkSealingKeyFacts({ metadata: await kms.describeKey(keyArn), grants: await kms.listGrants(keyArn) }, keyArn);
    checkSealingKeyPolicy(await kms.getKeyPolicy(keyArn), own);
    const opened = await openSealedState({
      existing: sealed,
      kms,
      keyId: this.deps.kms.keyArn,
      createInitialState: () => encodeState(createInitialState()),
    });
    let state: EnclaveState;
    try {
      state = decodeState(opened.state);
    } finally {
      wipe(opened.state);
    }
    this.state = state;
    this.sealedFile = opened.toStore ?? sealed;
    this.unconfirmedFile = opened.toStore;
    return { outcome: opened.toStore ? 'initialised' : 'unsealed', toStore: opened.toStore, ...publicKeysOf(state) };
  }

  /**
   * The parent reconnected without the enclave restarting. Answer from memory, and hand out a
   * first-boot file again until the parent shows it stored it (its answer may have been lost).
   */
  private repeatBoot(onDisk: SealedFile | null): ResponseOf<Catalog, 'Boot'> {
    const keys = publicKeysOf(this.state!);
    if (onDisk === null) {
      if (this.unconfirmedFile) return { outcome: 'initialised', toStore: this.unconfirmedFile, ...keys };
      throw new CosignerError('STATE_MISMATCH', 'the parent has no sealed file, but this enclave booted from one; refusing to create new state over it');
    }
    const mine = this.sealedFile!;
    if (!equalBytes(onDisk.sealed, mine.sealed) || !equalBytes(onDisk.kmsCiphertext, mine.kmsCiphertext)) {
      throw new CosignerError('STATE_MISMATCH', 'the parent holds a different sealed file from the one this enclave booted with');
    }
    this.unconfirmedFile = null;
    return { outcome: 'already-booted', toStore: null, ...keys };
  }

  /** Errors keep their code; anything untyped becomes INTERNAL without its (possibly data-bearing) text. */
  private explain(e: unknown): CosignerError {
    return isCosignerError(e) ? e : new CosignerError('INTERNAL', `boot failed: ${e instanceof Error ? e.name : 'error'}`);
  }
}
