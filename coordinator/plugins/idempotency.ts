// Idempotency-Key on POST requests (reference §1: both SDKs send it when the caller gives one).
// The first request with a key reserves it before its handler runs; its answer (any status below
// 500) is stored and replayed for every later request with the same key and the same method, URL
// and body — so a client retrying after a lost answer gets the first result, not a second
// transaction. The same key with another request, or while the first is still running, is 409.
// Keys are per API user.
//
// A coordinator that dies between a handler's commit and storing its answer leaves the key
// PENDING. After STALE_MS such a key is recovered: a route that creates something declares
// `config.idempotencyRecover`, which finds what the first request made (the transaction stores its
// key in the same database transaction) and the answer is rebuilt from it; if it finds nothing, or
// the route declares no recovery, the request runs again.
import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { ApiCode, ApiError } from '../api-error.js';
import { isUniqueViolation } from './authenticate.js';

const PENDING = -1;
/** Far longer than any handler takes; a PENDING key older than this belongs to a dead process. */
export const STALE_MS = 30_000;

export type IdempotencyRecover = (request: FastifyRequest, key: string, userId: string) => Promise<{ statusCode: number; body: unknown } | null>;

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { key: string; userId: string } | null;
  }
  interface FastifyContextConfig {
    idempotencyRecover?: IdempotencyRecover;
  }
}

export const idempotencyPlugin = fp(
  async (app) => {
    app.decorateRequest('idempotency', null);
    app.addHook('preHandler', async (request, reply) => {
      const key = request.headers['idempotency-key'];
      if (request.method !== 'POST' || typeof key !== 'string' || !request.apiUser) return;
      if ((request.routeOptions.config as { answersWithSecret?: boolean }).answersWithSecret) {
        // Its answer is a secret shown once: storing it for replay would keep it in the database.
        throw new ApiError(400, ApiCode.INVALID_REQUEST, 'This route does not take an Idempotency-Key (its answer holds a secret that is not stored)');
      }
      if (key.length === 0 || key.length > 128) throw new ApiError(400, ApiCode.INVALID_REQUEST, 'Idempotency-Key must be 1..128 characters');
      const hash = createHash('sha256').update(request.method).update('\0').update(request.url).update('\0').update(request.rawBody).digest('hex');
      const userId = request.apiUser.id;
      const reserve = async (): Promise<boolean> => {
        try {
          await app.db.insertInto('idempotency_keys').values({ api_user_id: userId, idem_key: key, request_hash: hash, status_code: PENDING, response: '', created_at: Date.now() }).execute();
          request.idempotency = { key, userId };
          return true;
        } catch (e) {
          if (!isUniqueViolation(e)) throw e;
          return false;
        }
      };
      if (await reserve()) return;
      const prior = await app.db.selectFrom('idempotency_keys').selectAll().where('api_user_id', '=', userId).where('idem_key', '=', key).executeTakeFirstOrThrow();
      if (prior.request_hash !== hash) throw new ApiError(409, ApiCode.CONFLICT, 'This Idempotency-Key was used with a different request');
      if (prior.status_code === PENDING) {
        if (Date.now() - Number(prior.created_at) < STALE_MS) throw new ApiError(409, ApiCode.CONFLICT, 'A request with this Idempotency-Key is still being processed; retry shortly');
        const recovered = await request.routeOptions.config.idempotencyRecover?.(request, key, userId);
        const stale = (q: any) => q.where('api_user_id', '=', userId).where('idem_key', '=', key).where('status_code', '=', PENDING).where('created_at', '=', prior.created_at);
        if (recovered) {
          const body = JSON.stringify(recovered.body);
          await stale(app.db.updateTable('idempotency_keys').set({ status_code: recovered.statusCode, response: body })).execute();
          request.log.warn({ idempotencyKey: key }, 'idempotency key left pending by a stopped process: answer rebuilt from what it made');
          return reply.status(recovered.statusCode).header('content-type', 'application/json; charset=utf-8').header('idempotent-replayed', 'true').send(body);
        }
        // Nothing was made: run the request again (one of two racing retries wins the new reservation).
        await stale(app.db.deleteFrom('idempotency_keys')).execute();
        if (await reserve()) {
          request.log.warn({ idempotencyKey: key }, 'idempotency key left pending by a stopped process: running the request again');
          return;
        }
        throw new ApiError(409, ApiCode.CONFLICT, 'A request with this Idempotency-Key is still being processed; retry shortly');
      }
      request.log.info({ idempotencyKey: key }, 'idempotent replay');
      return reply.status(prior.status_code).header('content-type', 'application/json; charset=utf-8').header('idempotent-replayed', 'true').send(prior.response);
    });
    app.addHook('onSend', async (request, reply, payload) => {
      const idem = request.idempotency;
      if (!idem) return payload;
      request.idempotency = null;
      const where = (q: any) => q.where('api_user_id', '=', idem.userId).where('idem_key', '=', idem.key);
      if (reply.statusCode >= 500) {
        // Nothing is known to have happened: let a retry run again.
        await where(app.db.deleteFrom('idempotency_keys')).execute();
      } else {
        await where(app.db.updateTable('idempotency_keys').set({ status_code: reply.statusCode, response: typeof payload === 'string' ? payload : String(payload ?? '') })).execute();
      }
      return payload;
    });
  },
  { name: 'idempotency', dependencies: ['authenticate'] },
);
