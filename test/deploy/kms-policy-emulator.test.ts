// The policy `cosigner kms-policy` prints, set on a key in the KMS emulator and used by the
// enclave's own KMS client (TLS, Recipient documents from the NSM emulator): the measured enclave
// gets data keys and decrypts; another image, another signer, the wrong parent role (PCR3) and the
// parent's credentials without an attestation are refused by KMS itself; the administrator manages
// the key but cannot use it, and the parent cannot change it.
import { expect } from 'chai';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { EnclaveKmsClient } from '../../enclave/kms/recipient-client.js';
import { checkSealingKeyFacts, checkSealingKeyPolicy } from '../../enclave/sealing/key-policy-check.js';
import { selfSignedTlsCertificate } from '../../emulators/kms/tls-cert.js';
import type { KmsEmulator } from '../../emulators/kms/server.js';
import type { EmulatorCredential } from '../../emulators/kms/sigv4.js';
import { toHex, equalBytes } from '../../shared/bytes.js';
import { ACCOUNT, PARENT_CREDENTIAL, REGION, TestNsmPki, expectRejects, pcrsFor, startKmsEmulator, tempDir } from '../kms/support.js';
import { expectCosignerError, expectCosignerRejection } from '../support/expect-error.js';
import { kmsPolicy } from './support.js';

