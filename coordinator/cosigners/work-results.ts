// What a work item's result does, by kind: the rest of the coordinator registers a parser (which
// refuses a malformed result before anything is recorded) and an apply that runs inside
// WorkQueue.complete's transaction. A kind nobody registered cannot be completed: its result
// would be recorded with no effect.
import { CosignerError } from '../../shared/errors.js';
import type { Db } from '../storage/database.js';
import type { WorkItemsTable } from '../storage/schema.js';
import type { WorkKind } from '../work-queue/work-queue.js';

export interface WorkResultHandler<R> {
  parse(result: unknown): R;
  apply(trx: Db, item: WorkItemsTable, result: R): Promise<void>;
}

export class WorkResults {
  private readonly handlers = new Map<string, WorkResultHandler<unknown>>();

  register<R>(kind: WorkKind, handler: WorkResultHandler<R>): void {
    if (this.handlers.has(kind)) throw new Error(`a result handler for ${kind} is already registered`);
    this.handlers.set(kind, handler as WorkResultHandler<unknown>);
  }

  handlerOf(kind: string): WorkResultHandler<unknown> | undefined {
    return this.handlers.get(kind);
  }
}

export function noHandler(kind: string): CosignerError {
  return new CosignerError('NOT_FOUND', `no result handler is registered for work of kind ${kind.slice(0, 40)}`, { reason: 'no-result-handler' });
}
