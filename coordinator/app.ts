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
import { installValidators } from './plugins/validation.js';
import { idempotencyPlugin } from './plugins/idempotency.js';
import { vaultAccountRoutes } from './routes/vault-accounts.js';
import { docsRoutes } from './routes/docs.js';
import { supportedAssetRoutes } from './routes/supported-assets.js';
import { transactionRoutes } from './routes/transactions.js';
import { tapPolicyRoutes } from './routes/tap-policy.js';
import type { AssetCatalogue } from './assets/index.js';
import { externalWalletRoutes } from './routes/external-wallets.js';
import { WorkQueue } from './work-queue/work-queue.js';
import { webhookRoutes } from './routes/webhooks.js';
import { apiUserRoutes } from './routes/api-users.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { webhookSigningKey, type WebhookKey } from './secrets/service-keys.js';
import { createLogger } from '../shared/log.js';
import { mpcPlugin, type MpcOptions } from './plugins/mpc.js';
import { vaultWalletRoutes, type BalanceOf } from './routes/vault-wallets.js';
import { TransferPipeline, evmAsset, type ChainOptions } from './transfers/transfer-pipeline.js';
import { AWS_NITRO_ROOT_G1_DER } from '../shared/attestation/verify.js';
import { cosignerServiceKey, type ServiceKey } from './secrets/service-keys.js';
import { WorkResults } from './cosigners/work-results.js';
import { DEFAULT_PAIRING_TOKEN_TTL_MS } from './cosigners/pairing-tokens.js';
import { DEFAULT_ATTESTATION_MAX_AGE_MS } from './cosigners/pairing.js';
import { DEFAULT_ACCESS_TOKEN_TTL_MS } from './cosigners/access-tokens.js';
import { DEFAULT_LEASE_MS } from './work-queue/work-queue.js';
import { whitelistApplier } from './external-wallets/config-change.js';
import { configChangeResults } from './config-changes/apply-change.js';
import { tapApplier } from './policy/tap-change.js';
import { cosignerPolicyApplier } from './policy/cosigner-policy-change.js';
import { configChangeRoutes } from './routes/config-changes.js';
import { cosignerPolicyRoutes } from './routes/cosigner-policy.js';
import type { MpcPartyEndpoint } from './mpc/party-endpoint.js';
import { authenticateCosignerPlugin } from './plugins/authenticate-cosigner.js';
import { cosignerPairingRoutes } from './routes/cosigner-pairing.js';
import { cosignerAuthRoutes } from './routes/cosigner-auth.js';
import { cosignerWorkRoutes } from './routes/cosigner-work.js';
import { cosignerMpcRoutes } from './routes/cosigner-mpc.js';
import { cosignerRunLogRoutes } from './routes/cosigner-run-log.js';

export interface AppOptions {
  db: Db;
  assets: AssetCatalogue;
  masterKey: MasterKey;
  logger?: Logger | false;
  bodyLimit?: number;
  maxTokenLifetimeSeconds?: number;
  clockSkewSeconds?: number;
  /** How often the webhook dispatcher looks for due deliveries (default 250 ms). */
  webhookIntervalMs?: number;
  /** The coordinator's MPC party (its lock journal, how to verify paired co-signers); absent → no MPC sessions. */
  mpc?: MpcOptions;
  /** Balances from a chain node (chains/); absent → reading a wallet's balance answers 503. Default with `chain`: from it. */
  balanceOf?: BalanceOf;
  /** The EVM chain transfers are built, broadcast and followed on (transfers/); absent → TRANSFERs stay QUEUED. */
  chain?: ChainOptions;
  /** The URL co-signers reach this coordinator at (pairing tokens carry it); default: the request's own. */
  publicUrl?: string;
  /** Trust anchor of co-signers' attestation documents: AWS Nitro Root-G1 (pinned) unless told, e.g. the NSM emulator's root.pem. */
  attestationRoot?: string | Uint8Array;
  /** Let a workspace with no PCR expectations pair any non-debug enclave (development; default false). */
  allowAnyPcrs?: boolean;
  /** Oldest attestation document accepted at pairing (default 5 min). */
  attestationMaxAgeMs?: number;
  /** Pairing token lifetime when the request names none (default 24 h). */
  pairingTokenTtlMs?: number;
  /** Co-signer access token lifetime (default 5 min). */
  cosignerAccessTokenTtlMs?: number;
  /** Lease of a work item delivered to a co-signer (default 60 s). */
  cosignerLeaseMs?: number;
  /** A stand-in for the MPC party the relay calls (tests of the relay); default: the app's own (`mpc` option); neither → 503. */
  mpcParty?: MpcPartyEndpoint;
}

