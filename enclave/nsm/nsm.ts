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

export interface Nsm {
  /** A signed attestation document (COSE_Sign1) binding the given fields. */
  attestation(req: AttestationRequest): Promise<Uint8Array>;
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

export class NsmClient implements Nsm {
  constructor(private readonly device: NsmDevice) {}

  private async call(req: NsmRequest): Promise<NsmResponse> {
    return decodeNsmResponse(await this.device.request(encodeNsmRequest(req)));
  }

  async attestation(req: AttestationRequest): Promise<Uint8Array> {
    const resp = await this.call({
      kind: 'Attestation',
      userData: checkField('userData', req.userData),
      nonce: checkField('nonce', req.nonce),
      publicKey: checkField('publicKey', req.publicKey),
    });
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
