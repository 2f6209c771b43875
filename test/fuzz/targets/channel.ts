// The parent↔enclave channel: the frame decoder (shared/channel/frame.ts), cbor-x decoding
// (shared/cbor.ts) and the RPC envelope and message schemas (shared/channel/messages.ts,
// shared/messages.ts) — everything a hostile parent's bytes reach before a handler runs.
import fc from 'fast-check';
import { FrameDecoder, decodeFrameBody, encodeFrame, type FrameResult } from '../../../shared/channel/frame.js';
import { MAX_CBOR_DEPTH, checkCborProfile, decodeCbor, encodeCbor } from '../../../shared/cbor.js';
import { envelopeId, lookupMessage, parseRequestEnvelope, parseResponseEnvelope } from '../../../shared/channel/messages.js';
import { EnclaveMessages } from '../../../shared/messages.js';
import { CosignerError } from '../../../shared/errors.js';
import { concatBytes, hostileCbor, mutated } from '../support/mutate.js';
import { equalBytes, requireTyped, typedOnly, violation, type FuzzTarget } from '../support/target.js';
import { wireValue } from '../support/values.js';

const bytesOf = (n: number, max = n) => fc.uint8Array({ minLength: n, maxLength: max });

/** Valid request bodies for every message type of the enclave catalog. */
export function validRequest(): fc.Arbitrary<{ type: string; body: unknown }> {
  const credentials = fc.record(
    {
      accessKeyId: fc.stringMatching(/^[A-Z0-9]{16,32}$/),
      secretAccessKey: fc.string({ minLength: 1, maxLength: 40 }),
      sessionToken: fc.string({ maxLength: 64 }),
      expiration: fc.nat(),
    },
    { requiredKeys: ['accessKeyId', 'secretAccessKey'] },
  );
  const sealed = fc.option(fc.record({ kmsCiphertext: bytesOf(1, 64), sealed: bytesOf(1, 96) }), { nil: null });
  return fc.oneof(
    fc.constant({ type: 'Ping', body: {} }),
    fc.constant({ type: 'Status', body: {} }),
    fc.record({ credentials, sealed }).map((body) => ({ type: 'Boot', body })),
    fc.option(bytesOf(1, 64), { nil: null }).map((nonce) => ({ type: 'GetAttestation', body: { nonce } })),
  );
}

/** Valid responses of every type (what a parent-side client decodes). */
function validResponseBody(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.record({ uptimeMs: fc.nat() }),
    fc.record({
      phase: fc.constantFrom('waiting-for-boot', 'booting', 'ready', 'failed'),
      failure: fc.option(fc.record({ code: fc.string({ maxLength: 16 }), message: fc.string({ maxLength: 40 }) }), { nil: null }),
    }),
    fc.record({ document: bytesOf(1, 64) }),
  );
}

export function validEnvelope(withProtoKey = true): fc.Arbitrary<unknown> {
  const id = fc.integer({ min: 1, max: 0xffff_ffff });
  return fc.oneof(
    fc.tuple(id, validRequest()).map(([i, r]) => ({ id: i, type: r.type, body: r.body })),
    fc.tuple(id, validResponseBody()).map(([i, body]) => ({ id: i, ok: true, body })),
    fc.tuple(fc.nat({ max: 0xffff_ffff }), fc.stringMatching(/^[A-Z][A-Z0-9_]{0,20}$/), fc.string({ maxLength: 40 })).map(([i, code, message]) => ({ id: i, ok: false, error: { code, message } })),
    fc.tuple(id, fc.string({ maxLength: 20 }), wireValue(3, withProtoKey)).map(([i, type, body]) => ({ id: i, type, body })),
  );
}

/** Everything the enclave and the parent do with one decoded frame value; all of it must be typed. */
export function parseEnvelopeValue(value: unknown): void {
  envelopeId(value);
  try {
    const env = parseRequestEnvelope(value);
    const spec = lookupMessage(EnclaveMessages, env.type);
    if (spec) spec.request.parse(env.body, 'body');
  } catch (e) {
    requireTyped(e);
  }
  try {
    const env = parseResponseEnvelope(value);
    if (env.ok) for (const spec of Object.values(EnclaveMessages)) {
      try { spec.response.parse(env.body, 'body'); } catch (e) { requireTyped(e); }
    }
  } catch (e) {
    requireTyped(e);
  }
}

/**
 * A value's structure as text, walked with an explicit stack: the decoder may hand back values
 * nested thousands deep (as deep as the thread's stack lets cbor-x go), which recursive
 * comparison (util.isDeepStrictEqual) cannot walk.
 */
export function fingerprint(value: unknown): string {
  const out: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v instanceof Uint8Array) out.push(`b${Buffer.from(v.buffer, v.byteOffset, v.length).toString('hex')}`);
    else if (Array.isArray(v)) { out.push(`a${v.length}`); for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]); }
    else if (typeof v === 'object' && v !== null) {
      const keys = Reflect.ownKeys(v);
      out.push(`o${Object.getPrototypeOf(v) === Object.prototype ? '' : '!'}${v.constructor?.name ?? ''}${keys.length}`);
      for (const k of keys.reverse()) { out.push(`k${String(k)}`); stack.push((v as Record<PropertyKey, unknown>)[k]); }
    } else out.push(`${typeof v}:${String(v)}`);
  }
  return out.join(',');
}

function summary(results: FrameResult[]): string[] {
  return results.map((r) => (r.kind === 'frame' ? `frame ${fingerprint(r.value)}` : `error ${r.error.code} ${r.fatal}`));
}

