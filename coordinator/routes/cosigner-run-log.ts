// The co-signer's run.log (its setup and configuration history, shared/cosigner-api/run-log.ts):
// a paired co-signer replaces its copy (co-signer access token, text/plain, 1 MiB at most), and an
// admin of the workspace (users:manage) reads the latest copy with the time it arrived, for support.
// The text is the parent's, so it is stored and shown as data; the size bound is checked on the
// bytes before anything is parsed.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ErrorJson } from '../../shared/cosigner-api/wire.js';
import { MAX_RUN_LOG_BYTES, RUN_LOG_PATH, RunLogReceipt, RunLogView } from '../../shared/cosigner-api/run-log.js';
import { cosignerOf } from '../plugins/authenticate-cosigner.js';
import { userOf } from '../plugins/authenticate.js';
import { ApiCode, ApiError, notFound } from '../api-error.js';

export const cosignerRunLogRoutes: FastifyPluginAsync = async (app) => {
  app.put<{ Body: string }>(RUN_LOG_PATH, {
    config: { auth: 'cosigner' },
    bodyLimit: MAX_RUN_LOG_BYTES,
    // After authentication, before the schema: a JSON body would parse, and a JSON string pass.
    preValidation: async (request) => {
      if (!/^text\/plain(;|$)/i.test(request.headers['content-type'] ?? '')) throw new ApiError(415, ApiCode.UNSUPPORTED_MEDIA_TYPE, 'Unsupported Content-Type: send text/plain');
    },
    schema: {
      tags: ['co-signer API'], summary: 'Replace this co-signer\'s copy of its run.log (text/plain, at most 1 MiB)',
      security: [{ cosignerAccessToken: [] }],
      consumes: ['text/plain'],
      body: Type.String(),
      response: { 200: RunLogReceipt, 401: ErrorJson, 413: ErrorJson, 415: ErrorJson },
    },
  }, async (request) => {
    const cosigner = cosignerOf(request);
    const content = request.body;
    const row = { workspace_id: cosigner.workspace_id, content, size_bytes: Buffer.byteLength(content), received_at: Date.now() };
    await app.db.insertInto('cosigner_run_logs').values({ cosigner_id: cosigner.id, ...row })
      .onConflict((oc) => oc.column('cosigner_id').doUpdateSet(row)).execute();
    request.log.info({ cosignerId: cosigner.id, sizeBytes: row.size_bytes }, 'co-signer run.log received');
    return { receivedAt: row.received_at, sizeBytes: row.size_bytes };
  });

  const Params = Type.Object({ cosignerId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }, { additionalProperties: false });
  app.get<{ Params: Static<typeof Params> }>('/v1/cosigners/:cosignerId/run_log', {
    config: { permission: 'users:manage' },
    schema: { tags: ['co-signer pairing'], summary: 'The latest run.log a co-signer of this workspace sent, and when it arrived (ours)', params: Params, response: { 200: RunLogView, 404: ErrorJson } },
  }, async (request) => {
    const admin = userOf(request);
    const row = await app.db.selectFrom('cosigner_run_logs').selectAll().where('cosigner_id', '=', request.params.cosignerId).where('workspace_id', '=', admin.workspace_id).executeTakeFirst();
    if (!row) throw notFound('No run.log from that co-signer in this workspace');
    return { cosignerId: row.cosigner_id, receivedAt: Number(row.received_at), sizeBytes: Number(row.size_bytes), runLog: row.content };
  });
};
