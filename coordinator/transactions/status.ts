// Transaction statuses and sub-statuses as the Fireblocks API names them (reference §3), and which
// move is allowed from where. Every change of status goes through setStatus(), in a database
// transaction, and only along these edges.
export type TxStatus =
  | 'SUBMITTED' | 'PENDING_AUTHORIZATION' | 'QUEUED' | 'PENDING_SIGNATURE' | 'BROADCASTING' | 'CONFIRMING'
  | 'COMPLETED' | 'REJECTED' | 'BLOCKED' | 'CANCELLED' | 'FAILED';

export const FINAL_STATUSES: ReadonlySet<TxStatus> = new Set(['COMPLETED', 'REJECTED', 'BLOCKED', 'CANCELLED', 'FAILED']);
/** Statuses whose amounts still count towards a cumulative TAP limit (everything not final-negative). */
export const DEAD_STATUSES: readonly TxStatus[] = ['REJECTED', 'BLOCKED', 'CANCELLED', 'FAILED'];
/** A user may cancel before anything was signed. */
export const CANCELLABLE: ReadonlySet<TxStatus> = new Set(['SUBMITTED', 'PENDING_AUTHORIZATION', 'QUEUED']);

const EDGES: Record<TxStatus, readonly TxStatus[]> = {
  SUBMITTED: ['PENDING_AUTHORIZATION', 'QUEUED', 'BLOCKED', 'CANCELLED', 'FAILED'],
  PENDING_AUTHORIZATION: ['QUEUED', 'REJECTED', 'CANCELLED', 'FAILED'],
  QUEUED: ['PENDING_SIGNATURE', 'CANCELLED', 'FAILED'],
  PENDING_SIGNATURE: ['BROADCASTING', 'COMPLETED', 'REJECTED', 'FAILED'],
  BROADCASTING: ['CONFIRMING', 'FAILED'],
  CONFIRMING: ['COMPLETED', 'FAILED', 'BROADCASTING'],
  COMPLETED: [],
  REJECTED: [],
  BLOCKED: [],
  CANCELLED: [],
  FAILED: [],
};

export function canMove(from: TxStatus, to: TxStatus): boolean {
  return EDGES[from].includes(to);
}
