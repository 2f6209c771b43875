import { expect } from 'chai';
import { encodeCbor } from '../../shared/cbor.js';
import { isCosignerError } from '../../shared/errors.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FrameDecoder,
  decodeFrameBody,
  encodeFrame,
  type FrameResult,
} from '../../shared/channel/frame.js';

function header(n: number): Uint8Array {
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, n, false);
  return h;
}

function raw(body: Uint8Array): Uint8Array {
  return new Uint8Array([...header(body.length), ...body]);
}

function values(results: FrameResult[]): unknown[] {
  return results.map((r) => {
    if (r.kind !== 'frame') throw new Error(`unexpected ${r.error.code}`);
    return r.value;
  });
}

function onlyError(results: FrameResult[]) {
  expect(results).to.have.length(1);
  const r = results[0]!;
  if (r.kind !== 'error') throw new Error('expected an error result');
  return r;
}

const samples: unknown[] = [
  { id: 1, type: 'echo', body: { text: 'hello' } },
  { id: 2, ok: true, body: { bytes: new Uint8Array([1, 2, 3]) } },
  [1, 'two', null, true],
  'x'.repeat(300),
  0,
];

describe('channel framing', () => {
  it('encodes a 4-byte big-endian length then exactly the CBOR body', () => {
    const value = { id: 7, type: 'echo', body: { text: 'hi' } };
    const frame = encodeFrame(value);
    const body = encodeCbor(value);
    expect(Array.from(frame.subarray(0, 4))).to.deep.equal([0, 0, 0, body.length]);
    expect(Array.from(frame.subarray(4))).to.deep.equal(Array.from(body));
    // Big-endian: 1000 bytes as a CBOR byte string is 0x59 0x03 0xe8 + 1000 = 1003 = 0x03eb.
    const big = encodeFrame(new Uint8Array(1000));
    expect(Array.from(big.subarray(0, 4))).to.deep.equal([0, 0, 0x03, 0xeb]);
  });

  it('round-trips several frames delivered in one chunk', () => {
    const all = new Uint8Array(samples.flatMap((s) => Array.from(encodeFrame(s))));
    const d = new FrameDecoder();
    expect(values(d.push(all))).to.deep.equal(samples);
    expect(d.bufferedBytes).to.equal(0);
    expect(d.end()).to.equal(null);
  });

  it('reassembles frames split at every possible byte boundary', () => {
    const all = new Uint8Array(samples.flatMap((s) => Array.from(encodeFrame(s))));
    for (let cut = 0; cut <= all.length; cut++) {
      const d = new FrameDecoder();
      const got = [...values(d.push(all.subarray(0, cut))), ...values(d.push(all.subarray(cut)))];
      expect(got, `cut at ${cut}`).to.deep.equal(samples);
    }
  });

  it('reassembles a stream fed one byte at a time', () => {
    const all = new Uint8Array(samples.flatMap((s) => Array.from(encodeFrame(s))));
    const d = new FrameDecoder();
    const got: unknown[] = [];
    for (const b of all) got.push(...values(d.push(new Uint8Array([b]))));
    expect(got).to.deep.equal(samples);
  });

  it('refuses an oversized length from the header alone, before the body arrives', () => {
    const d = new FrameDecoder({ maxFrameBytes: 100 });
    expect(values(d.push(raw(encodeCbor('ok'))))).to.deep.equal(['ok']);
    const r = onlyError(d.push(header(101))); // no body bytes at all
    expect(r.fatal).to.equal(true);
    expect(r.error.code).to.equal('FRAME_TOO_LARGE');
    expect(r.error.details).to.deep.include({ length: 101, max: 100 });
    // The decoder is stopped: nothing more is buffered or decoded.
    expect(d.push(raw(encodeCbor('later')))).to.deep.equal([]);
    expect(d.bufferedBytes).to.equal(0);
    expect(d.fatalError?.code).to.equal('FRAME_TOO_LARGE');
  });

  it('accepts a body of exactly the maximum size and uses 1 MiB by default', () => {
    const body = encodeCbor(new Uint8Array(95));
    const d = new FrameDecoder({ maxFrameBytes: body.length });
    expect(values(d.push(raw(body)))).to.have.length(1);
    expect(new FrameDecoder().maxFrameBytes).to.equal(DEFAULT_MAX_FRAME_BYTES);
    expect(DEFAULT_MAX_FRAME_BYTES).to.equal(1048576);
    const r = onlyError(new FrameDecoder().push(header(DEFAULT_MAX_FRAME_BYTES + 1)));
    expect(r.error.code).to.equal('FRAME_TOO_LARGE');
    expect(onlyError(new FrameDecoder().push(header(0xffffffff))).error.code).to.equal('FRAME_TOO_LARGE');
  });

  it('refuses to encode a frame larger than the maximum', () => {
    expect(() => encodeFrame('x'.repeat(200), { maxFrameBytes: 100 })).to.throw().that.satisfies((e: unknown) => isCosignerError(e, 'FRAME_TOO_LARGE'));
  });

  it('reports a zero-length frame as FRAME_NOT_CBOR and stays aligned', () => {
    const d = new FrameDecoder();
    const results = d.push(new Uint8Array([...header(0), ...raw(encodeCbor('next'))]));
    expect(results).to.have.length(2);
    expect(results[0]).to.include({ kind: 'error', fatal: false });
    expect((results[0] as { error: { code: string } }).error.code).to.equal('FRAME_NOT_CBOR');
    expect(results[1]).to.deep.equal({ kind: 'frame', value: 'next' });
  });

  const notCbor: Array<[string, number[]]> = [
    ['trailing bytes after one item', [0x01, 0x02]],
    ['two items', [...encodeCbor({ a: 1 }), ...encodeCbor({ b: 2 })]],
    ['a lone break code', [0xff]],
    ['a truncated item inside a complete frame', [0x82, 0x01]],
    ['a reserved additional-info value', [0x1c]],
    ['an array claiming 2^32 items', [0x9b, 0, 0, 0, 1, 0, 0, 0, 0]],
    ['a text string with invalid length', [0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
  ];
  for (const [name, body] of notCbor) {
    it(`reports ${name} as FRAME_NOT_CBOR (not fatal)`, () => {
      const d = new FrameDecoder();
      const results = d.push(new Uint8Array([...raw(new Uint8Array(body)), ...raw(encodeCbor(42))]));
      expect(results[0]).to.include({ kind: 'error', fatal: false });
      expect((results[0] as { error: { code: string } }).error.code).to.equal('FRAME_NOT_CBOR');
      expect(results[1]).to.deep.equal({ kind: 'frame', value: 42 });
    });
  }

  it('survives nesting deep enough to exhaust the stack and decodes normally afterwards', () => {
    const deep = new Uint8Array(DEFAULT_MAX_FRAME_BYTES).fill(0x81);
    expect(() => decodeFrameBody(deep)).to.throw().that.satisfies((e: unknown) => isCosignerError(e, 'FRAME_NOT_CBOR'));
    expect(decodeFrameBody(encodeCbor({ still: 'fine' }))).to.deep.equal({ still: 'fine' });
  });

  it('does not echo body bytes in the error message', () => {
    const secret = new TextEncoder().encode('supersecret');
    try {
      decodeFrameBody(new Uint8Array([...encodeCbor(1), ...secret]));
      expect.fail('should throw');
    } catch (e) {
      expect(isCosignerError(e, 'FRAME_NOT_CBOR')).to.equal(true);
      expect((e as Error).message).not.to.include('supersecret');
    }
  });

  it('reports FRAME_TRUNCATED when the stream ends inside a header or a body', () => {
    const inHeader = new FrameDecoder();
    inHeader.push(new Uint8Array([0, 0]));
    expect(inHeader.end()?.code).to.equal('FRAME_TRUNCATED');

    const frame = encodeFrame({ id: 1, type: 'x', body: null });
    const inBody = new FrameDecoder();
    expect(inBody.push(frame.subarray(0, frame.length - 1))).to.deep.equal([]);
    const err = inBody.end();
    expect(err?.code).to.equal('FRAME_TRUNCATED');
    expect(err?.details).to.deep.equal({ missing: 1 });

    const headerOnly = new FrameDecoder();
    headerOnly.push(header(10));
    expect(headerOnly.end()?.code).to.equal('FRAME_TRUNCATED');

    const clean = new FrameDecoder();
    clean.push(frame);
    expect(clean.end()).to.equal(null);
  });

  it('does not buffer beyond the maximum: a too-large frame fails on its first 4 bytes', () => {
    const d = new FrameDecoder({ maxFrameBytes: 16 });
    const results = d.push(new Uint8Array([...header(1 << 30), ...new Uint8Array(1000)]));
    expect(onlyError(results).error.code).to.equal('FRAME_TOO_LARGE');
    expect(d.bufferedBytes).to.equal(0);
  });

  it('rejects invalid maximum sizes', () => {
    for (const bad of [0, -1, 1.5, 2 ** 32]) {
      expect(() => new FrameDecoder({ maxFrameBytes: bad })).to.throw().that.satisfies((e: unknown) => isCosignerError(e, 'CONFIG_INVALID'));
    }
  });
});