declare module 'fastify' {
  interface FastifyInstance {
    masterKey: MasterKey;
    assets: AssetCatalogue;
    workQueue: WorkQueue;
    webhookKey: () => Promise<WebhookKey>;
    webhooks: WebhookDispatcher;
    /** Present when the app runs with a chain (`chain` option). */
    transfers?: TransferPipeline;
    cosignerServiceKey: () => Promise<ServiceKey>;
    /** What a work item's result does, by kind (cosigners/work-results.ts). */
    workResults: WorkResults;
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
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  installValidators(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.decorate('masterKey', opts.masterKey);
  app.decorate('assets', opts.assets);
  const chain = opts.chain;
  const fromChain: BalanceOf | null = chain ? async (asset, address) => ({ balance: await chain.adapter.balance(address as `0x${string}`, evmAsset(asset)) }) : null;
  app.decorate<BalanceOf | null>('balanceOf', opts.balanceOf ?? fromChain);
  await app.register(swagger, {
    openapi: {
      info: { title: 'nitro-cosigner coordinator', version: '0.1.0', description: 'The Fireblocks REST API subset the official SDKs use, and the coordinator\'s own extensions (approvals, pairing, the co-signer queue).' },
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' }, bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (RS256, Fireblocks request signing)' }, cosignerAccessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'opaque co-signer access token (csa_…)' } } },
      security: [{ apiKey: [], bearer: [] }],
    },
  });
  await app.register(errorsPlugin);
  await app.register(databasePlugin, { db: opts.db });
  app.decorate('workQueue', new WorkQueue(opts.db));
  // The service key (Ed25519, instant) is made on first start, so its fingerprint is stable from then on.
  let serviceKey: Promise<ServiceKey> | undefined;
  app.decorate('cosignerServiceKey', () => (serviceKey ??= cosignerServiceKey(opts.db, opts.masterKey)));
  app.addHook('onReady', async () => void (await app.cosignerServiceKey()));
  const workResults = new WorkResults();
  // What each CCK-approved configuration change does (config-changes/apply-change.ts).
  workResults.register('CONFIG_CHANGE_APPROVAL', configChangeResults({
    ADD_WHITELISTED_ADDRESS: whitelistApplier(opts.assets),
    PUBLISH_TAP: tapApplier,
    SET_ENCLAVE_POLICY: cosignerPolicyApplier,
  }, opts.logger || createLogger('config-changes', { level: 'silent' })));
  app.decorate('workResults', workResults);
  await app.register(mpcPlugin, { mpc: opts.mpc });
  if (chain) {
    const pipeline = new TransferPipeline(opts.db, opts.assets, app.masterKeys, app.workQueue, chain, opts.logger || createLogger('transfers', { level: 'silent' }));
    app.decorate('transfers', pipeline);
    app.addHook('onReady', async () => pipeline.start());
    app.addHook('preClose', async () => pipeline.stop());
  }
  // The webhook key is made (RSA-4096, about a second) on first use, not at every start.
  let key: Promise<WebhookKey> | undefined;
  app.decorate('webhookKey', () => (key ??= webhookSigningKey(opts.db, opts.masterKey)));
  const dispatcher = new WebhookDispatcher(opts.db, app.webhookKey, opts.logger || createLogger('webhooks', { level: 'silent' }), opts.webhookIntervalMs);
  app.decorate('webhooks', dispatcher);
  app.addHook('onReady', async () => dispatcher.start());
  app.addHook('preClose', async () => dispatcher.stop());
  await app.register(rawBodyPlugin);
  await app.register(authenticateCosignerPlugin);
  await app.register(authenticatePlugin, {
    maxLifetimeSeconds: opts.maxTokenLifetimeSeconds ?? DEFAULTS.maxTokenLifetimeSeconds,
    clockSkewSeconds: opts.clockSkewSeconds ?? DEFAULTS.clockSkewSeconds,
  });
  await app.register(idempotencyPlugin);
  await app.register(docsRoutes);
  await app.register(vaultAccountRoutes);
  await app.register(vaultWalletRoutes);
  await app.register(supportedAssetRoutes);
  await app.register(transactionRoutes);
  await app.register(tapPolicyRoutes);
  await app.register(cosignerPolicyRoutes);
  await app.register(configChangeRoutes);
  await app.register(externalWalletRoutes);
  await app.register(webhookRoutes);
  await app.register(apiUserRoutes);
  await app.register(cosignerPairingRoutes, { publicUrl: opts.publicUrl, pairingTokenTtlMs: opts.pairingTokenTtlMs ?? DEFAULT_PAIRING_TOKEN_TTL_MS });
  await app.register(cosignerAuthRoutes, {
    pairing: { attestationRoot: opts.attestationRoot ?? AWS_NITRO_ROOT_G1_DER, allowAnyPcrs: opts.allowAnyPcrs ?? false, attestationMaxAgeMs: opts.attestationMaxAgeMs ?? DEFAULT_ATTESTATION_MAX_AGE_MS },
    accessTokenTtlMs: opts.cosignerAccessTokenTtlMs ?? DEFAULT_ACCESS_TOKEN_TTL_MS,
  });
  await app.register(cosignerWorkRoutes, { leaseMs: opts.cosignerLeaseMs ?? DEFAULT_LEASE_MS });
  await app.register(cosignerMpcRoutes, { party: opts.mpcParty ?? app.mpcParty ?? undefined });
  await app.register(cosignerRunLogRoutes);
  return app;
}
