// CMS/BER parsing of KMS answers (shared/kms/): the strict BER structure check, the
// CiphertextForRecipient profile parser and decryption with the enclave's ephemeral RSA key.
import fc from 'fast-check';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { checkBerStructure, BerStructureError } from '../../../shared/kms/ber-check.js';
import { decryptCiphertextForRecipient, parseCiphertextForRecipient } from '../../../shared/kms/cms.js';
import { buildCiphertextForRecipient } from '../../../shared/kms/cms-build.js';
import { kmsCmsFixture } from '../../support/fixtures.js';
import { deepBer, mutated } from '../support/mutate.js';
import { PropertyViolation, equalBytes, typedOnly, violation, type FuzzTarget } from '../support/target.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

let key: { privateKey: KeyObject; spki: Uint8Array } | undefined;
/** Answers built for our key (made once, so the table stays bounded): hex → plaintext. */
const built = new Map<string, Uint8Array>();
let pool: Uint8Array[] = [];

async function setup(): Promise<void> {
  if (key) return;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  key = { privateKey, spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })) };
  const plaintexts = fc.sample(fc.tuple(fc.uint8Array({ maxLength: 2100 }), fc.boolean()), { seed: 13, numRuns: 24 });
  pool = plaintexts.map(([plaintext, primitive]) => {
    const ber = buildCiphertextForRecipient(plaintext, key!.spki, { encryptedContentForm: primitive ? 'primitive' : 'constructed' });
    built.set(hex(ber), plaintext);
    return ber;
  });
  pool.push(kmsCmsFixture('kms-recipient-primitive.ber'), kmsCmsFixture('kms-recipient-constructed.ber'));
}

/** The two real KMS answers and ours. */
const validCms = fc.nat().map((i) => pool[i % pool.length]!);
const deep = fc.tuple(fc.integer({ min: 1, max: 2000 }), fc.boolean()).map(([d, indefinite]) => deepBer(d, indefinite));

export const berCheckTarget: FuzzTarget = {
  name: 'kms.ber-structure',
  weight: 20,
  input: mutated(validCms, [deep]),
  setup,
  check(input) {
    typedOnly(input, () => {
      try {
        checkBerStructure(input);
      } catch (e) {
        // Internal to cms.ts, which turns it into CMS_INVALID; nothing else may escape.
        if (!(e instanceof BerStructureError)) throw new PropertyViolation(`checkBerStructure threw ${String(e).slice(0, 200)}`);
      }
    });
  },
};

export const cmsParseTarget: FuzzTarget = {
  name: 'kms.cms-parse',
  weight: 30,
  input: mutated(validCms, [deep]),
  setup,
  check(input) {
    typedOnly(input, () => parseCiphertextForRecipient(input), ['CMS_INVALID']);
  },
};

export const cmsDecryptTarget: FuzzTarget = {
  name: 'kms.cms-decrypt',
  weight: 35,
  input: mutated(validCms),
  setup,
  suiteRuns: 200,
  check(input) {
    const r = typedOnly(input, () => decryptCiphertextForRecipient(input, key!.privateKey), ['CMS_INVALID']);
    const expected = built.get(hex(input));
    if (expected && (!r.ok || !equalBytes(r.value, expected))) violation('an answer built for our key did not decrypt to its plaintext');
  },
};

export const kmsTargets = [berCheckTarget, cmsParseTarget, cmsDecryptTarget];
