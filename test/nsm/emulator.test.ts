// The NSM emulator end to end over its Unix socket, through the enclave's own NSM client.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openNsm } from '../../enclave/nsm/open-nsm.js';
import type { Nsm } from '../../enclave/nsm/nsm.js';
import { pinnedRootDer } from '../../shared/attestation/root-pin.js';
import { verifyAttestationDocument } from '../../shared/attestation/verify.js';
import { toHex } from '../../shared/bytes.js';
import { encodeCbor } from '../../shared/cbor.js';
import { isCosignerError } from '../../shared/errors.js';
import { decodeNsmResponse, encodeNsmRequest } from '../../shared/nsm/codec.js';
import { encodeNsmFrame, NsmFrameReader } from '../../shared/nsm/socket-framing.js';
import { EmulatedNsm } from '../../emulators/nsm/device.js';
import { bootPcrs } from '../../emulators/nsm/measure.js';
import { PcrBank } from '../../emulators/nsm/pcr-bank.js';
import { EmulatorPki } from '../../emulators/nsm/pki.js';
import { startNsmServer, type NsmServer } from '../../emulators/nsm/server.js';
import { expectCosignerRejection } from '../support/expect-error.js';

const sha384 = (...parts: Uint8Array[]) => {
  const h = createHash('sha384');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

async function expectNsmError(p: Promise<unknown>, name: string): Promise<void> {
  await expectCosignerRejection(p, 'NSM_ERROR', name);
}

/** Send raw frames on a fresh connection and collect the given number of raw responses. */
function rawExchange(socketPath: string, payload: Uint8Array, responses: number): Promise<{ frames: Uint8Array[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    const reader = new NsmFrameReader();
    const frames: Uint8Array[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no answer'));
    }, 5000);
    s.on('data', (c: Buffer) => {
      frames.push(...reader.push(c));
      if (frames.length >= responses) {
        clearTimeout(timer);
        s.destroy();
        resolve({ frames, closed: false });
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ frames, closed: true });
    });
    s.on('error', reject);
    s.write(payload);
  });
}

