// JSON bodies are kept as the exact bytes received, because the request JWT signs their SHA-256
// (reference §5.1). An empty body with Content-Type application/json is accepted as "no body"
// (the ts-sdk's cancelTransaction sends one, §5.2). Malformed JSON is not answered here, before
// authentication: it is remembered and refused with 400 right after the caller is authenticated.
import fp from 'fastify-plugin';

export const MALFORMED_JSON = Symbol('malformed JSON body');
const EMPTY = Buffer.alloc(0);

declare module 'fastify' {
  interface FastifyRequest {
    rawBody: Buffer;
  }
}

export const rawBodyPlugin = fp(
  async (app) => {
    app.decorateRequest('rawBody', null as unknown as Buffer);
    // Requests without a body (GET, DELETE, no Content-Type) hash as the empty body.
    app.addHook('onRequest', async (req) => {
      req.rawBody = EMPTY;
    });
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
      req.rawBody = body;
      if (body.length === 0) return done(null, undefined);
      try {
        done(null, JSON.parse(body.toString('utf8')));
      } catch {
        done(null, MALFORMED_JSON);
      }
    });
  },
  { name: 'raw-body' },
);
