// Fuzz: strict CBOR reader, COSE_Sign1 and attestation payload parsing, and verification (issue 13).
import { attestationTargets } from './targets/attestation.js';
import { fuzzSuite } from './support/suite.js';

fuzzSuite('fuzz: attestation documents', attestationTargets);
