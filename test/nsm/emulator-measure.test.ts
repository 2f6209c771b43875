// PCR0/1/2 follow the enclave bundle: the formula documented in emulators/nsm/measure.ts,
// recomputed here independently, and any change to a bundle file changes the measurement.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { toHex } from '../../shared/bytes.js';
import { bootPcrs, bundleFiles } from '../../emulators/nsm/measure.js';
import { buildChain } from '../attestation/chain-builder.js';

function sha384(...parts: (Uint8Array | string)[]): Buffer {
  const h = createHash('sha384');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The documented formula, written out again from its comment. */
function expectedPcrs(files: Record<string, string>): { pcr0: string; pcr1: string; pcr2: string } {
  const paths = Object.keys(files).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const records = paths.map((p) => {
    const path = Buffer.from(p);
    const content = Buffer.from(files[p]!);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(path.length);
    const clen = Buffer.alloc(8);
    clen.writeBigUInt64BE(BigInt(content.length));
    return Buffer.concat([len, path, clen, content]);
  });
  const b = sha384(Buffer.concat(records));
  const zero = Buffer.alloc(48);
  return {
    pcr0: toHex(sha384(zero, b)),
    pcr1: toHex(sha384(zero, sha384('nitro-cosigner emulated PCR1: kernel and boot ramfs', b))),
    pcr2: toHex(sha384(zero, sha384('nitro-cosigner emulated PCR2: user application', b))),
  };
}

describe('NSM emulator measurement', () => {
  let root: string;
  const files: Record<string, string> = {
    'enclave/main.ts': 'export const main = 1;\n',
    'enclave/nsm/client.ts': 'export {};\n',
    'shared/cbor.ts': 'export const c = 2;\n',
    'package-lock.json': '{"lockfileVersion":3}\n',
  };
  const write = (rel: string, content: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  };
  const measure = (extra: { debug?: boolean } = {}) => {
    const p = bootPcrs({ bundleRoot: root, instanceId: 'i-0123456789abcdef0', ...extra });
    return { pcr0: toHex(p.get(0)!), pcr1: toHex(p.get(1)!), pcr2: toHex(p.get(2)!), all: p };
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nsm-bundle-'));
    for (const [rel, content] of Object.entries(files)) write(rel, content);
    write('parent/daemon.ts', 'not part of the enclave\n');
    write('README.md', 'outside the bundle\n');
  });
  afterEach(() => { if (root) rmSync(root, { recursive: true, force: true }); });

  it('lists exactly enclave/, shared/ and package-lock.json, sorted', () => {
    expect(bundleFiles(root)).to.deep.equal(['enclave/main.ts', 'enclave/nsm/client.ts', 'package-lock.json', 'shared/cbor.ts']);
  });

  it('computes PCR0/1/2 by the documented formula', () => {
    const m = measure();
    expect({ pcr0: m.pcr0, pcr1: m.pcr1, pcr2: m.pcr2 }).to.deep.equal(expectedPcrs(files));
    expect(new Set([m.pcr0, m.pcr1, m.pcr2]).size).to.equal(3);
  });

  it('changes PCR0/1/2 when one byte of an enclave file changes, and is stable otherwise', () => {
    const a = measure();
    expect(measure()).to.deep.equal(a);
    write('enclave/main.ts', 'export const main = 2;\n');
    const b = measure();
    expect(b.pcr0).to.not.equal(a.pcr0);
    expect(b.pcr1).to.not.equal(a.pcr1);
    expect(b.pcr2).to.not.equal(a.pcr2);
    expect({ pcr0: b.pcr0, pcr1: b.pcr1, pcr2: b.pcr2 }).to.deep.equal(expectedPcrs({ ...files, 'enclave/main.ts': 'export const main = 2;\n' }));
  });

  it('changes when a shared file or the lock file changes, a file is added or renamed', () => {
    const base = measure().pcr0;
    write('shared/cbor.ts', 'export const c = 3;\n');
    expect(measure().pcr0).to.not.equal(base);
    write('shared/cbor.ts', files['shared/cbor.ts']!);
    expect(measure().pcr0).to.equal(base);
    write('package-lock.json', '{"lockfileVersion":2}\n');
    expect(measure().pcr0).to.not.equal(base);
    write('package-lock.json', files['package-lock.json']!);
    write('shared/new.ts', '');
    expect(measure().pcr0).to.not.equal(base);
    rmSync(join(root, 'shared/new.ts'));
    renameSync(join(root, 'enclave/main.ts'), join(root, 'enclave/main2.ts'));
    expect(measure().pcr0).to.not.equal(base);
  });

  it('ignores files outside the bundle', () => {
    const base = measure().pcr0;
    write('parent/daemon.ts', 'changed\n');
    write('README.md', 'changed\n');
    expect(measure().pcr0).to.equal(base);
  });

  it('debug mode reports zero PCR0/1/2/8 and keeps PCR4', () => {
    const cert = buildChain().leaf.der;
    const m = bootPcrs({ bundleRoot: root, instanceId: 'i-0123456789abcdef0', debug: true, signingCertificate: cert });
    for (const i of [0, 1, 2, 8]) expect(toHex(m.get(i)!)).to.equal('00'.repeat(48));
    expect(toHex(m.get(4)!)).to.equal(toHex(sha384(Buffer.alloc(48), 'i-0123456789abcdef0')));
  });

  it('PCR3 from the role ARN, PCR8 from the signing certificate, zero when not configured', () => {
    const plain = measure().all;
    expect(toHex(plain.get(3)!)).to.equal('00'.repeat(48));
    expect(toHex(plain.get(8)!)).to.equal('00'.repeat(48));
    const cert = buildChain().leaf.der;
    const m = bootPcrs({ bundleRoot: root, instanceId: 'i-0123456789abcdef0', roleArn: 'arn:aws:iam::1:role/r', signingCertificate: cert });
    expect(toHex(m.get(3)!)).to.equal(toHex(sha384(Buffer.alloc(48), 'arn:aws:iam::1:role/r')));
    expect(toHex(m.get(8)!)).to.equal(toHex(sha384(Buffer.alloc(48), sha384(cert))));
  });
});
