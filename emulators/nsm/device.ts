// The emulated Nitro Secure Module: raw CBOR request in, raw CBOR response out, with the real
// error responses (InvalidArgument for what cannot be parsed, InvalidIndex, ReadOnlyIndex,
// InputTooLarge). It never throws: every failure becomes an Error response.
import { randomBytes } from 'node:crypto';
import { isCosignerError } from '../../shared/errors.js';
import {
  NSM_ATTESTATION_FIELD_MAX_BYTES,
  decodeNsmRequest,
  encodeNsmResponse,
  nsmError,
  type NsmErrorName,
  type NsmRequest,
  type NsmResponse,
} from '../../shared/nsm/codec.js';
import { signAttestationDocument } from './document.js';
import { PCR_COUNT, PcrBank } from './pcr-bank.js';
import type { EmulatorPki } from './pki.js';

export const NSM_VERSION = { major: 1, minor: 0, patch: 0 } as const;
export const RANDOM_BYTES_PER_CALL = 256;

export class EmulatedNsm {
  constructor(
    private readonly pki: EmulatorPki,
    readonly pcrs: PcrBank,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Handle one request; always returns an encoded response. */
  handle(raw: Uint8Array): Uint8Array {
    try {
      // encoding is inside the try: a response too big for the NSM buffer is BufferTooSmall
      return encodeNsmResponse(this.dispatch(decodeNsmRequest(raw)));
    } catch (e) {
      return encodeNsmResponse({ kind: 'Error', error: errorName(e) });
    }
  }

  private dispatch(req: NsmRequest): NsmResponse {
    switch (req.kind) {
      case 'DescribeNSM':
        return {
          kind: 'DescribeNSM',
          versionMajor: NSM_VERSION.major,
          versionMinor: NSM_VERSION.minor,
          versionPatch: NSM_VERSION.patch,
          moduleId: this.pki.moduleId,
          maxPcrs: PCR_COUNT,
          lockedPcrs: this.pcrs.lockedIndexes(),
          digest: 'SHA384',
        };
      case 'GetRandom':
        return { kind: 'GetRandom', random: new Uint8Array(randomBytes(RANDOM_BYTES_PER_CALL)) };
      case 'DescribePCR': {
        const d = this.pcrs.describe(req.index);
        return { kind: 'DescribePCR', lock: d.lock, data: d.data };
      }
      case 'ExtendPCR':
        return { kind: 'ExtendPCR', data: this.pcrs.extend(req.index, req.data) };
      case 'LockPCR':
        this.pcrs.lock(req.index);
        return { kind: 'LockPCR' };
      case 'LockPCRs':
        this.pcrs.lockRange(req.range);
        return { kind: 'LockPCRs' };
      case 'Attestation':
        return { kind: 'Attestation', document: this.attest(req) };
    }
  }

  private attest(req: Extract<NsmRequest, { kind: 'Attestation' }>): Uint8Array {
    for (const f of [req.userData, req.nonce, req.publicKey]) {
      if (f && f.length > NSM_ATTESTATION_FIELD_MAX_BYTES) throw nsmError('InputTooLarge');
    }
    this.pki.ensureFresh();
    const signer = this.pki.signer;
    return signAttestationDocument(
      {
        moduleId: this.pki.moduleId,
        timestamp: this.clock().getTime(),
        pcrs: this.pcrs.attested(),
        certificate: signer.certificate,
        cabundle: this.pki.cabundle,
        publicKey: req.publicKey,
        userData: req.userData,
        nonce: req.nonce,
      },
      signer.key,
    );
  }
}

function errorName(e: unknown): NsmErrorName {
  if (isCosignerError(e, 'NSM_ERROR')) {
    const name = e.details?.nsmError;
    if (typeof name === 'string') return name as NsmErrorName;
  }
  return 'InternalError';
}
