// The co-signer work queue. Items are stored rows (they survive a coordinator restart); a co-signer
// takes one by long poll and holds it under a lease it renews by heartbeat. A co-signer that dies
// loses the lease when it expires and the item goes to the next poll — another co-signer's, or the
// same one's after its restart. Reporting a result is idempotent: the same result twice is one
// result; a different one, or one from a co-signer that no longer holds the lease, is refused.
//
// Waking: a poll that finds nothing waits (up to 30 s) for wake(workspace), called after the
// transaction that added an item has committed, or for the earliest lease expiry among that
// workspace's items. Wake-ups are in-process; several coordinator instances (the next issue)
// need a shared signal (PostgreSQL LISTEN/NOTIFY) in place of the EventEmitter.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { CosignerError } from '../../shared/errors.js';
import type { Db } from '../storage/database.js';
import type { WorkItemsTable } from '../storage/schema.js';
import { canonicalJson } from '../../shared/cosigner-api/canonical-json.js';

export type WorkKind = 'CONFIG_CHANGE_APPROVAL' | 'KEYGEN' | 'SIGN';

export const LONG_POLL_MS = 30_000;
export const DEFAULT_LEASE_MS = 60_000;

export interface LeasedItem {
  id: string;
  workspaceId: string;
  kind: WorkKind;
  payload: unknown;
  attempt: number;
  leaseExpiresAt: number;
}

function leaseLost(id: string, why: string): CosignerError {
  return new CosignerError('LEASE_LOST', `work item ${id}: ${why}`, { id });
}

export class WorkQueue {
  private readonly events = new EventEmitter();

  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {
    this.events.setMaxListeners(0); // one listener per waiting poll, bounded by the HTTP server
  }

  /** Adds an item inside the caller's database transaction; call wake() once it has committed. */
  async enqueue(trx: Db, workspaceId: string, kind: WorkKind, payload: unknown): Promise<string> {
    const id = randomUUID();
    const t = this.now();
    await trx.insertInto('work_items').values({
      id, workspace_id: workspaceId, kind, payload: JSON.stringify(payload), state: 'READY', lease_owner: null, lease_expires_at: null,
      attempts: 0, result: null, created_at: t, updated_at: t,
    }).execute();
    return id;
  }

  wake(workspaceId: string): void {
    this.events.emit(workspaceId);
  }

