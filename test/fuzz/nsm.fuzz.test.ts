// Fuzz: NSM request/response codec and the emulator socket framing (issue 13).
import { nsmTargets } from './targets/nsm.js';
import { fuzzSuite } from './support/suite.js';

fuzzSuite('fuzz: NSM codec', nsmTargets);
