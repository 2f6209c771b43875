// Fuzz: MPC message decoding for every round of ECDSA (keygen, signing) and FROST (DKG, signing) (issue 13).
import { ecdsaTargets, frostTargets } from './targets/mpc.js';
import { fuzzSuite } from './support/suite.js';

fuzzSuite('fuzz: ECDSA messages, every round', ecdsaTargets);
fuzzSuite('fuzz: FROST messages, every round', frostTargets);
