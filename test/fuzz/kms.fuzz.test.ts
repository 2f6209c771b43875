// Fuzz: BER structure check, CiphertextForRecipient parsing and decryption (issue 13).
import { kmsTargets } from './targets/kms.js';
import { fuzzSuite } from './support/suite.js';

fuzzSuite('fuzz: KMS CMS answers', kmsTargets);
