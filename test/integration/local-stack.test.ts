// The foundation issue's failure behaviour, shown on the real processes (NSM emulator, KMS
// emulator, enclave, parent) over the loopback vsock emulator, as `npm start` runs them.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateKeyCommand, DecryptCommand, GenerateDataKeyCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { LocalStack } from '../../scripts/stack.js';
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import { LoopbackTransport } from '../../shared/channel/loopback-transport.js';
import { RpcClient } from '../../shared/channel/rpc.js';
import { EnclaveMessages, ENCLAVE_RPC_PORT } from '../../shared/messages.js';
import { isCosignerError } from '../../shared/errors.js';
import { freePort } from '../support/net.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');


function snapshot(path: string): { bytes: string; mtimeMs: number } {
  return { bytes: readFileSync(path).toString('hex'), mtimeMs: statSync(path).mtimeMs };
}

/** JSON log line → object (the parent logs pino JSON). */
function logged(line: string): Record<string, unknown> {
  return JSON.parse(line) as Record<string, unknown>;
}

describe('local stack (separate processes, loopback vsock)', function () {
  this.timeout(240_000);
  let work: string;
  let stack: LocalStack;

  beforeEach(async () => {
    work = mkdtempSync(join(tmpdir(), 'cosigner-it-'));
    stack = new LocalStack({ root, workDir: work, kmsPort: await freePort() });
    await stack.startNsm();
    await stack.startKms();
    await stack.ensureKey();
  });

  afterEach(async () => {
    await stack.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(stack.socketDir, { recursive: true, force: true });
  });

  async function bootOnce(): Promise<Record<string, unknown>> {
    const from = stack.lineCount('parent');
    const line = await stack.waitFor('parent', /"msg":"ready"|enclave boot failed/, 120_000, from);
    return logged(line);
  }

  it('initialises on first boot, unseals the same state after the enclave is killed, and shows the PCRs', async () => {
    stack.startEnclave();
    await stack.waitFor('enclave', /enclave listening/);
    stack.startParent();
    const first = await bootOnce();
    expect(first.msg).to.equal('ready');
    expect(first.outcome).to.equal('initialised');
    const pcr0Line = await stack.waitFor('parent', /"msg":"PCR0 /);
    expect(logged(pcr0Line).msg).to.equal(`PCR0 ${stack.pcr0}`);
    const stored = snapshot(stack.sealedFile);

    // A crash, not a clean stop: the parent notices, reconnects when the enclave is back, and the
    // enclave unseals the state the parent kept (same identity key, file untouched).
    const mark = stack.lineCount('parent');
    await stack.stopProcess('enclave', 'SIGKILL');
    await stack.waitFor('parent', /enclave connection lost/, 30_000, mark);
    stack.startEnclave();
    const second = await bootOnce();
    expect(second.msg).to.equal('ready');
    expect(second.outcome).to.equal('unsealed');
    expect(second.identityPublicKey).to.equal(first.identityPublicKey);
    expect(snapshot(stack.sealedFile)).to.deep.equal(stored);
  });

  it("the parent's own credentials can neither rewrite the key policy nor open or make data keys", async () => {
    stack.startEnclave();
    stack.startParent();
    expect((await bootOnce()).outcome).to.equal('initialised');
    const file = decodeCbor(readFileSync(stack.sealedFile)) as { kmsCiphertext: Uint8Array };
    const asParent = stack.kmsClientAs(stack.credentials());
    const asAdmin = stack.kmsAdmin();
    const denied = async (p: Promise<unknown>, what: string) => {
      const e = await p.then(() => null, (err: unknown) => err as { name?: string; message?: string });
      expect(e?.name, what).to.equal('AccessDeniedException');
      return e!.message!;
    };
    try {
      // The review's attack: loosen the policy, decrypt the data key, restore. Step one already fails.
      const loose = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::111122223333:root` }, Action: 'kms:*', Resource: '*' }] });
      expect(await denied(asParent.send(new PutKeyPolicyCommand({ KeyId: stack.keyId, PolicyName: 'default', Policy: loose })), 'PutKeyPolicy as the parent'))
        .to.match(/role\/cosigner-parent is not authorized to perform: kms:PutKeyPolicy/);
      // Without an attested Recipient the parent cannot open the stored data key or make one.
      await denied(asParent.send(new DecryptCommand({ KeyId: stack.keyId, CiphertextBlob: file.kmsCiphertext })), 'Decrypt as the parent');
      await denied(asParent.send(new GenerateDataKeyCommand({ KeyId: stack.keyId, KeySpec: 'AES_256' })), 'GenerateDataKey as the parent');
      await denied(asParent.send(new CreateKeyCommand({ Description: 'planted' })), 'CreateKey as the parent');
      // The administrator manages the key but cannot use it either.
      await denied(asAdmin.send(new DecryptCommand({ KeyId: stack.keyId, CiphertextBlob: file.kmsCiphertext })), 'Decrypt as the administrator');
    } finally {
      asParent.destroy();
      asAdmin.destroy();
    }
    // The enclave still boots from the untouched state.
    const mark = stack.lineCount('parent');
    await stack.stopProcess('enclave', 'SIGKILL');
    await stack.waitFor('parent', /enclave connection lost/, 30_000, mark);
    stack.startEnclave();
    expect((await bootOnce()).outcome).to.equal('unsealed');
  });

  it('refuses to start when its state folder is missing, rather than treating it as a first boot', async () => {
    stack.startEnclave();
    const missing = join(work, 'unmounted-volume');
    stack.startParent(['--state-dir', missing]);
    await stack.waitFor('parent', /parent failed to start: CONFIG_INVALID: state folder .* does not exist/);
    expect(existsSync(missing)).to.equal(false);
    expect(stack.output('enclave').some((l) => /enclave state ready/.test(l))).to.equal(false);
  });

  it('retries a boot that failed for a passing reason (KMS unreachable) and succeeds once KMS is back', async () => {
    await stack.stopProcess('kms');
    stack.startEnclave();
    stack.startParent();
    const failed = await bootOnce();
    expect(String(failed.msg)).to.match(/enclave boot failed: KMS_ERROR/);
    await stack.waitFor('parent', /boot will be retried/);
    expect(existsSync(stack.sealedFile)).to.equal(false);
    await stack.startKms();
    const ready = logged(await stack.waitFor('parent', /"msg":"ready"/, 120_000));
    expect(ready.outcome).to.equal('initialised');
    expect(existsSync(stack.sealedFile)).to.equal(true);
  });

  it('refuses to start under a key policy for another PCR0, names the mismatch, and leaves the blob untouched', async () => {
    stack.startEnclave();
    stack.startParent();
    expect((await bootOnce()).outcome).to.equal('initialised');
    const stored = snapshot(stack.sealedFile);
    await stack.stop();

    // The operator's policy now names another image.
    await stack.startNsm();
    await stack.startKms();
    const kms = stack.kmsAdmin();
    await kms.send(new PutKeyPolicyCommand({ KeyId: stack.keyId, PolicyName: 'default', Policy: LocalStack.keyPolicy('ab'.repeat(48)) }));
    kms.destroy();
    stack.startEnclave();
    stack.startParent();
    const failed = await bootOnce();
    // The enclave reads the policy before it asks KMS to decrypt, and names the mismatch.
    expect(String(failed.msg)).to.match(/enclave boot failed: KMS_KEY_POLICY_UNSAFE/);
    expect(String(failed.msg)).to.contain(`lets another enclave image decrypt (PCR0 ${'ab'.repeat(48)}); this enclave measures PCR0 ${stack.pcr0} — a PCR mismatch`);
    expect(snapshot(stack.sealedFile)).to.deep.equal(stored);

    // The enclave reports its own failure to anyone asking.
    const client = new RpcClient(EnclaveMessages, { connect: () => new LoopbackTransport({ dir: stack.socketDir }).connect(stack.enclaveCid, ENCLAVE_RPC_PORT) });
    const status = await client.call('Status', {});
    await client.close();
    expect(status.phase).to.equal('failed');
    expect(status.failure?.code).to.equal('KMS_KEY_POLICY_UNSAFE');
  });

  it('on first boot, refuses a sealing key others could decrypt with, or one for another image, and stores nothing', async () => {
    const kms = stack.kmsAdmin();
    const open = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' }] });
    await kms.send(new PutKeyPolicyCommand({ KeyId: stack.keyId, PolicyName: 'default', Policy: open }));
    stack.startEnclave();
    stack.startParent();
    const unsafe = await bootOnce();
    expect(String(unsafe.msg)).to.match(/enclave boot failed: KMS_KEY_POLICY_UNSAFE: .*allows kms:Decrypt, kms:GenerateDataKey, kms:Encrypt, .* without requiring an attestation/);
    expect(existsSync(stack.sealedFile)).to.equal(false);

    await stack.stopProcess('parent');
    await stack.stopProcess('enclave');
    await kms.send(new PutKeyPolicyCommand({ KeyId: stack.keyId, PolicyName: 'default', Policy: LocalStack.keyPolicy('ab'.repeat(48)) }));
    kms.destroy();
    stack.startEnclave();
    stack.startParent();
    const other = await bootOnce();
    expect(String(other.msg)).to.contain(`lets another enclave image decrypt (PCR0 ${'ab'.repeat(48)}); this enclave measures PCR0 ${stack.pcr0} — a PCR mismatch`);
    expect(existsSync(stack.sealedFile)).to.equal(false);
  });

  for (const [name, damage] of [
    ['a corrupt sealed blob', (f: { kmsCiphertext: Uint8Array; sealed: Uint8Array }) => { f.sealed[f.sealed.length - 5] ^= 0x01; return f; }],
    ['a truncated sealed blob', (f: { kmsCiphertext: Uint8Array; sealed: Uint8Array }) => ({ ...f, sealed: f.sealed.subarray(0, 20) })],
    ['a corrupt KMS ciphertext', (f: { kmsCiphertext: Uint8Array; sealed: Uint8Array }) => { f.kmsCiphertext[f.kmsCiphertext.length - 3] ^= 0x80; return f; }],
  ] as const) {
    it(`reports ${name} clearly and never overwrites it`, async () => {
      stack.startEnclave();
      stack.startParent();
      expect((await bootOnce()).outcome).to.equal('initialised');
      await stack.stopProcess('parent');
      await stack.stopProcess('enclave');
      const file = decodeCbor(readFileSync(stack.sealedFile)) as { kmsCiphertext: Uint8Array; sealed: Uint8Array };
      writeFileSync(stack.sealedFile, encodeCbor(damage({ kmsCiphertext: new Uint8Array(file.kmsCiphertext), sealed: new Uint8Array(file.sealed) })));
      const damaged = snapshot(stack.sealedFile);

      stack.startEnclave();
      stack.startParent();
      const failed = await bootOnce();
      expect(String(failed.msg)).to.match(/enclave boot failed: SEALED_STATE_INVALID/);
      expect(snapshot(stack.sealedFile)).to.deep.equal(damaged);
    });
  }

  it('reports a sealed file that is not even CBOR and leaves it as it is', async () => {
    stack.startEnclave();
    stack.startParent();
    expect((await bootOnce()).outcome).to.equal('initialised');
    await stack.stopProcess('parent');
    writeFileSync(stack.sealedFile, readFileSync(stack.sealedFile).subarray(0, 40));
    const damaged = snapshot(stack.sealedFile);
    stack.startParent();
    const failed = await bootOnce();
    expect(String(failed.msg)).to.match(/enclave boot failed: SEALED_STORE_ERROR/);
    expect(snapshot(stack.sealedFile)).to.deep.equal(damaged);
  });

  it('rejects a foreign sealed blob (another enclave state, another data key)', async () => {
    stack.startEnclave();
    stack.startParent();
    expect((await bootOnce()).outcome).to.equal('initialised');
    const mine = readFileSync(stack.sealedFile);
    await stack.stopProcess('parent');
    await stack.stopProcess('enclave');
    // A second first-boot under the same key makes a different data key and state.
    rmSync(stack.sealedFile);
    stack.startEnclave();
    stack.startParent();
    expect((await bootOnce()).outcome).to.equal('initialised');
    const other = decodeCbor(readFileSync(stack.sealedFile)) as { kmsCiphertext: Uint8Array; sealed: Uint8Array };
    await stack.stopProcess('parent');
    await stack.stopProcess('enclave');
    // The first state's data key with the second state's blob.
    const first = decodeCbor(mine) as { kmsCiphertext: Uint8Array; sealed: Uint8Array };
    writeFileSync(stack.sealedFile, encodeCbor({ kmsCiphertext: first.kmsCiphertext, sealed: other.sealed }));
    const foreign = snapshot(stack.sealedFile);
    stack.startEnclave();
    stack.startParent();
    const failed = await bootOnce();
    expect(String(failed.msg)).to.match(/enclave boot failed: SEALED_STATE_INVALID/);
    expect(snapshot(stack.sealedFile)).to.deep.equal(foreign);
  });

  it('survives malformed frames on both sides: the enclave keeps serving, the parent keeps reconnecting', async () => {
    stack.startEnclave();
    await stack.waitFor('enclave', /enclave listening/);
    const transport = new LoopbackTransport({ dir: stack.socketDir });

    // Against the enclave: garbage, an oversized length, non-CBOR, an unknown type, an extra field.
    const frame = (body: Uint8Array) => {
      const b = Buffer.alloc(4 + body.length);
      b.writeUInt32BE(body.length, 0);
      Buffer.from(body).copy(b, 4);
      return b;
    };
    const attacks = [
      Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
      frame(new Uint8Array([0xff, 0x00, 0x13])),
      frame(encodeCbor({ id: 7, type: 'FormatDisk', body: {} })),
      frame(encodeCbor({ id: 8, type: 'Ping', body: { extra: true } })),
      frame(encodeCbor({ id: 9, type: 'Boot', body: { credentials: 5, sealed: null } })),
      frame(encodeCbor([1, 2, 3])),
    ];
    for (const bytes of attacks) {
      const s = await transport.connect(stack.enclaveCid, ENCLAVE_RPC_PORT);
      s.on('error', () => undefined);
      s.write(bytes);
      await new Promise((r) => setTimeout(r, 100));
      s.destroy();
    }
    const client = new RpcClient(EnclaveMessages, { connect: () => transport.connect(stack.enclaveCid, ENCLAVE_RPC_PORT) });
    try {
      const pong = await client.call('Ping', {});
      expect(pong.uptimeMs).to.be.a('number');
      // A typed error, not a crash, for a well-framed request with a bad body.
      const err = await client.call('GetAttestation', { nonce: new Uint8Array(0) } as never).catch((e: unknown) => e);
      expect(isCosignerError(err, 'SCHEMA_VIOLATION')).to.equal(true);
    } finally {
      await client.close();
    }
    expect(stack.isRunning('enclave')).to.equal(true);

    // Against the parent: a fake enclave that answers every connection with garbage.
    await stack.stopProcess('enclave');
    const fake = await transport.listen(stack.enclaveCid, ENCLAVE_RPC_PORT, (s) => {
      s.on('error', () => undefined);
      s.on('data', () => s.write(Buffer.from([0, 0, 0, 3, 0xff, 0xfe, 0xfd])));
    });
    stack.startParent();
    const mark = stack.lineCount('parent');
    await stack.waitFor('parent', /enclave boot failed: FRAME_NOT_CBOR|enclave connection lost/, 60_000, mark);
    await fake.close();
    expect(stack.isRunning('parent')).to.equal(true);
    // The real enclave comes back; the parent boots it as if nothing happened.
    stack.startEnclave();
    const ready = await bootOnce();
    expect(ready.msg).to.equal('ready');
  });
});
