// Fuzz: frame decoder, cbor-x decoding and the RPC envelope/message schemas (issue 13).
import { channelTargets } from './targets/channel.js';
import { fuzzSuite } from './support/suite.js';

fuzzSuite('fuzz: channel frames and messages', channelTargets);
