import { expect } from 'chai';
import * as s from '../../shared/schema.js';
import { isCosignerError } from '../../shared/errors.js';
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import { createLogger } from '../../shared/log.js';
import { Writable } from 'node:stream';

const Msg = s.struct({
  id: s.uint({ max: 2 ** 32 }),
  name: s.text({ max: 8 }),
  blob: s.bytes({ max: 4 }),
  big: s.biguint({ maxBytes: 2 }),
  note: s.optional(s.nullable(s.text({ max: 10 }))),
  list: s.array(s.bool(), { max: 2 }),
});

function rejects(v: unknown, fragment: string) {
  try {
    s.parse(Msg, v);
  } catch (e) {
    expect(isCosignerError(e, 'SCHEMA_VIOLATION'), String(e)).to.equal(true);
    expect((e as Error).message).to.contain(fragment);
    return;
  }
  expect.fail('accepted an invalid value');
}

describe('shared/schema', () => {
  const good = { id: 7, name: 'abc', blob: new Uint8Array([1, 2]), big: new Uint8Array([1, 0]), list: [true] };

  it('parses a valid value after a CBOR round trip', () => {
    const v = s.parse(Msg, decodeCbor(encodeCbor(good)));
    expect(v.id).to.equal(7);
    expect(v.big).to.equal(256n);
    expect(v.note).to.equal(undefined);
    expect(s.parse(Msg, { ...good, note: null }).note).to.equal(null);
  });

  it('rejects extra fields, missing fields and wrong types with the path', () => {
    rejects({ ...good, extra: 1 }, 'unexpected field "extra"');
    const { name: _n, ...noName } = good;
    rejects(noName, 'missing field "name"');
    rejects({ ...good, id: '7' }, 'id: expected unsigned integer');
    rejects({ ...good, id: -1 }, 'id: expected unsigned integer');
    rejects({ ...good, id: 1.5 }, 'id: expected unsigned integer');
    rejects({ ...good, blob: [1, 2] }, 'blob: expected bytes');
    rejects({ ...good, blob: new Uint8Array(5) }, 'blob: expected at most 4 bytes');
    rejects({ ...good, big: new Uint8Array([0, 1]) }, 'leading zero');
    rejects({ ...good, big: new Uint8Array(3) }, 'longer than 2 bytes');
    rejects({ ...good, list: [true, false, true] }, 'list: expected at most 2 items');
    rejects({ ...good, list: [1] }, 'list[0]: expected bool');
    rejects({ ...good, note: 5 }, 'note: expected text');
    rejects([good], 'expected map');
    rejects(null, 'expected map');
  });

  it('does not carry prototype keys through', () => {
    const evil = JSON.parse('{"__proto__": {"polluted": true}, "id": 1}');
    rejects({ ...evil }, 'unexpected field');
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });

  it('dispatches unions on the discriminant and rejects unknown tags', () => {
    const U = s.union('type', {
      a: s.struct({ type: s.literal('a'), x: s.uint() }),
      b: s.struct({ type: s.literal('b'), y: s.text() }),
    });
    expect(s.parse(U, { type: 'b', y: 'z' })).to.deep.equal({ type: 'b', y: 'z' });
    expect(() => s.parse(U, { type: 'c' })).to.throw(/unknown type/);
    expect(() => s.parse(U, { type: 'a', y: 'z' })).to.throw(/unexpected field/);
  });
});

describe('shared/log redaction', () => {
  it('redacts secret-named fields at the top level and two levels down', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    const log = createLogger('t', { level: 'info', destination: sink });
    log.info({ secretAccessKey: 'S1', boot: { credentials: { secretAccessKey: 'S2' } }, outer: { inner: { dataKey: 'S3' } } }, 'm');
    await new Promise((r) => setImmediate(r));
    const out = lines.join('');
    expect(out).to.contain('"m"');
    for (const s of ['S1', 'S2', 'S3']) expect(out).to.not.contain(s);
  });
});

describe('shared/schema uint', () => {
  it('refuses negative zero', () => {
    expect(() => s.parse(s.uint(), -0)).to.throw(/expected unsigned integer/);
  });
});
