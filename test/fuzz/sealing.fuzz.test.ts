// Fuzz: sealed blob, enclave state and the parent's sealed file (issue 13).
import { sealingTargets } from './targets/sealing.js';
import { fuzzSuite } from './support/suite.js';

fuzzSuite('fuzz: sealed state', sealingTargets);
