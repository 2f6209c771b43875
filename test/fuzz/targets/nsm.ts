// The NSM codec (shared/nsm/codec.ts): requests as the device (and the emulator) decodes them,
// responses as the enclave decodes what /dev/nsm or the emulator answers, and the length-prefixed
// socket framing to the emulator (socket-framing.ts). A malformed message is NSM_ERROR only.
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import {
  NSM_ERROR_NAMES, decodeNsmRequest, decodeNsmResponse, encodeNsmRequest, encodeNsmResponse, type NsmRequest, type NsmResponse,
} from '../../../shared/nsm/codec.js';
import { NSM_FRAME_MAX_BYTES, NsmFrameReader, encodeNsmFrame } from '../../../shared/nsm/socket-framing.js';
import { hostileCbor, mutated, concatBytes } from '../support/mutate.js';
import { equalBytes, requireTyped, typedOnly, violation, type FuzzTarget } from '../support/target.js';

const u16 = fc.integer({ min: 0, max: 0xffff });
const field = fc.option(fc.uint8Array({ maxLength: 256 }), { nil: null });

export const nsmRequest: fc.Arbitrary<NsmRequest> = fc.oneof(
  fc.constant({ kind: 'DescribeNSM' as const }),
  fc.constant({ kind: 'GetRandom' as const }),
  u16.map((index) => ({ kind: 'DescribePCR' as const, index })),
  fc.record({ index: u16, data: fc.uint8Array({ maxLength: 64 }) }).map((r) => ({ kind: 'ExtendPCR' as const, ...r })),
  u16.map((index) => ({ kind: 'LockPCR' as const, index })),
  u16.map((range) => ({ kind: 'LockPCRs' as const, range })),
  fc.record({ userData: field, nonce: field, publicKey: field }).map((r) => ({ kind: 'Attestation' as const, ...r })),
);

export const nsmResponse: fc.Arbitrary<NsmResponse> = fc.oneof(
  fc.record({
    versionMajor: u16, versionMinor: u16, versionPatch: u16, moduleId: fc.string({ maxLength: 40 }), maxPcrs: u16,
    lockedPcrs: fc.uniqueArray(fc.integer({ min: 0, max: 31 }), { maxLength: 8 }).map((a) => a.sort((x, y) => x - y)),
    digest: fc.constantFrom('SHA256' as const, 'SHA384' as const, 'SHA512' as const),
  }).map((r) => ({ kind: 'DescribeNSM' as const, ...r })),
  fc.record({ lock: fc.boolean(), data: fc.uint8Array({ minLength: 48, maxLength: 48 }) }).map((r) => ({ kind: 'DescribePCR' as const, ...r })),
  fc.uint8Array({ maxLength: 64 }).map((data) => ({ kind: 'ExtendPCR' as const, data })),
  fc.constant({ kind: 'LockPCR' as const }),
  fc.constant({ kind: 'LockPCRs' as const }),
  fc.uint8Array({ minLength: 1, maxLength: 512 }).map((document) => ({ kind: 'Attestation' as const, document })),
  fc.uint8Array({ minLength: 32, maxLength: 256 }).map((random) => ({ kind: 'GetRandom' as const, random })),
  fc.constantFrom(...NSM_ERROR_NAMES).map((error) => ({ kind: 'Error' as const, error })),
);

/** Byte fields come back as plain Uint8Array; compare by content. */
function same(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))),
    JSON.parse(JSON.stringify(b, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))));
}

export const nsmRequestTarget: FuzzTarget = {
  name: 'nsm.request',
  weight: 2,
  input: mutated(nsmRequest.map(encodeNsmRequest), [hostileCbor()]),
  check(input) {
    const r = typedOnly(input, () => decodeNsmRequest(input), ['NSM_ERROR']);
    if (r.ok) {
      // What decodes re-encodes and decodes to the same request (serde's canonical form).
      const again = typedOnly(input, () => decodeNsmRequest(encodeNsmRequest(r.value)));
      if (!again.ok || !same(again.value, r.value)) violation('a decoded NSM request does not survive re-encoding');
    }
  },
};

export const nsmResponseTarget: FuzzTarget = {
  name: 'nsm.response',
  weight: 2,
  input: mutated(nsmResponse.map(encodeNsmResponse), [hostileCbor()]),
  check(input) {
    const r = typedOnly(input, () => decodeNsmResponse(input), ['NSM_ERROR']);
    if (r.ok) {
      const again = typedOnly(input, () => decodeNsmResponse(encodeNsmResponse(r.value)));
      if (!again.ok || !same(again.value, r.value)) violation('a decoded NSM response does not survive re-encoding');
    }
  },
};

/** Round trip for every request and response shape. */
export const nsmRoundTripTarget: FuzzTarget = {
  name: 'nsm.roundtrip',
  weight: 1,
  input: fc.oneof(nsmRequest.map((q) => concatBytes(Uint8Array.of(0), encodeNsmRequest(q))), nsmResponse.map((p) => concatBytes(Uint8Array.of(1), encodeNsmResponse(p)))),
  check(input) {
    const body = input.subarray(1);
    if (input[0] === 0) {
      const r = typedOnly(body, () => decodeNsmRequest(body));
      if (!r.ok || !equalBytes(encodeNsmRequest(r.value), body)) violation('NSM request did not round-trip');
    } else {
      const r = typedOnly(body, () => decodeNsmResponse(body));
      if (!r.ok || !equalBytes(encodeNsmResponse(r.value), body)) violation('NSM response did not round-trip');
    }
  },
};

/** The emulator socket framing: any byte stream gives frames or FRAME_TOO_LARGE, never more than the bound buffered. */
export const nsmFramingTarget: FuzzTarget = {
  name: 'nsm.socket-framing',
  weight: 2,
  input: mutated(fc.array(nsmResponse.map((p) => encodeNsmFrame(encodeNsmResponse(p))), { minLength: 1, maxLength: 3 }).map((fs) => concatBytes(...fs))),
  check(input) {
    typedOnly(input, () => {
      const reader = new NsmFrameReader();
      try {
        for (let off = 0; off < input.length; off += 5) {
          for (const f of reader.push(input.subarray(off, off + 5))) if (f.length > NSM_FRAME_MAX_BYTES) violation('oversized NSM frame returned');
          if (reader.pending > NSM_FRAME_MAX_BYTES + 4 + 5) violation(`NSM frame reader holds ${reader.pending} bytes`);
        }
      } catch (e) {
        requireTyped(e, ['FRAME_TOO_LARGE']);
      }
    });
  },
};

export const nsmTargets = [nsmRequestTarget, nsmResponseTarget, nsmRoundTripTarget, nsmFramingTarget];
