import { expect } from 'chai';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { DevNsmDevice, NSM_IOCTL_RAW, NsmRaw } from '../../enclave/nsm/dev-nsm-device.js';
import { openNsm } from '../../enclave/nsm/open-nsm.js';
import { expectCosignerRejection } from '../support/expect-error.js';

async function expectNsmError(p: Promise<unknown> | (() => unknown), pattern: RegExp): Promise<void> {
  await expectCosignerRejection(p, 'NSM_ERROR', pattern);
}

describe('/dev/nsm device (koffi)', () => {
  it('lays out struct nsm_raw as two {u64 addr, u64 len} pairs: 32 bytes', () => {
    expect(koffi.sizeof(NsmRaw)).to.equal(32);
    expect(koffi.offsetof(NsmRaw, 'request')).to.equal(0);
    expect(koffi.offsetof(NsmRaw, 'response')).to.equal(16);
    // and in native memory: little-endian u64 addr, len, addr, len
    const mem = koffi.alloc(NsmRaw, 1);
    try {
      koffi.encode(mem, NsmRaw, { request: { addr: 0x1122334455667788n, len: 5n }, response: { addr: 0x0102030405060708n, len: 0x3000n } });
      const bytes = Buffer.from(koffi.view(mem, 32));
      expect(bytes.readBigUInt64LE(0)).to.equal(0x1122334455667788n);
      expect(bytes.readBigUInt64LE(8)).to.equal(5n);
      expect(bytes.readBigUInt64LE(16)).to.equal(0x0102030405060708n);
      expect(bytes.readBigUInt64LE(24)).to.equal(0x3000n);
    } finally {
      koffi.free(mem);
    }
  });

  it('uses NSM_IOCTL_RAW = _IOWR(0x0A, 0, 32 bytes)', () => {
    const IOC_READ_WRITE = 3;
    const ioWR = (type: number, nr: number, size: number) => ((IOC_READ_WRITE << 30) | (size << 16) | (type << 8) | nr) >>> 0;
    expect(NSM_IOCTL_RAW).to.equal(ioWR(0x0a, 0, koffi.sizeof(NsmRaw)));
    expect(NSM_IOCTL_RAW).to.equal(0xc0200a00);
  });

  it('gives a clear NSM_ERROR when the device is absent', async () => {
    // A path that cannot exist stands for /dev/nsm outside an enclave, so this runs everywhere.
    const missing = join(tmpdir(), `no-nsm-${process.pid}`, 'nsm');
    await expectNsmError(() => DevNsmDevice.open(missing), /no-nsm-\d+\/nsm does not exist: not running inside a Nitro Enclave/);
    await expectNsmError(openNsm({ devicePath: missing }), /does not exist/);
  });

  it('reports the ioctl failing on a device that is not the NSM', async () => {
    const dev = DevNsmDevice.open('/dev/null');
    try {
      await expectNsmError(dev.request(new Uint8Array([0x69, 0x47])), /ioctl NSM_IOCTL_RAW failed/);
    } finally {
      await dev.close();
    }
    await expectNsmError(dev.request(new Uint8Array([1])), /closed/);
  });
});
