// Every fuzz target, by name: what the suite, `npm run fuzz` and the findings regression test share.
import type { FuzzTarget } from '../support/target.js';
import { channelTargets } from './channel.js';
import { attestationTargets } from './attestation.js';
import { nsmTargets } from './nsm.js';
import { kmsTargets } from './kms.js';
import { sealingTargets } from './sealing.js';
import { mpcTargets } from './mpc.js';

export const allTargets: readonly FuzzTarget[] = [...channelTargets, ...attestationTargets, ...nsmTargets, ...kmsTargets, ...sealingTargets, ...mpcTargets];

export function targetNamed(name: string): FuzzTarget | undefined {
  return allTargets.find((t) => t.name === name);
}
