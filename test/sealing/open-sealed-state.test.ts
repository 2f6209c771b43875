// The whole sealing path as it runs in production, on one machine: enclave KMS client → loopback
// vsock → parent KMS proxy (allowlist) → TCP → KMS emulator over HTTPS (TLS end to end from the
// enclave), Recipient documents from the NSM emulator, sealed file stored by the parent's store.
import { expect } from 'chai';
import { expectCosignerError } from '../support/expect-error.js';
import https from 'node:https';
import { readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { KMSClient, CreateKeyCommand } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { EnclaveKmsClient } from '../../enclave/kms/recipient-client.js';
import { openSealedState, type SealedFile } from '../../enclave/sealing/open-sealed-state.js';
import { SealedStore } from '../../parent/sealed-store.js';
import { startKmsProxy, type KmsProxy } from '../../parent/kms-proxy.js';
import { LoopbackTransport } from '../../shared/channel/loopback-transport.js';
import { PARENT_CID, type VsockTransport } from '../../shared/channel/transport.js';
import { encodeCbor } from '../../shared/cbor.js';
import { toHex } from '../../shared/bytes.js';
import { isCosignerError } from '../../shared/errors.js';
import { selfSignedTlsCertificate } from '../../emulators/kms/tls-cert.js';
import type { KmsEmulator } from '../../emulators/kms/server.js';
import { PARENT_CREDENTIAL, REGION, TestNsmPki, enclavePolicy, expectRejects, pcrsFor, startKmsEmulator, tempDir } from '../kms/support.js';

const PROXY_PORT = 8000;

describe('sealed state through KMS (enclave client, vsock proxy, TLS, emulators)', function () {
  let dir: ReturnType<typeof tempDir>;
  let nsm: TestNsmPki;
  let kms: KmsEmulator;
  let proxy: KmsProxy;
  let tlsCa: string;
  let admin: KMSClient;
  let transport: LoopbackTransport;
  /** Everything the parent's proxy saw going up from the enclave. */
  const relayed: Buffer[] = [];
  const good = pcrsFor('cosigner-image-v1');
  const other = pcrsFor('some-other-image');
  let goodKey: string;
  let otherKeyAllowingGood: string;

  function enclaveKms(pcrs: Map<number, Uint8Array>, endpointHost = 'localhost'): EnclaveKmsClient {
    return new EnclaveKmsClient({
      region: REGION,
      endpoint: `https://${endpointHost}:${kms.port}`,
      credentials: { accessKeyId: PARENT_CREDENTIAL.accessKeyId, secretAccessKey: PARENT_CREDENTIAL.secretAccessKey },
      connect: () => transport.connect(PARENT_CID, PROXY_PORT),
      attest: nsm.enclave(pcrs).attest,
      tlsCa,
    });
  }

  const initial = () => new Uint8Array(encodeCbor({ version: 1, secret: new Uint8Array(randomBytes(64)) }));

  async function boot(file: string, pcrs = good, keyId = goodKey) {
    const store = new SealedStore(file);
    const client = enclaveKms(pcrs);
    try {
      const opened = await openSealedState({ existing: await store.read(), kms: client, keyId, createInitialState: initial });
      if (opened.toStore) await store.create(opened.toStore);
      return opened;
    } finally {
      client.destroy();
    }
  }

  before(async () => {
    dir = tempDir('seal-e2e-');
    nsm = new TestNsmPki(join(dir.path, 'nsm'));
    const tls = await selfSignedTlsCertificate(['localhost', '127.0.0.1']);
    tlsCa = tls.cert;
    kms = await startKmsEmulator({ rootPem: nsm.rootPem, stateFile: join(dir.path, 'kms.json'), tls });
    const base = new LoopbackTransport({ dir: join(dir.path, 'vsock') });
    // Tap what crosses the parent, to show it is TLS and not readable JSON.
    const tapping: Pick<VsockTransport, 'listen'> = {
      listen: (cid, port, onConnection) => base.listen(cid, port, (s: Duplex) => {
        s.on('data', (c: Buffer) => relayed.push(Buffer.from(c)));
        onConnection(s);
      }),
    };
    transport = base;
    proxy = await startKmsProxy({ transport: tapping, port: PROXY_PORT, target: { host: '127.0.0.1', port: kms.port }, allowlist: [{ host: '127.0.0.1', port: kms.port }] });
    admin = new KMSClient({
      region: REGION,
      endpoint: kms.url,
      credentials: { accessKeyId: PARENT_CREDENTIAL.accessKeyId, secretAccessKey: PARENT_CREDENTIAL.secretAccessKey },
      requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: tlsCa }) }),
      maxAttempts: 1,
    });
    const policy = enclavePolicy({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': toHex(good.get(0)!) } });
    goodKey = (await admin.send(new CreateKeyCommand({ Policy: policy }))).KeyMetadata!.KeyId!;
    otherKeyAllowingGood = (await admin.send(new CreateKeyCommand({ Policy: policy }))).KeyMetadata!.KeyId!;
  });

  after(async () => {
    admin?.destroy();
    await proxy?.close();
    await kms?.close();
    dir?.remove();
  });

  it('first boot creates and stores; the next boot unseals the same state; the proxy only saw TLS', async () => {
    const file = join(dir.path, 'state-1.sealed');
    relayed.length = 0;
    const first = await boot(file);
    expect(first.toStore).to.not.equal(null);
    expect(existsSync(file)).to.equal(true);
    const second = await boot(file);
    expect(second.toStore).to.equal(null);
    expect(second.state).to.deep.equal(first.state);

    const wire = Buffer.concat(relayed);
    expect(wire.length).to.be.greaterThan(1000);
    expect(wire[0]).to.equal(0x16); // TLS handshake record
    expect(wire.includes('TrentService')).to.equal(false);
    expect(wire.includes(PARENT_CREDENTIAL.accessKeyId)).to.equal(false);
  });

  describe('a bad sealed file is SEALED_STATE_INVALID, produces nothing to store, and stays on disk untouched', () => {
    let good1: SealedFile;
    let good2: SealedFile;
    let foreignKey: SealedFile;
    before(async () => {
      const f1 = join(dir.path, 'src-1.sealed');
      const f2 = join(dir.path, 'src-2.sealed');
      good1 = (await boot(f1)).toStore!;
      good2 = (await boot(f2)).toStore!;
      const otherKeyFile = join(dir.path, 'src-3.sealed');
      foreignKey = (await boot(otherKeyFile, good, otherKeyAllowingGood)).toStore!;
    });

    const cases: Array<[string, () => SealedFile, RegExp]> = [
      ['corrupt sealed blob', () => ({ ...good1, sealed: flip(good1.sealed, 40) }), /authentication failed/],
      ['truncated sealed blob', () => ({ ...good1, sealed: good1.sealed.subarray(0, 20) }), /truncated/],
      ['foreign sealed blob (another data key)', () => ({ ...good1, sealed: good2.sealed }), /another data key/],
      ['bad magic', () => ({ ...good1, sealed: flip(good1.sealed, 0) }), /bad magic/],
      ['corrupt KMS ciphertext', () => ({ ...good1, kmsCiphertext: flip(good1.kmsCiphertext, good1.kmsCiphertext.length - 3) }), /KMS cannot decrypt/],
    ];
    for (const [name, make, reason] of cases) {
      it(name, async () => {
        const file = join(dir.path, `bad-${name.replace(/\W+/g, '-')}.sealed`);
        writeFileSync(file, encodeCbor(make()));
        await checkRefused(file, reason);
      });
    }

    it('data key from another KMS key (IncorrectKey: Decrypt pins KeyId)', async () => {
      const file = join(dir.path, 'bad-other-kms-key.sealed');
      writeFileSync(file, encodeCbor(foreignKey));
      await checkRefused(file, /another KMS key/);
    });

    async function checkRefused(file: string, reason: RegExp) {
      const bytes = readFileSync(file);
      const mtime = statSync(file).mtimeMs;
      const e = await expectRejects(boot(file));
      expect(isCosignerError(e, 'SEALED_STATE_INVALID'), String(e)).to.equal(true);
      expect(e.message).to.match(reason);
      expect(readFileSync(file).equals(bytes)).to.equal(true);
      expect(statSync(file).mtimeMs).to.equal(mtime);
    }
  });

  it("a key policy for another PCR0 → KMS_ACCESS_DENIED naming the mismatch, and nothing is stored", async () => {
    const file = join(dir.path, 'denied.sealed');
    const e = await expectRejects(boot(file, other));
    expect(isCosignerError(e, 'KMS_ACCESS_DENIED'), String(e)).to.equal(true);
    expect(e.message).to.contain(`PCR0 ${toHex(other.get(0)!)}`);
    expect(e.message).to.contain('kms:RecipientAttestation:ImageSha384');
    expect(e.message).to.contain(toHex(good.get(0)!));
    expect(e.details?.pcr0).to.equal(toHex(other.get(0)!));
    expect(existsSync(file)).to.equal(false);
  });

  it('TLS is checked: a wrong server name or an untrusted certificate fails; plain http needs an explicit opt-in', async () => {
    const wrongName = enclaveKms(good, 'kms.example.com');
    try {
      const e = await expectRejects(wrongName.generateDataKeyForRecipient(goodKey));
      expect(isCosignerError(e, 'KMS_ERROR'), String(e)).to.equal(true);
    } finally {
      wrongName.destroy();
    }
    const untrusted = new EnclaveKmsClient({
      region: REGION, endpoint: `https://localhost:${kms.port}`,
      credentials: { accessKeyId: PARENT_CREDENTIAL.accessKeyId, secretAccessKey: PARENT_CREDENTIAL.secretAccessKey },
      connect: () => transport.connect(PARENT_CID, PROXY_PORT), attest: nsm.enclave(good).attest,
    });
    try {
      const e = await expectRejects(untrusted.generateDataKeyForRecipient(goodKey));
      expect(isCosignerError(e, 'KMS_ERROR')).to.equal(true);
      expect(e.message).to.match(/certificate/i);
    } finally {
      untrusted.destroy();
    }
    expect(() => new EnclaveKmsClient({
      region: REGION, endpoint: 'http://localhost:1', credentials: { accessKeyId: 'AKIAX0000000000000000', secretAccessKey: 'x' },
      connect: () => transport.connect(PARENT_CID, PROXY_PORT), attest: nsm.enclave(good).attest,
    })).to.throw(/must be https/);
  });

  it('refuses credentials past their expiration before calling KMS (CREDENTIALS_EXPIRED), accepts unexpired ones', async () => {
    const make = (expiration: number) => new EnclaveKmsClient({
      region: REGION, endpoint: `https://localhost:${kms.port}`,
      credentials: { accessKeyId: PARENT_CREDENTIAL.accessKeyId, secretAccessKey: PARENT_CREDENTIAL.secretAccessKey, expiration },
      connect: () => transport.connect(PARENT_CID, PROXY_PORT), attest: nsm.enclave(good).attest, tlsCa,
    });
    for (const when of [1, Date.now() - 1000]) {
      expectCosignerError(() => make(when), 'CREDENTIALS_EXPIRED', /expired at/);
    }
    const fresh = make(Date.now() + 3_600_000);
    try {
      const key = await fresh.generateDataKeyForRecipient(goodKey);
      expect(key.plaintext.length).to.equal(32);
      key.plaintext.fill(0);
    } finally {
      fresh.destroy();
    }
  });
});

