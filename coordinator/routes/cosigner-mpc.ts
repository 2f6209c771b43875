// The MPC relay of the co-signer API: the session channel's handshake with the coordinator's
// opening messages, and one round of encrypted frames in, the party's answers out
// (cosigners/mpc-relay.ts keeps delivery exactly once). Only the co-signer holding the session's
// work item may speak in it.
import type { FastifyPluginAsync } from 'fastify';
import { ErrorJson, MpcMessagesRequest, MpcMessagesResponse, MpcOpeningRequest, MpcOpeningResponse, MpcSessionParams } from '../../shared/cosigner-api/wire.js';
import { ApiError } from '../api-error.js';
import { CosignerApiCode } from '../cosigners/http-errors.js';
import { relayMessages, relayOpening } from '../cosigners/mpc-relay.js';
import type { MpcPartyEndpoint } from '../mpc/party-endpoint.js';
import { cosignerOf } from '../plugins/authenticate-cosigner.js';

export const MPC_BODY_LIMIT = 4 * 1024 * 1024;

export const cosignerMpcRoutes: FastifyPluginAsync<{ party?: MpcPartyEndpoint }> = async (app, opts) => {
  const party = (): MpcPartyEndpoint => {
    if (!opts.party) throw new ApiError(503, CosignerApiCode.MPC_UNAVAILABLE, 'This coordinator has no MPC party configured');
    return opts.party;
  };
  const errors = { 401: ErrorJson, 403: ErrorJson, 409: ErrorJson, 422: ErrorJson, 503: ErrorJson };
  const responses = { 200: MpcMessagesResponse, ...errors };

  app.post<{ Params: { sessionId: string }; Body: { hello: unknown } }>('/cosigner/v1/mpc/:sessionId/opening', {
    config: { auth: 'cosigner' },
    schema: {
      tags: ['co-signer API'], summary: 'Open an MPC session\'s end-to-end channel with the co-signer\'s hello: the coordinator\'s hello and its first frames ([] when it does not speak first). The same hello again gets the same answer.',
      security: [{ cosignerAccessToken: [] }], params: MpcSessionParams, body: MpcOpeningRequest, response: { 200: MpcOpeningResponse, ...errors },
    },
  }, async (request) => relayOpening(app.db, party(), cosignerOf(request), request.params.sessionId, request.body.hello));

  app.post<{ Params: { sessionId: string }; Body: { messages: unknown[] } }>('/cosigner/v1/mpc/:sessionId/messages', {
    config: { auth: 'cosigner' },
    // Key generation's round 3 is ~200 KiB of CBOR (~270 KiB as base64): above the API's default limit.
    bodyLimit: MPC_BODY_LIMIT,
    schema: { tags: ['co-signer API'], summary: 'Deliver one round of the co-signer\'s encrypted MPC frames; answers with the party\'s (a retry gets the same answer)', security: [{ cosignerAccessToken: [] }], params: MpcSessionParams, body: MpcMessagesRequest, response: responses },
  }, async (request, reply) => {
    const cosigner = cosignerOf(request);
    const out = await relayMessages(app.db, party(), cosigner, request.params.sessionId, request.body.messages);
    if (out.replayed) reply.header('mpc-replayed', 'true');
    request.log.info({ cosignerId: cosigner.id, session: request.params.sessionId, in: request.body.messages.length, out: out.messages.length, replayed: out.replayed }, 'MPC round relayed');
    return { messages: out.messages };
  });
};
