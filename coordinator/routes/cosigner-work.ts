// The co-signer's work: long poll (held up to 30 s, answered the moment an item is available,
// given up when the co-signer hangs up), heartbeats that keep a lease, and idempotent results.
// Every delivered item is signed with the service key; every poll and result carries the
// enclave's signed state report, and a co-signer presenting an older state gets no work.
import type { FastifyPluginAsync } from 'fastify';
import { ErrorJson, HeartbeatResponse, PollQuery, PollResponse, ResultRequest, ResultResponse, WorkItemParams } from '../../shared/cosigner-api/wire.js';
import { signWorkItem } from '../../shared/cosigner-api/work-item-signature.js';
import { cosignerOf } from '../plugins/authenticate-cosigner.js';
import { recordStateReport } from '../cosigners/state-versions.js';
import { noHandler } from '../cosigners/work-results.js';
import { CosignerError } from '../../shared/errors.js';
import { LONG_POLL_MS } from '../work-queue/work-queue.js';

export const cosignerWorkRoutes: FastifyPluginAsync<{ leaseMs: number }> = async (app, opts) => {
  // Polls being held, so that closing the coordinator answers them at once instead of waiting 30 s.
  const held = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const a of held) a.abort();
  });

  app.get<{ Querystring: PollQuery }>('/cosigner/v1/work', {
    config: { auth: 'cosigner' },
    schema: {
      tags: ['co-signer API'], summary: 'Long poll for the next work item (held up to waitMs, at most 30 s)',
      security: [{ cosignerAccessToken: [] }], querystring: PollQuery, response: { 200: PollResponse, 401: ErrorJson, 409: ErrorJson },
    },
  }, async (request, reply) => {
    const cosigner = cosignerOf(request);
    const q = request.query;
    await recordStateReport(app.db, cosigner, { stateVersion: q.stateVersion, stateDigest: q.stateDigest, at: q.stateAt, signature: q.stateSignature }, 'poll');
    const abort = new AbortController();
    // The response closing before we answered means the co-signer hung up: stop holding its poll.
    const onClose = () => {
      if (!reply.raw.writableFinished) abort.abort();
    };
    reply.raw.once('close', onClose);
    held.add(abort);
    try {
      const item = await app.workQueue.poll([cosigner.workspace_id], cosigner.id, { holdMs: q.waitMs ?? LONG_POLL_MS, leaseMs: opts.leaseMs, signal: abort.signal });
      if (!item) return { item: null, signature: null };
      if (abort.signal.aborted) {
        // Leased for a co-signer that is gone: give it back rather than wait out the lease.
        await app.workQueue.release(item.id, cosigner.id);
        return { item: null, signature: null };
      }
      // Authentication was checked when the poll began; a co-signer revoked (or whose API user was
      // disabled) while it was held gets nothing, and the item goes back at once to the others.
      const still = await app.db.selectFrom('cosigners').innerJoin('api_users', 'api_users.id', 'cosigners.api_user_id')
        .select('cosigners.id').where('cosigners.id', '=', cosigner.id).where('api_users.enabled', '=', 1).executeTakeFirst();
      if (!still) {
        await app.workQueue.release(item.id, cosigner.id);
        request.log.warn({ cosignerId: cosigner.id, workItem: item.id }, 'a held poll of a revoked or disabled co-signer got no work');
        return { item: null, signature: null };
      }
      request.log.info({ cosignerId: cosigner.id, workItem: item.id, kind: item.kind, attempt: item.attempt }, 'work item leased');
      return { item, signature: signWorkItem(item, (await app.cosignerServiceKey()).privateKey) };
    } finally {
      held.delete(abort);
      reply.raw.off('close', onClose);
    }
  });

  app.post<{ Params: { id: string } }>('/cosigner/v1/work/:id/heartbeat', {
    config: { auth: 'cosigner' },
    schema: {
      tags: ['co-signer API'], summary: 'Extend the lease of a work item this co-signer holds',
      security: [{ cosignerAccessToken: [] }], params: WorkItemParams, response: { 200: HeartbeatResponse, 401: ErrorJson, 409: ErrorJson },
    },
  }, async (request) => {
    const cosigner = cosignerOf(request);
    return { leaseExpiresAt: await app.workQueue.heartbeat(request.params.id, cosigner.id, opts.leaseMs) };
  });

  app.post<{ Params: { id: string }; Body: ResultRequest }>('/cosigner/v1/work/:id/result', {
    config: { auth: 'cosigner' },
    schema: {
      tags: ['co-signer API'], summary: 'Report the result of a work item (idempotent: the same result again is a no-op)',
      security: [{ cosignerAccessToken: [] }], params: WorkItemParams, body: ResultRequest, response: { 200: ResultResponse, 401: ErrorJson, 404: ErrorJson, 409: ErrorJson },
    },
  }, async (request) => {
    const cosigner = cosignerOf(request);
    const { id } = request.params;
    const item = await app.db.selectFrom('work_items').select(['kind', 'workspace_id']).where('id', '=', id).executeTakeFirst();
    if (!item || item.workspace_id !== cosigner.workspace_id) throw new CosignerError('NOT_FOUND', 'no such work item');
    await recordStateReport(app.db, cosigner, request.body.state, `result:${id}`);
    const handler = app.workResults.handlerOf(item.kind);
    if (!handler) throw noHandler(item.kind);
    const result = handler.parse(request.body.result);
    const status = await app.workQueue.complete(id, cosigner.id, request.body.result, (trx, row) => handler.apply(trx, row, result));
    request.log.info({ cosignerId: cosigner.id, workItem: id, kind: item.kind, status }, 'work result reported');
    return { status };
  });
};