// An administrator whose IAM policy allows everything in KMS: the key policy alone keeps it from
// using the key, since it delegates nothing but administration.
const ADMIN: EmulatorCredential = {
  accessKeyId: 'AKIAKEYADMINEXAMPLE1',
  secretAccessKey: 'key/admin/secret/for/the/kms/emulator',
  principalArn: `arn:aws:iam::${ACCOUNT}:role/key-admin`,
  identityPolicy: { Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] },
};
// The parent role with exactly the IAM permissions the README lists (deploy/cloudformation.yaml).
const PARENT_AS_DEPLOYED: EmulatorCredential = {
  accessKeyId: 'AKIAPARENTDEPLOYED01',
  secretAccessKey: 'parent/as/deployed/secret/for/the/emulator',
  principalArn: PARENT_CREDENTIAL.principalArn,
  identityPolicy: { Statement: [{ Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants', 'kms:Decrypt', 'kms:GenerateDataKey'], Resource: '*' }] },
};

describe('deploy: the generated key policy in the KMS emulator, through the enclave KMS client', function () {
  this.timeout(120_000);
  let dir: ReturnType<typeof tempDir>;
  let nsm: TestNsmPki;
  let kms: KmsEmulator;
  let tlsCa: string;
  let admin: KMSClient;
  let parent: KMSClient;
  const image = pcrsFor('cosigner-release-1', { 3: new Uint8Array(48).fill(0x33), 8: new Uint8Array(48).fill(0x88) });
  const nextRelease = pcrsFor('cosigner-release-2', { 3: new Uint8Array(48).fill(0x33), 8: new Uint8Array(48).fill(0x88) });
  const otherSigner = pcrsFor('cosigner-release-2', { 3: new Uint8Array(48).fill(0x33), 8: new Uint8Array(48).fill(0x99) });
  const otherRole = pcrsFor('cosigner-release-1', { 3: new Uint8Array(48).fill(0x44), 8: new Uint8Array(48).fill(0x88) });

  const client = (cred: EmulatorCredential) => new KMSClient({
    region: REGION,
    endpoint: kms.url,
    credentials: { accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey },
    requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: tlsCa }) }),
    maxAttempts: 1,
  });

  /** The enclave's KMS client with the parent's credentials, attesting with these PCRs. */
  const enclave = (pcrs: Map<number, Uint8Array>) => new EnclaveKmsClient({
    region: REGION,
    endpoint: `https://localhost:${kms.port}`,
    credentials: { accessKeyId: PARENT_CREDENTIAL.accessKeyId, secretAccessKey: PARENT_CREDENTIAL.secretAccessKey },
    connect: async () => net.connect(kms.port, '127.0.0.1'),
    attest: nsm.enclave(pcrs).attest,
    tlsCa,
  });

  async function policyFor(...pin: string[]): Promise<string> {
    const r = await kmsPolicy('--account', ACCOUNT, '--parent-role', PARENT_CREDENTIAL.principalArn, '--admin', ADMIN.principalArn, ...pin);
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout;
  }

  async function newKey(policy: string): Promise<string> {
    return (await admin.send(new CreateKeyCommand({ Policy: policy }))).KeyMetadata!.Arn!;
  }

  /** What the enclave does at boot: read and check the key, then make and reopen a data key. */
  async function bootAs(pcrs: Map<number, Uint8Array>, keyArn: string): Promise<void> {
    const c = enclave(pcrs);
    try {
      checkSealingKeyFacts({ metadata: await c.describeKey(keyArn), grants: await c.listGrants(keyArn) }, keyArn);
      checkSealingKeyPolicy(await c.getKeyPolicy(keyArn), { pcr0: pcrs.get(0)!, pcr8: pcrs.get(8)! });
      const dk = await c.generateDataKeyForRecipient(keyArn);
      const back = await c.decryptForRecipient(dk.ciphertextBlob, { keyId: keyArn });
      expect(equalBytes(back.plaintext, dk.plaintext)).to.equal(true);
    } finally {
      c.destroy();
    }
  }

  before(async () => {
    dir = tempDir('deploy-kms-');
    nsm = new TestNsmPki(join(dir.path, 'nsm'));
    const tls = await selfSignedTlsCertificate(['localhost', '127.0.0.1']);
    tlsCa = tls.cert;
    kms = await startKmsEmulator({ rootPem: nsm.rootPem, stateFile: join(dir.path, 'kms.json'), tls, credentials: [PARENT_CREDENTIAL, ADMIN, PARENT_AS_DEPLOYED] });
    admin = client(ADMIN);
    parent = client(PARENT_CREDENTIAL);
  });

  after(async () => {
    admin?.destroy();
    parent?.destroy();
    await kms?.close();
    dir?.remove();
  });

  it('PCR0 pin: the measured enclave passes its boot check and gets and reopens data keys; another image is refused by both', async () => {
    const key = await newKey(await policyFor('--pcr0', toHex(image.get(0)!)));
    await bootAs(image, key);
    const mine = enclave(image);
    const dk = await mine.generateDataKeyForRecipient(key);
    mine.destroy();

    const other = enclave(nextRelease);
    try {
      // The other image's own boot check refuses the policy it reads; KMS, asked anyway, refuses too.
      const policyText = await other.getKeyPolicy(key);
      expectCosignerError(() => checkSealingKeyPolicy(policyText, { pcr0: nextRelease.get(0)!, pcr8: nextRelease.get(8)! }), 'KMS_KEY_POLICY_UNSAFE', /PCR mismatch/);
      await expectCosignerRejection(other.generateDataKeyForRecipient(key), 'KMS_ACCESS_DENIED', /ImageSha384/);
      await expectCosignerRejection(other.decryptForRecipient(dk.ciphertextBlob, { keyId: key }), 'KMS_ACCESS_DENIED', /ImageSha384/);
    } finally {
      other.destroy();
    }
  });

  it('PCR8 pin: a later release of the same signer unseals; another signer is refused by KMS', async () => {
    const key = await newKey(await policyFor('--pcr8', toHex(image.get(8)!)));
    await bootAs(image, key);
    await bootAs(nextRelease, key);
    const c = enclave(otherSigner);
    try {
      await expectCosignerRejection(c.generateDataKeyForRecipient(key), 'KMS_ACCESS_DENIED', /PCR8/);
    } finally {
      c.destroy();
    }
  });

  it('PCR3: the same image behind another parent role is refused by KMS', async () => {
    const key = await newKey(await policyFor('--pcr0', toHex(image.get(0)!), '--pcr3', toHex(image.get(3)!)));
    await bootAs(image, key);
    const c = enclave(otherRole);
    try {
      await expectCosignerRejection(c.generateDataKeyForRecipient(key), 'KMS_ACCESS_DENIED', /PCR3/);
    } finally {
      c.destroy();
    }
  });

  it('the parent role reads the key but cannot use or change it without an attestation; the administrator manages but cannot use it', async () => {
    const key = await newKey(await policyFor('--pcr0', toHex(image.get(0)!)));
    const mine = enclave(image);
    const dk = await mine.generateDataKeyForRecipient(key);
    mine.destroy();

    for (const kmsClient of [parent, admin]) {
      for (const send of [
        () => kmsClient.send(new DecryptCommand({ CiphertextBlob: dk.ciphertextBlob, KeyId: key })),
        () => kmsClient.send(new GenerateDataKeyCommand({ KeyId: key, KeySpec: 'AES_256' })),
        () => kmsClient.send(new EncryptCommand({ KeyId: key, Plaintext: new Uint8Array(32) })),
      ]) {
        const e = await expectRejects(send());
        expect(e.name).to.equal('AccessDeniedException');
      }
    }
    const put = await expectRejects(parent.send(new PutKeyPolicyCommand({ KeyId: key, PolicyName: 'default', Policy: await policyFor('--pcr0', toHex(nextRelease.get(0)!)) })));
    expect(put.name).to.equal('AccessDeniedException');

    // The administrator rolls the policy to the next release and manages the key.
    await admin.send(new PutKeyPolicyCommand({ KeyId: key, PolicyName: 'default', Policy: await policyFor('--pcr0', toHex(nextRelease.get(0)!)) }));
    await bootAs(nextRelease, key);
    const stale = enclave(image);
    try {
      await expectCosignerRejection(stale.decryptForRecipient(dk.ciphertextBlob, { keyId: key }), 'KMS_ACCESS_DENIED');
    } finally {
      stale.destroy();
    }
  });

  it('with the account principal as administrator (no --admin), IAM decides: the deployed parent role still cannot change or use the key', async () => {
    const r = await kmsPolicy('--account', ACCOUNT, '--parent-role', PARENT_CREDENTIAL.principalArn, '--pcr0', toHex(image.get(0)!));
    expect(r.code, r.stderr).to.equal(0);
    const key = await newKey(r.stdout);
    await bootAs(image, key);
    const deployed = client(PARENT_AS_DEPLOYED);
    try {
      const put = await expectRejects(deployed.send(new PutKeyPolicyCommand({ KeyId: key, PolicyName: 'default', Policy: await policyFor('--pcr0', toHex(nextRelease.get(0)!)) })));
      expect(put.name).to.equal('AccessDeniedException');
      const use = await expectRejects(deployed.send(new GenerateDataKeyCommand({ KeyId: key, KeySpec: 'AES_256' })));
      expect(use.name).to.equal('AccessDeniedException');
    } finally {
      deployed.destroy();
    }
    // The administrator's kms:* IAM policy reaches administration through the account principal, never use.
    const e = await expectRejects(admin.send(new GenerateDataKeyCommand({ KeyId: key, KeySpec: 'AES_256' })));
    expect(e.name).to.equal('AccessDeniedException');
    await admin.send(new PutKeyPolicyCommand({ KeyId: key, PolicyName: 'default', Policy: r.stdout }));
  });
});
