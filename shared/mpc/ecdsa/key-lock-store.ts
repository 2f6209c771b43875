// Where P1's terminal abort lives (Lindell 2017, ePrint 2017/552, §3.3 "why P1 stops";
// CVE-2023-33242; issue 7 item 10). A signature that fails after P1 decrypted c3 may have leaked a
// bit of x1 to a cheating P2, so the KEY — not one share object — must never decrypt again. A flag
// inside the share object is not enough: a second object decoded from the same sealed bytes, or
// the pre-lock sealed bytes decoded again, would sign. So P1's signing consults a KeyLockStore at
// session start and again right before it decrypts, and records the lock there before it returns
// the error to anyone.
//
// CONTRACT for an implementation (the coordinator's is durable, in its database):
//   - Keys are named by `ecdsaKeyId(share)`, computed by the engine from the MASTER joint public
//     key: a caller cannot pass a wrong id, and every derived (BIP32) key of a master key shares its
//     lock, as it must — a leak through any child key is a leak of the same x1.
//   - `isLocked(id)` is true once `lock(id, …)` has returned, in this process and in every other
//     process and after every restart, for ever. On any doubt (database unavailable, row
//     unreadable) it THROWS; it never answers false it cannot vouch for. The engine then refuses to
//     sign (fail closed).
//   - `lock(id, reason)` is durable when it returns (transaction committed, fsync'd by the
//     database); it is idempotent; it throws if it could not record the lock. The engine calls it
//     before it throws MPC_SIGNATURE_INVALID, i.e. before the failure can reach the peer.
//   - There is no unlock. The way forward for a locked key is a new key (key refresh / new
//     key generation); a row is never deleted or rolled back by restoring a backup of this table
//     alone. `reason` is for operators and never contains secret values.
//   - Both methods are synchronous on purpose: P1 is a synchronous state machine, and "check, then
//     decrypt" must not interleave with another session's "fail, then lock" in the same process.
//     better-sqlite3 (a project dependency) gives a synchronous, durable SQLite transaction; a
//     network database would need a local synchronous journal in front of it.
import { CosignerError, isCosignerError } from '../../errors.js';

export interface KeyLockStore {
  /** True once `lock(keyId)` has completed anywhere. Throws when it cannot tell. */
  isLocked(keyId: string): boolean;
  /** Record the lock durably before returning; idempotent; throws if it could not. */
  lock(keyId: string, reason: string): void;
}

/** The lock-store name of a two-party ECDSA key: its master joint public key Q (compressed, hex). */
export function ecdsaKeyId(share: { readonly publicKey: Uint8Array }): string {
  return `ecdsa2p-secp256k1/${Buffer.from(share.publicKey).toString('hex')}`;
}

/**
 * A process-local KeyLockStore for tests and single-process tools. It forgets on restart, so it is
 * NOT enough for a deployed P1: the coordinator implements the durable one (contract above).
 */
export class MemoryKeyLockStore implements KeyLockStore {
  readonly #locked = new Map<string, string>();

  isLocked(keyId: string): boolean {
    return this.#locked.has(keyId);
  }

  lock(keyId: string, reason: string): void {
    if (!this.#locked.has(keyId)) this.#locked.set(keyId, reason);
  }

  /** An independent store holding the same locks (tests copy a party's state with it). */
  clone(): MemoryKeyLockStore {
    const c = new MemoryKeyLockStore();
    for (const [k, r] of this.#locked) c.#locked.set(k, r);
    return c;
  }

  /** The reason recorded first for `keyId`, if locked (for operators and tests). */
  reason(keyId: string): string | undefined {
    return this.#locked.get(keyId);
  }
}

/**
 * Ask the store, failing closed: a store that throws, or answers anything but a boolean (e.g. a
 * Promise from an asynchronous implementation), stops the signing.
 */
export function checkNotLocked(store: KeyLockStore, keyId: string): void {
  let answer: unknown;
  try {
    answer = store.isLocked(keyId);
  } catch (e) {
    if (isCosignerError(e, 'MPC_KEY_LOCKED')) throw e;
    throw new CosignerError('INTERNAL', 'the key lock store could not say whether this ECDSA key is locked; refusing to sign', undefined, { cause: e });
  }
  if (answer === false) return;
  if (answer === true) throw new CosignerError('MPC_KEY_LOCKED', 'this ECDSA key is locked after a failed signature; refresh the key');
  throw new CosignerError('INTERNAL', 'the key lock store answered isLocked with a non-boolean (it must be synchronous); refusing to sign');
}
