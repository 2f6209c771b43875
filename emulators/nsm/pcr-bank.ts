// The NSM's 32 PCRs (SHA-384): 0–15 hold the boot measurements and are locked from the start;
// 16–31 start as zeros and may be extended (new = SHA384(old ‖ data)) until locked.
import { nsmError } from '../../shared/nsm/codec.js';
import { extendPcrValue, PCR_BYTES } from './measure.js';

export const PCR_COUNT = 32;
export const BOOT_PCR_COUNT = 16;

export class PcrBank {
  private readonly values: Uint8Array[] = [];
  private readonly locked: boolean[] = [];

  constructor(boot: Map<number, Uint8Array>) {
    for (let i = 0; i < PCR_COUNT; i++) {
      const v = i < BOOT_PCR_COUNT ? boot.get(i) : undefined;
      this.values.push(v ? new Uint8Array(v) : new Uint8Array(PCR_BYTES));
      this.locked.push(i < BOOT_PCR_COUNT);
    }
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= PCR_COUNT) throw nsmError('InvalidIndex');
  }

  describe(index: number): { lock: boolean; data: Uint8Array } {
    this.check(index);
    return { lock: this.locked[index]!, data: new Uint8Array(this.values[index]!) };
  }

  extend(index: number, data: Uint8Array): Uint8Array {
    this.check(index);
    if (this.locked[index]) throw nsmError('ReadOnlyIndex');
    this.values[index] = extendPcrValue(this.values[index]!, data);
    return new Uint8Array(this.values[index]!);
  }

  lock(index: number): void {
    this.check(index);
    this.locked[index] = true;
  }

  /** Lock PCRs [0, range). */
  lockRange(range: number): void {
    if (!Number.isInteger(range) || range < 0 || range > PCR_COUNT) throw nsmError('InvalidIndex');
    for (let i = 0; i < range; i++) this.locked[i] = true;
  }

  lockedIndexes(): number[] {
    return this.locked.flatMap((l, i) => (l ? [i] : []));
  }

  /**
   * The PCRs an attestation document carries: 0–15 always (as real documents show), plus any
   * application PCR (16–31) once locked — nsm-api documents `pcrs` as the locked registers.
   */
  attested(): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    for (let i = 0; i < PCR_COUNT; i++) if (i < BOOT_PCR_COUNT || this.locked[i]) out.set(i, new Uint8Array(this.values[i]!));
    return out;
  }
}