describe('NSM emulator over its socket', () => {
  let dir: string;
  let server: NsmServer;
  let nsm: Nsm;
  let rootPem: string;
  let rootFingerprint: string;
  let bundleRoot: string;
  const instanceId = 'i-0123456789abcdef0';
  const roleArn = 'arn:aws:iam::123456789012:role/cosigner';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-emu-'));
    // a bundle of its own, so edits elsewhere in the checkout cannot move the measurement mid-test
    bundleRoot = join(dir, 'bundle');
    mkdirSync(join(bundleRoot, 'enclave'), { recursive: true });
    mkdirSync(join(bundleRoot, 'shared'), { recursive: true });
    writeFileSync(join(bundleRoot, 'enclave', 'main.ts'), 'export const enclave = true;\n');
    writeFileSync(join(bundleRoot, 'shared', 'cbor.ts'), 'export const shared = true;\n');
    writeFileSync(join(bundleRoot, 'package-lock.json'), '{}\n');
    const pki = EmulatorPki.open({ stateDir: join(dir, 'state'), instanceId });
    const pcrs = new PcrBank(bootPcrs({ bundleRoot, instanceId, roleArn }));
    server = await startNsmServer({ socketPath: join(dir, 'nsm.sock'), nsm: new EmulatedNsm(pki, pcrs) });
    nsm = await openNsm({ emulatorSocket: server.socketPath });
    rootPem = readFileSync(join(dir, 'state', 'root.pem'), 'utf8');
    rootFingerprint = pki.rootFingerprint;
  });

  after(async () => {
    await nsm?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues documents that the production verifier accepts when pinned to the emulator root', async () => {
    const nonce = new Uint8Array(32).fill(0xab);
    const userData = new TextEncoder().encode('request 42');
    const publicKey = new Uint8Array(294).fill(3);
    const doc = await nsm.attestation({ nonce, userData, publicKey });
    // pinned the production way: by the SHA-256 of root.pem's DER
    const root = pinnedRootDer(rootPem, rootFingerprint);
    const d = await verifyAttestationDocument(doc, { root, expectedNonce: nonce, maxAgeMs: 60_000 });
    expect(d.moduleId).to.match(/^i-0123456789abcdef0-enc[0-9a-f]{16}$/);
    expect(toHex(d.userData!)).to.equal(toHex(userData));
    expect(toHex(d.publicKey!)).to.equal(toHex(publicKey));
    expect(d.debug).to.equal(false);
    expect(d.pcrs.size).to.equal(16);
    // PCR3 / PCR4 per the fixtures README formulas
    expect(toHex(d.pcrs.get(3)!)).to.equal(toHex(sha384(new Uint8Array(48), new TextEncoder().encode(roleArn))));
    expect(toHex(d.pcrs.get(4)!)).to.equal(toHex(sha384(new Uint8Array(48), new TextEncoder().encode(instanceId))));
    // PCR0/1/2 are the measurement of the bundle being served
    const measured = bootPcrs({ bundleRoot, instanceId });
    for (const i of [0, 1, 2]) expect(toHex(d.pcrs.get(i)!), `PCR${i}`).to.equal(toHex(measured.get(i)!));
  });

  it('documents carry nulls for absent fields and verify with expected PCR0 from DescribePCR', async () => {
    const pcr0 = await nsm.describePcr(0);
    expect(pcr0.locked).to.equal(true);
    const doc = await nsm.attestation({});
    const d = await verifyAttestationDocument(doc, { root: rootPem, expectedPcrs: { 0: pcr0.data } });
    expect(d.nonce).to.equal(null);
    expect(d.userData).to.equal(null);
    expect(d.publicKey).to.equal(null);
  });

  it('a tampered emulator document fails verification', async () => {
    const doc = await nsm.attestation({ nonce: new Uint8Array([1]) });
    for (const pos of [10, Math.floor(doc.length / 2), doc.length - 1]) {
      const bad = new Uint8Array(doc);
      bad[pos]! ^= 0x04;
      let rejected = false;
      await verifyAttestationDocument(bad, { root: rootPem }).catch((e) => {
        rejected = isCosignerError(e, 'ATTESTATION_INVALID');
      });
      expect(rejected, `byte ${pos}`).to.equal(true);
    }
  });

  it('a document from the emulator is refused under the AWS root', async () => {
    const doc = await nsm.attestation({});
    const { AWS_NITRO_ROOT_G1_PEM } = await import('../../shared/attestation/aws-root.js');
    await verifyAttestationDocument(doc, { root: AWS_NITRO_ROOT_G1_PEM }).then(
      () => expect.fail('accepted'),
      (e) => expect((e as Error).message).to.match(/cabundle\[0\] is not the pinned root/),
    );
  });

  it('extends application PCRs as SHA384(old ‖ data) and locks them', async () => {
    const before = await nsm.describePcr(17);
    expect(before.locked).to.equal(false);
    expect(toHex(before.data)).to.equal('00'.repeat(48));
    const data = new TextEncoder().encode('enclave config v1');
    const after1 = await nsm.extendPcr(17, data);
    expect(toHex(after1)).to.equal(toHex(sha384(new Uint8Array(48), data)));
    const after2 = await nsm.extendPcr(17, data);
    expect(toHex(after2)).to.equal(toHex(sha384(after1, data)));
    expect(toHex((await nsm.describePcr(17)).data)).to.equal(toHex(after2));
    await nsm.lockPcr(17);
    expect((await nsm.describePcr(17)).locked).to.equal(true);
    await expectNsmError(nsm.extendPcr(17, data), 'ReadOnlyIndex');
    expect(toHex((await nsm.describePcr(17)).data)).to.equal(toHex(after2)); // unchanged
    // a locked application PCR appears in later documents
    const d = await verifyAttestationDocument(await nsm.attestation({}), { root: rootPem, expectedPcrs: { 17: after2 } });
    expect(d.pcrs.has(17)).to.equal(true);
    expect(d.pcrs.has(18)).to.equal(false);
  });

  it('boot PCRs 0–15 are read-only; indexes past 31 are invalid', async () => {
    await expectNsmError(nsm.extendPcr(0, new Uint8Array([1])), 'ReadOnlyIndex');
    await expectNsmError(nsm.extendPcr(15, new Uint8Array([1])), 'ReadOnlyIndex');
    // bypass the client's own index check to see the device's answer
    const r = await rawExchange(server.socketPath, encodeNsmFrame(encodeNsmRequest({ kind: 'DescribePCR', index: 32 })), 1);
    expect(decodeNsmResponse(r.frames[0]!)).to.deep.equal({ kind: 'Error', error: 'InvalidIndex' });
    const l = await rawExchange(server.socketPath, encodeNsmFrame(encodeNsmRequest({ kind: 'LockPCRs', range: 33 })), 1);
    expect(decodeNsmResponse(l.frames[0]!)).to.deep.equal({ kind: 'Error', error: 'InvalidIndex' });
  });

  it('LockPCRs locks [0, range) and DescribeNSM lists the locked PCRs', async () => {
    const r = await rawExchange(
      server.socketPath,
      new Uint8Array([...encodeNsmFrame(encodeNsmRequest({ kind: 'LockPCRs', range: 20 })), ...encodeNsmFrame(encodeNsmRequest({ kind: 'DescribeNSM' }))]),
      2,
    );
    expect(decodeNsmResponse(r.frames[0]!)).to.deep.equal({ kind: 'LockPCRs' });
    const desc = decodeNsmResponse(r.frames[1]!);
    if (desc.kind !== 'DescribeNSM') throw new Error(desc.kind);
    expect(desc.maxPcrs).to.equal(32);
    expect(desc.digest).to.equal('SHA384');
    expect(desc.lockedPcrs).to.deep.equal([...Array(20).keys()]);
    expect(desc.moduleId).to.match(/^i-0123456789abcdef0-enc/);
    await expectNsmError(nsm.extendPcr(19, new Uint8Array([1])), 'ReadOnlyIndex');
    expect(toHex(await nsm.extendPcr(20, new Uint8Array([1])))).to.have.length(96);
  });

  it('GetRandom returns 256 fresh bytes a call', async () => {
    const a = await nsm.getRandom();
    const b = await nsm.getRandom();
    expect(a.length).to.equal(256);
    expect(toHex(a)).to.not.equal(toHex(b));
  });

  it('answers malformed requests with Error(InvalidArgument) and keeps serving the connection', async () => {
    const garbage = [new Uint8Array([0xff, 0x00]), encodeCbor('Hello'), encodeCbor({ DescribePCR: { index: 'x' } }), new Uint8Array(0)];
    const frames = garbage.map(encodeNsmFrame);
    const good = encodeNsmFrame(encodeNsmRequest({ kind: 'DescribePCR', index: 4 }));
    const r = await rawExchange(server.socketPath, new Uint8Array(Buffer.concat([...frames, good])), garbage.length + 1);
    for (let i = 0; i < garbage.length; i++) expect(decodeNsmResponse(r.frames[i]!)).to.deep.equal({ kind: 'Error', error: 'InvalidArgument' });
    const last = decodeNsmResponse(r.frames[garbage.length]!);
    expect(last.kind).to.equal('DescribePCR');
  });

  it('answers oversized attestation fields with Error(InputTooLarge)', async () => {
    const req = encodeNsmRequest({ kind: 'Attestation', userData: new Uint8Array(1025), nonce: null, publicKey: null });
    const r = await rawExchange(server.socketPath, encodeNsmFrame(req), 1);
    expect(decodeNsmResponse(r.frames[0]!)).to.deep.equal({ kind: 'Error', error: 'InputTooLarge' });
    // the client refuses before sending
    await expectNsmError(nsm.attestation({ nonce: new Uint8Array(1025) }), 'InputTooLarge');
  });

  it('answers an oversized frame with InputTooLarge, closes that connection, and keeps serving others', async () => {
    const header = new Uint8Array([0x00, 0x10, 0x00, 0x00]); // 1 MiB announced
    const r = await rawExchange(server.socketPath, header, 2);
    expect(r.closed).to.equal(true);
    expect(decodeNsmResponse(r.frames[0]!)).to.deep.equal({ kind: 'Error', error: 'InputTooLarge' });
    expect((await nsm.describePcr(1)).locked).to.equal(true);
  });

  it('fails cleanly when the emulator socket does not exist', async () => {
    await openNsm({ emulatorSocket: join(dir, 'absent.sock') }).then(
      () => expect.fail('connected'),
      (e) => expect(isCosignerError(e, 'NSM_ERROR')).to.equal(true),
    );
  });
});
