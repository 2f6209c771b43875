// The emulator's documents have the real NSM layout: compared item by item with a recorded
// production document (header bytes, key order, CBOR major types, sizes).
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCoseSign1 } from '../../shared/attestation/cose.js';
import { toHex } from '../../shared/bytes.js';
import { decodeNsmResponse, encodeNsmRequest } from '../../shared/nsm/codec.js';
import { EmulatedNsm } from '../../emulators/nsm/device.js';
import { bootPcrs } from '../../emulators/nsm/measure.js';
import { PcrBank } from '../../emulators/nsm/pcr-bank.js';
import { EmulatorPki } from '../../emulators/nsm/pki.js';
import { readFixtureDocument } from '../support/fixtures.js';

/** A minimal CBOR walker that reports the item shapes at the top of a payload map, in order. */
interface Shape {
  key: string;
  major: number;
  detail: string;
}

function headAt(b: Uint8Array, pos: number): { major: number; arg: number; next: number } {
  const ib = b[pos]!;
  const info = ib & 0x1f;
  let arg = info;
  let next = pos + 1;
  const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
  if (width) {
    arg = 0;
    for (let i = 0; i < width; i++) arg = arg * 256 + b[pos + 1 + i]!;
    next += width;
  }
  return { major: ib >> 5, arg, next };
}

function skip(b: Uint8Array, pos: number): number {
  const h = headAt(b, pos);
  if (h.major === 2 || h.major === 3) return h.next + h.arg;
  if (h.major === 4) {
    let p = h.next;
    for (let i = 0; i < h.arg; i++) p = skip(b, p);
    return p;
  }
  if (h.major === 5) {
    let p = h.next;
    for (let i = 0; i < 2 * h.arg; i++) p = skip(b, p);
    return p;
  }
  return h.next;
}

function payloadShapes(payload: Uint8Array): Shape[] {
  const top = headAt(payload, 0);
  expect(top.major).to.equal(5);
  const out: Shape[] = [];
  let p = top.next;
  for (let i = 0; i < top.arg; i++) {
    const k = headAt(payload, p);
    const key = new TextDecoder().decode(payload.subarray(k.next, k.next + k.arg));
    p = k.next + k.arg;
    const v = headAt(payload, p);
    let detail = '';
    if (key === 'pcrs') {
      const parts: string[] = [];
      let q = v.next;
      for (let j = 0; j < v.arg; j++) {
        const ik = headAt(payload, q);
        const iv = headAt(payload, ik.next);
        parts.push(`${ik.major}:${ik.arg}=${iv.major}/${iv.arg}`);
        q = skip(payload, ik.next);
      }
      detail = parts.join(',');
    } else if (key === 'cabundle') {
      const parts: string[] = [];
      let q = v.next;
      for (let j = 0; j < v.arg; j++) {
        parts.push(String(headAt(payload, q).major));
        q = skip(payload, q);
      }
      detail = `${v.arg}x[${parts.join(',')}]`;
    } else if (key === 'digest') detail = new TextDecoder().decode(payload.subarray(v.next, v.next + v.arg));
    else if (key === 'timestamp') detail = `width ${payload[p]! & 0x1f}`;
    out.push({ key, major: v.major, detail });
    p = skip(payload, p);
  }
  expect(p).to.equal(payload.length);
  return out;
}

describe('NSM emulator document layout vs a real document', () => {
  let dir: string;
  let nsm: EmulatedNsm;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-doc-'));
    const pki = EmulatorPki.open({ stateDir: join(dir, 'state') });
    mkdirSync(join(dir, 'bundle', 'enclave'), { recursive: true });
    writeFileSync(join(dir, 'bundle', 'enclave', 'main.ts'), 'export {};\n');
    nsm = new EmulatedNsm(pki, new PcrBank(bootPcrs({ bundleRoot: join(dir, 'bundle'), instanceId: pki.identity.instanceId })));
  });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const attest = (fields: { userData: Uint8Array | null; nonce: Uint8Array | null; publicKey: Uint8Array | null }) => {
    const resp = decodeNsmResponse(nsm.handle(encodeNsmRequest({ kind: 'Attestation', ...fields })));
    if (resp.kind !== 'Attestation') throw new Error(JSON.stringify(resp));
    return resp.document;
  };

  it('has the same COSE envelope bytes: untagged array, header a1013822, empty unprotected map, 96-byte signature', () => {
    const real = readFixtureDocument('production');
    const emu = attest({ userData: null, nonce: null, publicKey: null });
    expect(toHex(emu.subarray(0, 7))).to.equal(toHex(real.subarray(0, 7))); // 84 44 a1013822 a0
    expect(toHex(emu.subarray(0, 7))).to.equal('8444a1013822a0');
    const r = decodeCoseSign1(real);
    const e = decodeCoseSign1(emu);
    expect(e.tagged).to.equal(r.tagged).and.to.equal(false);
    expect(e.signature.length).to.equal(r.signature.length).and.to.equal(96);
    expect(toHex(emu.subarray(emu.length - 98, emu.length - 96))).to.equal(toHex(real.subarray(real.length - 98, real.length - 96))); // 5860
  });

  it('has the same payload keys in the same order, with the same CBOR types, PCR shape and cabundle shape', () => {
    const fill = new Uint8Array(1024).fill(1);
    const real = payloadShapes(decodeCoseSign1(readFixtureDocument('production')).payload);
    const emu = payloadShapes(decodeCoseSign1(attest({ userData: fill, nonce: fill, publicKey: fill })).payload);
    expect(emu.map((s) => s.key)).to.deep.equal(['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce']);
    expect(emu).to.deep.equal(real);
  });

  it('writes CBOR null for absent public_key, user_data and nonce, as the NSM does', () => {
    const emu = payloadShapes(decodeCoseSign1(attest({ userData: null, nonce: null, publicKey: null })).payload);
    expect(emu.slice(6).map((s) => [s.key, s.major])).to.deep.equal([
      ['public_key', 7],
      ['user_data', 7],
      ['nonce', 7],
    ]);
    const payload = decodeCoseSign1(attest({ userData: null, nonce: null, publicKey: null })).payload;
    // … "user_data": null, "nonce": null
    expect(toHex(payload.subarray(payload.length - 18))).to.equal('69757365725f64617461f6656e6f6e6365f6');
  });
});
