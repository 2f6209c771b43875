// Changes of sealed state after boot (DESIGN.md "State versions"). A change is sealed with the
// next state version and handed to the parent; it counts only once the parent shows it stored it
// (sends the same file back: the confirm-by-second-call rule of the first boot). Until then the
// enclave keeps acting on the old state and accepts no other change, so a crash at any point
// leaves the parent with the old file or the new one, and the enclave with whichever it boots from.
//
// The data key stays in enclave memory for the enclave's life: it re-seals under the KMS
// ciphertext it booted with, a fresh random GCM nonce each time (sealed-blob.ts; a co-signer
// seals one blob per change, far below the 2^32 nonces SP 800-38D §8.3 allows one key).
import { createHash } from 'node:crypto';
import { CosignerError } from '../shared/errors.js';
import { equalBytes, wipe } from '../shared/bytes.js';
import type { SealedFile } from '../shared/messages.js';
import { seal } from './sealing/sealed-blob.js';
import { encodeState, type EnclaveState } from './state.js';

/** SHA-256 of the sealed blob, hex: names one stored file exactly (what the coordinator records). */
export function stateDigest(file: SealedFile): string {
  return createHash('sha256').update(file.kmsCiphertext).update(file.sealed).digest('hex');
}

function sameFile(a: SealedFile, b: SealedFile): boolean {
  return equalBytes(a.sealed, b.sealed) && equalBytes(a.kmsCiphertext, b.kmsCiphertext);
}

interface Sealed {
  state: EnclaveState;
  file: SealedFile;
}

export class SealedStateHolder {
  private pendingChange: (Sealed & { what: string }) | null = null;

  /**
   * `confirmed` false: the first-boot file, which the parent has not shown back yet. It counts as
   * the pending change of its own creation (a Boot or ConfirmState that shows it confirms it).
   */
  constructor(private current: Sealed, private readonly dataKey: Uint8Array, private readonly kmsKeyArn: string, private confirmed = true) {}

  get state(): EnclaveState {
    return this.current.state;
  }

  get file(): SealedFile {
    return this.current.file;
  }

  /** The first-boot file, until the parent shows it stored it. */
  get unconfirmedFirstFile(): SealedFile | null {
    return this.confirmed ? null : this.current.file;
  }

  get pending(): { file: SealedFile; stateVersion: number; what: string } | null {
    return this.pendingChange ? { file: this.pendingChange.file, stateVersion: this.pendingChange.state.stateVersion, what: this.pendingChange.what } : null;
  }

  /**
   * Seal `change(current)` as the next version. A change already waiting for its confirmation is
   * handed out again when it is the same change (`what`, its parent's answer may have been lost),
   * else STATE_CHANGE_PENDING.
   */
  propose(what: string, change: (s: EnclaveState) => EnclaveState): SealedFile {
    if (!this.confirmed) throw new CosignerError('STATE_CHANGE_PENDING', 'the first sealed state has not been stored by the parent yet');
    if (this.pendingChange) {
      if (this.pendingChange.what === what) return this.pendingChange.file;
      throw new CosignerError('STATE_CHANGE_PENDING', `another state change (${this.pendingChange.what}) waits for the parent to store it`);
    }
    const next = { ...change(this.current.state), stateVersion: this.current.state.stateVersion + 1 };
    const plain = encodeState(next);
    try {
      const file: SealedFile = { kmsCiphertext: this.current.file.kmsCiphertext, sealed: seal(plain, this.dataKey, this.kmsKeyArn) };
      this.pendingChange = { state: next, file, what };
      return file;
    } finally {
      wipe(plain);
    }
  }

  /**
   * The parent shows the file it stored. The pending change → it counts from now; the current
   * file → nothing to do (a repeat). Anything else is STATE_MISMATCH and changes nothing.
   * Returns whether this call made a change count.
   */
  confirm(stored: SealedFile): boolean {
    if (!this.confirmed) {
      if (!sameFile(stored, this.current.file)) throw new CosignerError('STATE_MISMATCH', 'the parent shows a file other than the first sealed state');
      this.confirmed = true;
      return true;
    }
    if (this.pendingChange && sameFile(stored, this.pendingChange.file)) {
      this.current = { state: this.pendingChange.state, file: this.pendingChange.file };
      this.pendingChange = null;
      return true;
    }
    if (sameFile(stored, this.current.file)) return false;
    throw new CosignerError('STATE_MISMATCH', 'the parent holds a sealed file that is neither the current state nor the change waiting to be stored');
  }

  /** What the enclave reports, signed, with every poll and result. */
  report(): { stateVersion: number; stateDigest: string } {
    return { stateVersion: this.current.state.stateVersion, stateDigest: stateDigest(this.current.file) };
  }

}
