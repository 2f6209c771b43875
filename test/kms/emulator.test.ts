// The KMS emulator driven by the real @aws-sdk/client-kms, with Recipient documents from the NSM
// emulator verified against its pinned root.
import { expect } from 'chai';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand, GenerateRandomCommand,
  GetKeyPolicyCommand, PutKeyPolicyCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import { decryptCiphertextForRecipient } from '../../shared/kms/cms.js';
import { toHex } from '../../shared/bytes.js';
import type { KmsEmulator } from '../../emulators/kms/server.js';
import {
  ACCOUNT, PARENT_CREDENTIAL, TestNsmPki, adminClient, enclavePolicy, expectRejects, pcrsFor, startKmsEmulator, tempDir,
} from './support.js';

describe('KMS emulator with the real KMS client', function () {
  let dir: ReturnType<typeof tempDir>;
  let nsm: TestNsmPki;
  let kms: KmsEmulator;
  let client: KMSClient;
  const good = pcrsFor('cosigner-v1');
  const other = pcrsFor('attacker-image');

  /** An enclave's Recipient: fresh RSA key + attestation document binding it. */
  async function recipientFor(pcrs: Map<number, Uint8Array>) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const doc = await nsm.enclave(pcrs).attest(new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })));
    return { privateKey, Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' as const, AttestationDocument: doc } };
  }

  before(async () => {
    dir = tempDir('kms-emu-');
    nsm = new TestNsmPki(join(dir.path, 'nsm'));
    kms = await startKmsEmulator({ rootPem: nsm.rootPem, stateFile: join(dir.path, 'kms-state.json') });
    client = adminClient(kms.url);
  });
  after(async () => {
    client?.destroy();
    await kms?.close();
    dir?.remove();
  });

  it('CreateKey, Encrypt, Decrypt, GenerateDataKey, GenerateRandom, GetKeyPolicy, PutKeyPolicy without Recipient', async () => {
    const created = await client.send(new CreateKeyCommand({ Description: 'test key' }));
    const keyId = created.KeyMetadata!.KeyId!;
    expect(created.KeyMetadata!.Arn).to.equal(`arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId}`);
    expect(created.KeyMetadata!.KeyState).to.equal('Enabled');
    expect(created.KeyMetadata!.CreationDate).to.be.instanceOf(Date);

    const pt = new Uint8Array(randomBytes(100));
    const enc = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: pt, EncryptionContext: { a: '1' } }));
    expect(enc.KeyId).to.equal(created.KeyMetadata!.Arn);
    const dec = await client.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: '1' } }));
    expect(dec.Plaintext).to.deep.equal(pt);
    expect(dec.EncryptionAlgorithm).to.equal('SYMMETRIC_DEFAULT');

    const dk = await client.send(new GenerateDataKeyCommand({ KeyId: created.KeyMetadata!.Arn, KeySpec: 'AES_256' }));
    expect(dk.Plaintext!.length).to.equal(32);
    expect(dk.CiphertextForRecipient).to.equal(undefined);
    const back = await client.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, KeyId: keyId }));
    expect(back.Plaintext).to.deep.equal(dk.Plaintext);

    const dk16 = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 16 }));
    expect(dk16.Plaintext!.length).to.equal(16);

    const rnd = await client.send(new GenerateRandomCommand({ NumberOfBytes: 64 }));
    expect(rnd.Plaintext!.length).to.equal(64);

    const pol = await client.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }));
    expect(JSON.parse(pol.Policy!).Statement[0].Principal.AWS).to.equal(`arn:aws:iam::${ACCOUNT}:root`);
    const newPolicy = enclavePolicy({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': toHex(good.get(0)!) } });
    await client.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: newPolicy }));
    expect((await client.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy).to.equal(newPolicy);
  });

  it('with Recipient: only CiphertextForRecipient, decryptable by the attested key (GenerateDataKey, Decrypt, GenerateRandom)', async () => {
    const policy = enclavePolicy({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': toHex(good.get(0)!).toUpperCase() } });
    const keyId = (await client.send(new CreateKeyCommand({ Policy: policy }))).KeyMetadata!.KeyId!;

    const r1 = await recipientFor(good);
    const dk = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: r1.Recipient }));
    expect(dk.Plaintext).to.equal(undefined);
    const dataKey = decryptCiphertextForRecipient(dk.CiphertextForRecipient!, r1.privateKey);
    expect(dataKey.length).to.equal(32);

    const r2 = await recipientFor(good);
    const dec = await client.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, KeyId: keyId, Recipient: r2.Recipient }));
    expect(dec.Plaintext).to.equal(undefined);
    expect(decryptCiphertextForRecipient(dec.CiphertextForRecipient!, r2.privateKey)).to.deep.equal(dataKey);
    // the first recipient's key cannot open the second answer
    expect(() => decryptCiphertextForRecipient(dec.CiphertextForRecipient!, r1.privateKey)).to.throw(/RSAES-OAEP/);

    const r3 = await recipientFor(good);
    const rnd = await client.send(new GenerateRandomCommand({ NumberOfBytes: 48, Recipient: r3.Recipient }));
    expect(rnd.Plaintext).to.equal(undefined);
    expect(decryptCiphertextForRecipient(rnd.CiphertextForRecipient!, r3.privateKey).length).to.equal(48);
  });

  it('policy on ImageSha384: another PCR0 and a missing Recipient are AccessDenied, with the mismatch named', async () => {
    const policy = enclavePolicy({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': toHex(good.get(0)!) } });
    const keyId = (await client.send(new CreateKeyCommand({ Policy: policy }))).KeyMetadata!.KeyId!;

    const bad = await recipientFor(other);
    const e1 = await expectRejects(client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: bad.Recipient })));
    expect(e1.name).to.equal('AccessDeniedException');
    expect(e1.$metadata?.httpStatusCode).to.equal(400);
    expect(e1.message).to.contain(`is not authorized to perform: kms:GenerateDataKey`);
    expect(e1.message).to.contain(toHex(other.get(0)!));
    expect(e1.message).to.contain(toHex(good.get(0)!));

    const e2 = await expectRejects(client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })));
    expect(e2.name).to.equal('AccessDeniedException');
    expect(e2.message).to.match(/no Recipient attestation document/);

    // Encrypt (no condition in this policy) works for the parent, but Decrypt needs the enclave.
    const enc = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([1, 2, 3]) }));
    expect((await expectRejects(client.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })))).name).to.equal('AccessDeniedException');
    const ok = await recipientFor(good);
    const dec = await client.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, Recipient: ok.Recipient }));
    expect(decryptCiphertextForRecipient(dec.CiphertextForRecipient!, ok.privateKey)).to.deep.equal(new Uint8Array([1, 2, 3]));
  });

  it('policy on PCR<n> (PCR8, the signing certificate): several values allowed, others refused', async () => {
    const pcr8 = new Uint8Array(randomBytes(48));
    const signedV1 = pcrsFor('image-v1', { 8: pcr8 });
    const signedV2 = pcrsFor('image-v2', { 8: pcr8 }); // different PCR0, same signer
    const unsigned = pcrsFor('image-v3');
    const policy = enclavePolicy({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR8': [toHex(new Uint8Array(randomBytes(48))), toHex(pcr8)] } });
    const keyId = (await client.send(new CreateKeyCommand({ Policy: policy }))).KeyMetadata!.KeyId!;
    for (const pcrs of [signedV1, signedV2]) {
      const r = await recipientFor(pcrs);
      const out = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 32, Recipient: r.Recipient }));
      expect(decryptCiphertextForRecipient(out.CiphertextForRecipient!, r.privateKey).length).to.equal(32);
    }
    const r = await recipientFor(unsigned);
    const e = await expectRejects(client.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 32, Recipient: r.Recipient })));
    expect(e.name).to.equal('AccessDeniedException');
    expect(e.message).to.contain('kms:RecipientAttestation:PCR8');

    // Several conditions are ANDed: PCR0 and PCR8 must both hold.
    const both = enclavePolicy({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR0': toHex(signedV1.get(0)!), 'kms:RecipientAttestation:PCR8': toHex(pcr8) } });
    const key2 = (await client.send(new CreateKeyCommand({ Policy: both }))).KeyMetadata!.KeyId!;
    const v1 = await recipientFor(signedV1);
    await client.send(new GenerateDataKeyCommand({ KeyId: key2, NumberOfBytes: 32, Recipient: v1.Recipient }));
    const v2 = await recipientFor(signedV2);
    expect((await expectRejects(client.send(new GenerateDataKeyCommand({ KeyId: key2, NumberOfBytes: 32, Recipient: v2.Recipient })))).message).to.contain('PCR0');
  });

  it('a Recipient whose document does not verify is refused; so is one signed by another NSM PKI', async () => {
    const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const r = await recipientFor(good);
    const doc = new Uint8Array(r.Recipient.AttestationDocument);
    doc[doc.length - 5] ^= 0x01; // inside the signature
    const e = await expectRejects(client.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 32, Recipient: { ...r.Recipient, AttestationDocument: doc } })));
    expect(e.name).to.equal('ValidationException');
    expect(e.message).to.match(/attestation document/);

    const foreignDir = tempDir('kms-foreign-nsm-');
    try {
      const foreign = new TestNsmPki(foreignDir.path);
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const fdoc = await foreign.enclave(good).attest(new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })));
      const e2 = await expectRejects(client.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 32, Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: fdoc } })));
      expect(e2.name).to.equal('ValidationException');
    } finally {
      foreignDir.remove();
    }
  });

  it('AWS-shaped errors: NotFound, InvalidCiphertext (tampered, wrong context), IncorrectKey, bad signature, unknown key id', async () => {
    const k1 = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const k2 = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const enc = await client.send(new EncryptCommand({ KeyId: k1, Plaintext: new Uint8Array([9]), EncryptionContext: { purpose: 'x' } }));
    const blob = new Uint8Array(enc.CiphertextBlob!);

    expect((await expectRejects(client.send(new EncryptCommand({ KeyId: '00000000-0000-4000-8000-000000000000', Plaintext: new Uint8Array([1]) })))).name).to.equal('NotFoundException');
    const tampered = new Uint8Array(blob);
    tampered[tampered.length - 1] ^= 1;
    expect((await expectRejects(client.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: { purpose: 'x' } })))).name).to.equal('InvalidCiphertextException');
    expect((await expectRejects(client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { purpose: 'y' } })))).name).to.equal('InvalidCiphertextException');
    expect((await expectRejects(client.send(new DecryptCommand({ CiphertextBlob: blob })))).name).to.equal('InvalidCiphertextException');
    expect((await expectRejects(client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: k2, EncryptionContext: { purpose: 'x' } })))).name).to.equal('IncorrectKeyException');

    const wrongSecret = adminClient(kms.url, { ...PARENT_CREDENTIAL, secretAccessKey: 'not-the-secret' });
    const unknownKey = adminClient(kms.url, { ...PARENT_CREDENTIAL, accessKeyId: 'AKIAUNKNOWNEXAMPLE01' });
    try {
      expect((await expectRejects(wrongSecret.send(new GenerateRandomCommand({ NumberOfBytes: 8 })))).name).to.equal('InvalidSignatureException');
      expect((await expectRejects(unknownKey.send(new GenerateRandomCommand({ NumberOfBytes: 8 })))).name).to.equal('UnrecognizedClientException');
    } finally {
      wrongSecret.destroy();
      unknownKey.destroy();
    }
  });

  it('answers raw JSON 1.1 errors with __type and x-amzn-errortype', async () => {
    const res = await fetch(kms.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.GenerateRandom' },
      body: '{"NumberOfBytes":8}',
    });
    expect(res.status).to.equal(400);
    expect(res.headers.get('x-amzn-errortype')).to.equal('MissingAuthenticationTokenException');
    expect(res.headers.get('content-type')).to.equal('application/x-amz-json-1.1');
    expect((await res.json() as { __type: string }).__type).to.equal('MissingAuthenticationTokenException');
  });

  it('PutKeyPolicy: malformed or unsupported policies and lock-out are refused', async () => {
    const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    for (const bad of ['not json', '{"Statement":[]}', enclavePolicy({ StringLike: { 'kms:RecipientAttestation:ImageSha384': '*' } }), enclavePolicy({ StringEquals: { 'aws:SourceIp': '1.2.3.4' } })]) {
      expect((await expectRejects(client.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: bad })))).name).to.equal('MalformedPolicyDocumentException');
    }
    const lockout = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: PARENT_CREDENTIAL.principalArn }, Action: 'kms:Decrypt', Resource: '*' }] });
    const e = await expectRejects(client.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: lockout })));
    expect(e.name).to.equal('MalformedPolicyDocumentException');
    expect(e.message).to.match(/will not allow you to update the key policy/);
    await client.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: lockout, BypassPolicyLockoutSafetyCheck: true }));
    expect((await expectRejects(client.send(new GetKeyPolicyCommand({ KeyId: keyId })))).name).to.equal('AccessDeniedException');
  });

  it('keys persist across an emulator restart (state file written atomically, mode 0600)', async () => {
    const stateFile = join(dir.path, 'restart-state.json');
    let first: KmsEmulator | null = await startKmsEmulator({ rootPem: nsm.rootPem, stateFile });
    let c = adminClient(first.url);
    const keyId = (await c.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const enc = await c.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array([4, 5, 6]) }));
    c.destroy();
    await first.close();
    first = null;
    expect(statSync(stateFile).mode & 0o777).to.equal(0o600);
    expect(readFileSync(stateFile, 'utf8')).to.contain(keyId);

    const second = await startKmsEmulator({ rootPem: nsm.rootPem, stateFile });
    c = adminClient(second.url);
    try {
      const dec = await c.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
      expect(dec.Plaintext).to.deep.equal(new Uint8Array([4, 5, 6]));
    } finally {
      c.destroy();
      await second.close();
    }
    // and a fresh state file knows nothing of that key
    const third = await startKmsEmulator({ rootPem: nsm.rootPem, stateFile: join(dir.path, 'empty-state.json') });
    c = adminClient(third.url);
    try {
      expect((await expectRejects(c.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })))).name).to.equal('InvalidCiphertextException');
    } finally {
      c.destroy();
      await third.close();
    }
  });
});
