// One error shape for every failure: JSON {message, code} with a numeric code (never `null`,
// never a stack, never input echoed back). Fastify's own errors (validation, body too large,
// unsupported media type, unknown route) are mapped into it; anything unexpected is logged and
// answered as a plain internal error.
import fp from 'fastify-plugin';
import type { FastifyError } from 'fastify';
import { isCosignerError } from '../../shared/errors.js';
import { ApiCode, ApiError } from '../api-error.js';
import { cosignerHttpError, isCosignerRoute } from '../cosigners/http-errors.js';

export const errorsPlugin = fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError | ApiError | Error, request, reply) => {
      if (error instanceof ApiError) {
        return reply.status(error.statusCode).send({ message: error.message, code: error.code });
      }
      const fe = error as FastifyError;
      if (fe.validation) {
        const first = fe.validation[0];
        const where = first?.instancePath ? ` at ${first.instancePath}` : '';
        return reply.status(400).send({ message: `Invalid request${where}: ${first?.message ?? 'does not match the schema'}`, code: ApiCode.INVALID_REQUEST });
      }
      switch (fe.code) {
        case 'FST_ERR_CTP_BODY_TOO_LARGE':
          return reply.status(413).send({ message: 'Request body is too large', code: ApiCode.BODY_TOO_LARGE });
        case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
          return reply.status(415).send({ message: 'Unsupported Content-Type: send application/json', code: ApiCode.UNSUPPORTED_MEDIA_TYPE });
        case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        case 'FST_ERR_CTP_EMPTY_JSON_BODY':
          return reply.status(400).send({ message: 'Invalid request body', code: ApiCode.INVALID_REQUEST });
      }
      if (isCosignerError(error, 'ASSET_UNKNOWN')) return reply.status(404).send({ message: error.message, code: ApiCode.UNKNOWN_ASSET });
      if (isCosignerError(error) && isCosignerRoute(request.routeOptions.url)) {
        // One line per refusal, with the typed code only: messages may name inputs, never secrets.
        request.log.info({ errorCode: error.code, reason: error.details?.reason }, 'co-signer API request refused');
        const mapped = cosignerHttpError(error);
        if (mapped) return reply.status(mapped.status).send({ message: error.message, code: mapped.code });
      }
      if (isCosignerError(error) && error.code !== 'INTERNAL') {
        // Typed errors from our own modules carry messages written for the caller.
        return reply.status(400).send({ message: error.message, code: ApiCode.INVALID_REQUEST });
      }
      if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
        return reply.status(fe.statusCode).send({ message: 'Invalid request', code: ApiCode.INVALID_REQUEST });
      }
      request.log.error({ errorName: error.name, code: fe.code }, 'request failed');
      return reply.status(500).send({ message: 'Internal error', code: ApiCode.INTERNAL });
    });
    app.setNotFoundHandler((_request, reply) => reply.status(404).send({ message: 'Not found', code: ApiCode.NOT_FOUND }));
  },
  { name: 'errors' },
);
