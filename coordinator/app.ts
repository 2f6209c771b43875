// The coordinator as one fastify instance: cross-cutting concerns are named plugins that decorate
// it (the database, authentication, raw bodies, errors), and each resource is a route plugin that
// uses those decorations (delvedor/fastify-example's shape). buildApp() is what `serve` runs and
// what every route test builds (test/coordinator/support/build-app.ts).
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from '../shared/log.js';
import { DEFAULTS } from './config.js';
import type { MasterKey } from './secrets/master-key.js';
import type { Db } from './storage/database.js';
import { authenticatePlugin } from './plugins/authenticate.js';
import { databasePlugin } from './plugins/database.js';
import { errorsPlugin } from './plugins/errors.js';
import { rawBodyPlugin } from './plugins/raw-body.js';
import { vaultAccountRoutes } from './routes/vault-accounts.js';
import { docsRoutes } from './routes/docs.js';
import { supportedAssetRoutes } from './routes/supported-assets.js';
import { transactionRoutes } from './routes/transactions.js';
import { tapPolicyRoutes } from './routes/tap-policy.js';
import type { AssetCatalogue } from './assets/index.js';

export interface AppOptions {
  db: Db;
  assets: AssetCatalogue;
  masterKey: MasterKey;
  logger?: Logger | false;
  bodyLimit?: number;
  maxTokenLifetimeSeconds?: number;
  clockSkewSeconds?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    masterKey: MasterKey;
    assets: AssetCatalogue;
  }
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger || undefined,
    logger: opts.logger === false ? false : undefined,
    bodyLimit: opts.bodyLimit ?? DEFAULTS.bodyLimit,
    // Requests are identified in logs and answers (X-Request-ID, reference §4).
    requestIdHeader: false,
    genReqId: () => crypto.randomUUID(),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.decorate('masterKey', opts.masterKey);
  app.decorate('assets', opts.assets);
  await app.register(swagger, {
    openapi: {
      info: { title: 'nitro-cosigner coordinator', version: '0.1.0', description: 'The Fireblocks REST API subset the official SDKs use, and the coordinator\'s own extensions (approvals, pairing, the co-signer queue).' },
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' }, bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (RS256, Fireblocks request signing)' } } },
      security: [{ apiKey: [], bearer: [] }],
    },
  });
  await app.register(errorsPlugin);
  await app.register(databasePlugin, { db: opts.db });
  await app.register(rawBodyPlugin);
  await app.register(authenticatePlugin, {
    maxLifetimeSeconds: opts.maxTokenLifetimeSeconds ?? DEFAULTS.maxTokenLifetimeSeconds,
    clockSkewSeconds: opts.clockSkewSeconds ?? DEFAULTS.clockSkewSeconds,
  });
  await app.register(docsRoutes);
  await app.register(vaultAccountRoutes);
  await app.register(supportedAssetRoutes);
  await app.register(transactionRoutes);
  await app.register(tapPolicyRoutes);
  return app;
}
