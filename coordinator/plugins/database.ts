// The `db` decoration: one Kysely instance per coordinator, migrated before the first route runs,
// destroyed on close. Every state transition a route makes runs in db.transaction().
import fp from 'fastify-plugin';
import { migrate, type Db } from '../storage/database.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
  }
}

export const databasePlugin = fp<{ db: Db }>(
  async (app, { db }) => {
    await migrate(db);
    app.decorate('db', db);
    app.addHook('onClose', async () => {
      await db.destroy();
    });
  },
  { name: 'database' },
);
