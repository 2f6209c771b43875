// The OpenAPI document of every route, generated from their schemas (@fastify/swagger).
import type { FastifyPluginAsync } from 'fastify';

export const docsRoutes: FastifyPluginAsync = async (app) => {
  app.get('/docs/json', { config: { auth: 'none' }, schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { config: { auth: 'none' }, schema: { hide: true } }, async () => ({ ok: true }));
};
