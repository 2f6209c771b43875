// The enclave's view of the Nitro Secure Module: typed operations over a device that moves raw
// CBOR request/response bytes (the real /dev/nsm ioctl or the emulator's Unix socket).
import { CosignerError } from '../../shared/errors.js';
import {
  NSM_ATTESTATION_FIELD_MAX_BYTES,
  decodeNsmResponse,
  encodeNsmRequest,
  expectNsmResponse,
  nsmError,
  type NsmRequest,
  type NsmResponse,
} from '../../shared/nsm/codec.js';

export interface NsmDevice {
  /** Send one raw NSM request, resolve with the raw response. */
  request(raw: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface AttestationRequest {
  userData?: Uint8Array | null;
  nonce?: Uint8Array | null;
  publicKey?: Uint8Array | null;
}

/**
 * Who a call is for. The device does one request at a time, so calls wait in a queue:
 * 'enclave' calls (boot, our own attestations) go before any 'peer' call (made because the parent
 * asked), and peer calls are bounded in number and dropped when their signal aborts (the
 * connection that asked has gone), so a parent flooding GetAttestation can make only itself wait.
 */
export interface NsmCallOptions {
  priority?: 'enclave' | 'peer';
  signal?: AbortSignal;
}

export interface Nsm {
  /** A signed attestation document (COSE_Sign1) binding the given fields. */
  attestation(req: AttestationRequest, opts?: NsmCallOptions): Promise<Uint8Array>;
  /** 256 bytes of entropy from the NSM. */
  getRandom(): Promise<Uint8Array>;
  describePcr(index: number): Promise<{ locked: boolean; data: Uint8Array }>;
  /** Extend PCR `index` with `data` (new = SHA384(old ‖ data)); resolves with the new value. */
  extendPcr(index: number, data: Uint8Array): Promise<Uint8Array>;
  lockPcr(index: number): Promise<void>;
  close(): Promise<void>;
}

export const NSM_MAX_PCR_INDEX = 31;

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > NSM_MAX_PCR_INDEX) throw nsmError('InvalidIndex', { index: String(index) });
}

function checkField(name: string, v: Uint8Array | null | undefined): Uint8Array | null {
  if (v === undefined || v === null) return null;
  if (!(v instanceof Uint8Array)) throw new CosignerError('NSM_ERROR', 'InvalidArgument', { nsmError: 'InvalidArgument', field: name });
  if (v.length > NSM_ATTESTATION_FIELD_MAX_BYTES) throw nsmError('InputTooLarge', { field: name, bytes: v.length });
  return v;
}

/** Peer calls allowed to wait at once; more are refused with NSM_BUSY rather than queued. */
export const DEFAULT_MAX_QUEUED_PEER_CALLS = 16;

interface QueuedCall {
  raw: Uint8Array;
  resolve: (b: Uint8Array) => void;
  reject: (e: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class NsmClient implements Nsm {
  private readonly enclaveQueue: QueuedCall[] = [];
  private readonly peerQueue: QueuedCall[] = [];
  private busy = false;
  private readonly maxQueuedPeerCalls: number;

  constructor(private readonly device: NsmDevice, opts: { maxQueuedPeerCalls?: number } = {}) {
    this.maxQueuedPeerCalls = opts.maxQueuedPeerCalls ?? DEFAULT_MAX_QUEUED_PEER_CALLS;
  }

  /** Calls waiting for the device (not counting the one it is doing). */
  get queued(): { enclave: number; peer: number } {
    return { enclave: this.enclaveQueue.length, peer: this.peerQueue.length };
  }

  private async call(req: NsmRequest, opts: NsmCallOptions = {}): Promise<NsmResponse> {
    const raw = encodeNsmRequest(req);
    return decodeNsmResponse(await this.enqueue(raw, opts));
  }

  private enqueue(raw: Uint8Array, { priority = 'enclave', signal }: NsmCallOptions): Promise<Uint8Array> {
    if (signal?.aborted) return Promise.reject(aborted());
    const queue = priority === 'peer' ? this.peerQueue : this.enclaveQueue;
    if (priority === 'peer' && queue.length >= this.maxQueuedPeerCalls) {
      return Promise.reject(new CosignerError('NSM_BUSY', `the NSM already has ${queue.length} requests from the parent waiting; try again later`, { queued: queue.length }));
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      const call: QueuedCall = { raw, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        call.onAbort = () => {
          const i = queue.indexOf(call);
          if (i >= 0) {
            queue.splice(i, 1);
            reject(aborted());
          }
        };
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      queue.push(call);
      this.next();
    });
  }

  /** One request on the device at a time; enclave calls first. */
  private next(): void {
    if (this.busy) return;
    const call = this.enclaveQueue.shift() ?? this.peerQueue.shift();
    if (!call) return;
    if (call.onAbort) call.signal!.removeEventListener('abort', call.onAbort);
    this.busy = true;
    this.device
      .request(call.raw)
      .then(call.resolve, call.reject)
      .finally(() => {
        this.busy = false;
        this.next();
      });
  }

  async attestation(req: AttestationRequest, opts?: NsmCallOptions): Promise<Uint8Array> {
    const resp = await this.call(
      {
        kind: 'Attestation',
        userData: checkField('userData', req.userData),
        nonce: checkField('nonce', req.nonce),
        publicKey: checkField('publicKey', req.publicKey),
      },
      opts,
    );
    return expectNsmResponse(resp, 'Attestation').document;
  }

  async getRandom(): Promise<Uint8Array> {
    const { random } = expectNsmResponse(await this.call({ kind: 'GetRandom' }), 'GetRandom');
    // The NSM returns 256 bytes a call; fewer than 32 cannot seed anything.
    if (random.length < 32) throw nsmError('InvalidResponse', { reason: 'short random' });
    return random;
  }

  async describePcr(index: number): Promise<{ locked: boolean; data: Uint8Array }> {
    checkIndex(index);
    const r = expectNsmResponse(await this.call({ kind: 'DescribePCR', index }), 'DescribePCR');
    return { locked: r.lock, data: r.data };
  }

  async extendPcr(index: number, data: Uint8Array): Promise<Uint8Array> {
    checkIndex(index);
    return expectNsmResponse(await this.call({ kind: 'ExtendPCR', index, data }), 'ExtendPCR').data;
  }

  async lockPcr(index: number): Promise<void> {
    checkIndex(index);
    expectNsmResponse(await this.call({ kind: 'LockPCR', index }), 'LockPCR');
  }

  close(): Promise<void> {
    return this.device.close();
  }
}

function aborted(): CosignerError {
  return new CosignerError('REQUEST_ABORTED', 'the connection that asked for this has closed');
}