/** Feed a stream to a decoder in the given chunk sizes (cycled); every result must be typed. */
function feed(stream: Uint8Array, sizes: number[], maxFrameBytes: number): { results: FrameResult[]; end: CosignerError | null } {
  const d = new FrameDecoder({ maxFrameBytes });
  const results: FrameResult[] = [];
  let off = 0;
  for (let i = 0; off < stream.length; i++) {
    const n = sizes[i % sizes.length]!;
    let out: FrameResult[];
    try {
      out = d.push(stream.subarray(off, off + n));
    } catch (e) {
      violation(`FrameDecoder.push threw: ${String(e).slice(0, 200)}`);
    }
    for (const r of out) if (r.kind === 'error' && !(r.error instanceof CosignerError)) violation('FrameDecoder gave an untyped error');
    results.push(...out);
    off += n;
  }
  const end = d.end();
  if (end !== null && !(end instanceof CosignerError)) violation('FrameDecoder.end gave an untyped error');
  if (d.bufferedBytes > maxFrameBytes + stream.length) violation('decoder buffers more than one frame plus a chunk');
  return { results, end };
}

/** A stream of frames (valid envelopes, raw hostile bodies), then mutated as a whole. */
function frameStream(): fc.Arbitrary<Uint8Array> {
  const frameOf = (body: Uint8Array) => {
    const f = new Uint8Array(4 + body.length);
    new DataView(f.buffer).setUint32(0, body.length);
    f.set(body, 4);
    return f;
  };
  const oneFrame = fc.oneof(
    { weight: 4, arbitrary: validEnvelope().map((v) => encodeFrame(v)) },
    { weight: 1, arbitrary: hostileCbor().map(frameOf) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map(frameOf) },
  );
  return mutated(fc.array(oneFrame, { minLength: 1, maxLength: 4 }).map((fs) => concatBytes(...fs)));
}

export const frameDecoderTarget: FuzzTarget = {
  name: 'channel.frame-decoder',
  weight: 40,
  input: frameStream(),
  check(stream) {
    // The bound is checked from the header alone; a small maximum exercises FRAME_TOO_LARGE too.
    const max = stream.length % 3 === 0 ? 64 : 1024 * 1024;
    typedOnly(stream, () => {
      const whole = feed(stream, [stream.length || 1], max);
      const split = feed(stream, [1, 7, 3, 64], max);
      // Any split of the same bytes gives the same frames, errors and end state.
      if (summary(whole.results).join('\n') !== summary(split.results).join('\n') || whole.end?.code !== split.end?.code) {
        violation('chunking changed what the decoder returned');
      }
      for (const r of whole.results) if (r.kind === 'frame') parseEnvelopeValue(r.value);
    });
  },
};

/** One frame body: cbor-x decoding and then the envelope and message schemas. */
export const envelopeTarget: FuzzTarget = {
  name: 'channel.cbor-envelope',
  weight: 12,
  input: mutated(validEnvelope().map((v) => encodeCbor(v)), [hostileCbor()]),
  check(body) {
    typedOnly(body, () => {
      let value: unknown;
      try {
        value = decodeFrameBody(body);
      } catch (e) {
        requireTyped(e, ['FRAME_NOT_CBOR']);
        return;
      }
      parseEnvelopeValue(value);
    });
  },
};

/** Round trip: a valid value encodes to a frame whose decoding equals it, and re-encodes identically. */
export const frameRoundTripTarget: FuzzTarget = {
  name: 'channel.frame-roundtrip',
  weight: 5,
  input: validEnvelope(false).map((v) => encodeCbor(v)),
  check(body) {
    typedOnly(body, () => {
      const value = decodeFrameBody(body);
      const again = encodeFrame(value);
      if (!equalBytes(again.subarray(4), body)) violation('decode then encode changed the bytes');
      const [r] = new FrameDecoder().push(again);
      if (r?.kind !== 'frame' || fingerprint(r.value) !== fingerprint(value)) violation('frame did not decode to the value encoded');
    });
  },
};

/** Depth of nesting of a decoded value, walked without recursion. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v instanceof Uint8Array || typeof v !== 'object' || v === null) continue;
    max = Math.max(max, d + 1);
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, d + 1]);
  }
  return max;
}

/**
 * The project decoder (shared/cbor.ts): CBOR_INVALID and nothing else, never deeper than
 * MAX_CBOR_DEPTH whatever stack it runs on, and what its profile walker admits cbor-x decodes
 * (apart from non-text map keys, see below).
 */
export const cborDecodeTarget: FuzzTarget = {
  name: 'cbor.decode',
  weight: 6,
  input: mutated(wireValue(5).map((v) => encodeCbor(v)), [hostileCbor()]),
  check(input) {
    const r = typedOnly(input, () => decodeCbor(input), ['CBOR_INVALID']);
    if (r.ok && depthOf(r.value) > MAX_CBOR_DEPTH) violation(`decoded a value nested ${depthOf(r.value)} deep (limit ${MAX_CBOR_DEPTH})`);
    if (!r.ok) {
      let walkerAdmits = true;
      try { checkCborProfile(input); } catch { walkerAdmits = false; }
      // One known, harmless difference: the walker admits map keys of any type, and cbor-x (maps as
      // objects) refuses keys that are not text or numbers — still CBOR_INVALID, just later.
      const why = String((r.error.cause as Error | undefined)?.message);
      if (walkerAdmits && !why.startsWith('Invalid property name type')) violation(`the profile walker admitted an item cbor-x then refused (${why.slice(0, 80)})`);
    }
  },
};

export const channelTargets = [cborDecodeTarget, frameDecoderTarget, envelopeTarget, frameRoundTripTarget];