  /** Leases the oldest available item of these workspaces, or returns null at once. */
  async tryLease(workspaceIds: readonly string[], owner: string, leaseMs = DEFAULT_LEASE_MS): Promise<LeasedItem | null> {
    if (workspaceIds.length === 0) return null;
    for (let attempt = 0; attempt < 5; attempt++) {
      const t = this.now();
      const candidate = await this.db.selectFrom('work_items').selectAll()
        .where('workspace_id', 'in', [...workspaceIds])
        .where((eb) => eb.or([eb('state', '=', 'READY'), eb.and([eb('state', '=', 'LEASED'), eb('lease_expires_at', '<=', t)])]))
        .orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
      if (!candidate) return null;
      const expires = t + leaseMs;
      // Compare-and-set on what we read: a concurrent poll that took it first makes this update miss.
      const r = await this.db.updateTable('work_items')
        .set({ state: 'LEASED', lease_owner: owner, lease_expires_at: expires, attempts: candidate.attempts + 1, updated_at: t })
        .where('id', '=', candidate.id).where('state', '=', candidate.state).where('attempts', '=', candidate.attempts)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) return toLeased(candidate, candidate.attempts + 1, expires);
    }
    return null;
  }

  /**
   * Long poll: an item as soon as one is available, or null after holdMs (30 s). Resolves null
   * early if `signal` aborts (the co-signer hung up).
   */
  async poll(workspaceIds: readonly string[], owner: string, opts: { holdMs?: number; leaseMs?: number; signal?: AbortSignal } = {}): Promise<LeasedItem | null> {
    const deadline = this.now() + (opts.holdMs ?? LONG_POLL_MS);
    for (;;) {
      const item = await this.tryLease(workspaceIds, owner, opts.leaseMs);
      if (item || opts.signal?.aborted) return item;
      const left = deadline - this.now();
      if (left <= 0) return null;
      const nextExpiry = await this.nextLeaseExpiry(workspaceIds);
      const wait = Math.max(1, Math.min(left, nextExpiry === null ? left : nextExpiry - this.now() + 1));
      await this.waitForWake(workspaceIds, wait, opts.signal);
    }
  }

  /** Gives a lease back at once (its poller hung up before the item reached it); false if not held. */
  async release(id: string, owner: string): Promise<boolean> {
    const r = await this.db.updateTable('work_items').set({ state: 'READY', lease_owner: null, lease_expires_at: null, updated_at: this.now() })
      .where('id', '=', id).where('state', '=', 'LEASED').where('lease_owner', '=', owner).executeTakeFirst();
    const released = Number(r.numUpdatedRows) === 1;
    if (released) {
      const row = await this.db.selectFrom('work_items').select('workspace_id').where('id', '=', id).executeTakeFirst();
      if (row) this.wake(row.workspace_id);
    }
    return released;
  }

  /** Extends the lease; LEASE_LOST if this owner no longer holds it. */
  async heartbeat(id: string, owner: string, leaseMs = DEFAULT_LEASE_MS): Promise<number> {
    const t = this.now();
    const expires = t + leaseMs;
    const r = await this.db.updateTable('work_items').set({ lease_expires_at: expires, updated_at: t })
      .where('id', '=', id).where('state', '=', 'LEASED').where('lease_owner', '=', owner).where('lease_expires_at', '>', t).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw leaseLost(id, 'the lease has expired or belongs to another co-signer');
    return expires;
  }

  /**
   * Records the result. `apply` runs in the same database transaction (it makes the result take
   * effect: a whitelisted address approved, a signature stored), so a crash never leaves a result
   * recorded and not applied. Reporting the same result again returns 'duplicate' and applies nothing.
   */
  async complete(id: string, owner: string, result: unknown, apply: (trx: Db, item: WorkItemsTable) => Promise<void>): Promise<'recorded' | 'duplicate'> {
    // Canonical JSON (RFC 8785 order): a retried report re-encoded with its keys in another order
    // (a co-signer that restarted in between) is the same result, not a conflicting one.
    const text = canonicalJson(result);
    const outcome = await this.db.transaction().execute(async (trx) => {
      const item = await trx.selectFrom('work_items').selectAll().where('id', '=', id).executeTakeFirst();
      if (!item) throw new CosignerError('NOT_FOUND', `work item ${id} does not exist`);
      if (item.state === 'DONE') {
        if (item.result !== null && canonicalJson(JSON.parse(item.result)) === text) return 'duplicate' as const;
        throw new CosignerError('CONFLICT', `work item ${id} already has a different result`);
      }
      // The holder of the lease, or the last holder if nobody has taken the item since it expired.
      if (item.lease_owner !== owner || (item.state !== 'LEASED' && item.state !== 'READY')) throw leaseLost(id, 'another co-signer holds it');
      const t = this.now();
      const r = await trx.updateTable('work_items').set({ state: 'DONE', result: text, lease_expires_at: null, updated_at: t })
        .where('id', '=', id).where('state', '=', item.state).where('attempts', '=', item.attempts).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw leaseLost(id, 'it changed meanwhile');
      await apply(trx, item);
      return 'recorded' as const;
    });
    return outcome;
  }

  private async nextLeaseExpiry(workspaceIds: readonly string[]): Promise<number | null> {
    const r = await this.db.selectFrom('work_items').select((eb) => eb.fn.min('lease_expires_at').as('t'))
      .where('workspace_id', 'in', [...workspaceIds]).where('state', '=', 'LEASED').executeTakeFirst();
    return r?.t === null || r?.t === undefined ? null : Number(r.t);
  }

  private waitForWake(workspaceIds: readonly string[], ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        for (const w of workspaceIds) this.events.off(w, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      for (const w of workspaceIds) this.events.on(w, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

function toLeased(row: WorkItemsTable, attempt: number, leaseExpiresAt: number): LeasedItem {
  return { id: row.id, workspaceId: row.workspace_id, kind: row.kind as WorkKind, payload: JSON.parse(row.payload), attempt, leaseExpiresAt };
}
