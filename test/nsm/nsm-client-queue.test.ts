// The enclave's NSM client queues calls for the device (one at a time): the enclave's own calls go
// first, the parent's are bounded and dropped when the connection that asked closes, so a parent
// flooding GetAttestation and hanging up can delay no one but itself (and never Boot).
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NsmClient, DEFAULT_MAX_QUEUED_PEER_CALLS, type NsmDevice } from '../../enclave/nsm/nsm.js';
import { EmulatorPki } from '../../emulators/nsm/pki.js';
import { EmulatedNsm } from '../../emulators/nsm/device.js';
import { bootPcrs } from '../../emulators/nsm/measure.js';
import { PcrBank } from '../../emulators/nsm/pcr-bank.js';
import { decodeNsmRequest } from '../../shared/nsm/codec.js';
import { expectCosignerRejection } from '../support/expect-error.js';

/** The real NSM emulator behind a gate: each request waits until the test lets it through. */
class GatedDevice implements NsmDevice {
  readonly seen: string[] = [];
  private gates: Array<() => void> = [];
  constructor(private readonly nsm: EmulatedNsm) {}
  async request(raw: Uint8Array): Promise<Uint8Array> {
    const req = decodeNsmRequest(raw);
    this.seen.push(req.kind === 'Attestation' ? `Attestation:${req.nonce ? new TextDecoder().decode(req.nonce) : ''}` : req.kind);
    await new Promise<void>((r) => this.gates.push(r));
    return this.nsm.handle(raw);
  }
  get waiting(): number {
    return this.gates.length;
  }
  open(): void {
    this.gates.shift()?.();
  }
  async close(): Promise<void> {}
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).to.equal(true);
}

describe('enclave NSM client queue', () => {
  let dir: string | undefined;
  let device: GatedDevice;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-queue-'));
    const pki = EmulatorPki.open({ stateDir: join(dir, 'state') });
    mkdirSync(join(dir, 'bundle', 'enclave'), { recursive: true });
    writeFileSync(join(dir, 'bundle', 'enclave', 'main.ts'), 'export {};\n');
    device = new GatedDevice(new EmulatedNsm(pki, new PcrBank(bootPcrs({ bundleRoot: join(dir, 'bundle'), instanceId: pki.identity.instanceId }))));
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const nonce = (s: string) => new TextEncoder().encode(s);

  it("runs the enclave's own calls before waiting peer calls", async () => {
    const nsm = new NsmClient(device);
    const peer = [1, 2, 3].map((i) => nsm.attestation({ nonce: nonce(`peer${i}`) }, { priority: 'peer' }));
    await until(() => device.waiting === 1); // peer1 is on the device
    const boot = nsm.attestation({ nonce: nonce('boot') }); // default priority: enclave
    const pcr = nsm.describePcr(0);
    while (device.seen.length < 5) {
      await until(() => device.waiting === 1);
      device.open();
    }
    device.open();
    await Promise.all([...peer, boot, pcr]);
    expect(device.seen).to.deep.equal(['Attestation:peer1', 'Attestation:boot', 'DescribePCR', 'Attestation:peer2', 'Attestation:peer3']);
  });

  it('refuses peer calls beyond the bound with NSM_BUSY, never enclave calls', async () => {
    const nsm = new NsmClient(device, { maxQueuedPeerCalls: 3 });
    const running = nsm.attestation({ nonce: nonce('first') }, { priority: 'peer' });
    await until(() => device.waiting === 1);
    const queued = [1, 2, 3].map((i) => nsm.attestation({ nonce: nonce(`q${i}`) }, { priority: 'peer' }));
    await expectCosignerRejection(nsm.attestation({ nonce: nonce('one too many') }, { priority: 'peer' }), 'NSM_BUSY');
    const own = nsm.getRandom(); // not bounded
    expect(nsm.queued).to.deep.equal({ enclave: 1, peer: 3 });
    for (let i = 0; i < 5; i++) {
      await until(() => device.waiting === 1);
      device.open();
    }
    await Promise.all([running, ...queued, own]);
    expect(DEFAULT_MAX_QUEUED_PEER_CALLS).to.be.greaterThan(0);
  });

  it('drops queued peer calls whose connection closed, without sending them to the device', async () => {
    const nsm = new NsmClient(device);
    const gone = new AbortController();
    const first = nsm.attestation({ nonce: nonce('live') }, { priority: 'peer' });
    await until(() => device.waiting === 1);
    const orphans = [1, 2, 3, 4].map((i) => nsm.attestation({ nonce: nonce(`orphan${i}`) }, { priority: 'peer', signal: gone.signal }));
    expect(nsm.queued.peer).to.equal(4);
    gone.abort();
    for (const o of orphans) await expectCosignerRejection(o, 'REQUEST_ABORTED');
    expect(nsm.queued.peer).to.equal(0);
    await expectCosignerRejection(nsm.attestation({ nonce: nonce('late') }, { priority: 'peer', signal: gone.signal }), 'REQUEST_ABORTED');
    const after = nsm.attestation({ nonce: nonce('after') }, { priority: 'peer' });
    device.open();
    await until(() => device.waiting === 1);
    device.open();
    await Promise.all([first, after]);
    expect(device.seen).to.deep.equal(['Attestation:live', 'Attestation:after']);
  });
});