function flip(b: Uint8Array, i: number): Uint8Array {
  const c = new Uint8Array(b);
  c[i] ^= 0x01;
  return c;
}

describe('enclave KMS client over plain http (local emulator only, explicit opt-in)', () => {
  it('reaches the emulator through the proxy without TLS when allowPlainHttp is set', async () => {
    const dir = tempDir('seal-http-');
    const nsm = new TestNsmPki(join(dir.path, 'nsm'));
    const kms = await startKmsEmulator({ rootPem: nsm.rootPem, stateFile: null });
    const transport = new LoopbackTransport({ dir: join(dir.path, 'vsock') });
    const proxy = await startKmsProxy({ transport, port: PROXY_PORT, target: { host: '127.0.0.1', port: kms.port }, allowlist: [{ host: '127.0.0.1', port: kms.port }] });
    const pcrs = pcrsFor('plain-http-image');
    const admin = new KMSClient({ region: REGION, endpoint: kms.url, credentials: { accessKeyId: PARENT_CREDENTIAL.accessKeyId, secretAccessKey: PARENT_CREDENTIAL.secretAccessKey }, maxAttempts: 1 });
    const client = new EnclaveKmsClient({
      region: REGION, endpoint: kms.url, allowPlainHttp: true,
      credentials: { accessKeyId: PARENT_CREDENTIAL.accessKeyId, secretAccessKey: PARENT_CREDENTIAL.secretAccessKey },
      connect: () => transport.connect(PARENT_CID, PROXY_PORT), attest: nsm.enclave(pcrs).attest,
    });
    try {
      const policy = enclavePolicy({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR0': toHex(pcrs.get(0)!) } });
      const keyId = (await admin.send(new CreateKeyCommand({ Policy: policy }))).KeyMetadata!.KeyId!;
      const dk = await client.generateDataKeyForRecipient(keyId, { purpose: 't' });
      const again = await client.decryptForRecipient(dk.ciphertextBlob, { keyId, encryptionContext: { purpose: 't' } });
      expect(again.plaintext).to.deep.equal(dk.plaintext);
      expect(again.keyArn).to.equal(dk.keyArn);
      expect(dk.keyArn).to.match(new RegExp(`:key/${keyId}$`));
    } finally {
      client.destroy();
      admin.destroy();
      await proxy.close();
      await kms.close();
      dir.remove();
    }
  });
});
