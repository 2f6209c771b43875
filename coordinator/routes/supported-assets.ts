// GET /v1/supported_assets (reference §2 row 14).
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { SupportedAssetSchema } from '../assets/index.js';

export const supportedAssetRoutes: FastifyPluginAsync = async (app) => {
  app.get('/v1/supported_assets', {
    config: { permission: 'read' },
    schema: { tags: ['assets'], summary: 'Supported assets', response: { 200: Type.Array(SupportedAssetSchema) } },
  }, async () => app.assets.supportedAssets());
};
