// The enclave's NSM-emulator device: after a timeout it reconnects for the next request instead of
// failing forever, and close() is final.
import { expect } from 'chai';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SocketNsmDevice } from '../../enclave/nsm/socket-nsm-device.js';
import { NsmFrameReader, encodeNsmFrame } from '../../shared/nsm/socket-framing.js';
import { expectCosignerRejection } from '../support/expect-error.js';

describe('enclave NSM emulator socket device', () => {
  it('times out, reconnects for the next request, and refuses requests after close()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsmdev-'));
    const path = join(dir, 'nsm.sock');
    let connections = 0;
    // The first connection never answers; later ones echo each request back reversed.
    const server = net.createServer((s) => {
      const n = ++connections;
      const reader = new NsmFrameReader();
      s.on('error', () => undefined);
      s.on('data', (chunk: Buffer) => {
        for (const f of reader.push(chunk)) if (n > 1) s.write(encodeNsmFrame(new Uint8Array([...f].reverse())));
      });
    });
    await new Promise<void>((r) => server.listen(path, () => r()));
    try {
      const dev = await SocketNsmDevice.connect(path, { timeoutMs: 200 });
      await expectCosignerRejection(dev.request(new Uint8Array([1, 2, 3])), 'NSM_ERROR', /did not answer/);
      expect([...(await dev.request(new Uint8Array([1, 2, 3])))]).to.deep.equal([3, 2, 1]);
      expect(connections).to.equal(2);
      await dev.close();
      await expectCosignerRejection(dev.request(new Uint8Array([4])), 'NSM_ERROR', /closed/);
      expect(connections).to.equal(2);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
