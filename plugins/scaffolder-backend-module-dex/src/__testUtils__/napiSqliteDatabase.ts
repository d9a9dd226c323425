import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import knexFactory, { Knex } from 'knex';

/**
 * better-sqlite3 12 (what @backstage/backend-defaults' database service loads) aborts the whole
 * Node 24 process when the garbage collector finalizes one of its Statements outside a Node
 * context ("Assertion failed: (env) != nullptr" in RemoveEnvironmentCleanupHook), which jest
 * triggers within seconds. better-sqlite3 13 (Node-API) does not; backend-defaults pins ^12 as a
 * peer, so the tests load 13 under an alias through a knex client of their own: one in-memory
 * database per plugin, as the default service gives.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const BetterSqlite3Client: new (config: Knex.Config) => Knex.Client = require('knex/lib/dialects/better-sqlite3');

class NapiBetterSqlite3Client extends BetterSqlite3Client {
  _driver() {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('better-sqlite3-napi');
  }
}

export const napiSqliteDatabaseFactory = createServiceFactory({
  service: coreServices.database,
  deps: {},
  async factory() {
    const knex = knexFactory({
      client: NapiBetterSqlite3Client as unknown as typeof Knex.Client,
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
      // One connection that lives as long as the backend: the in-memory database is the connection.
      pool: {
        min: 1,
        max: 1,
        idleTimeoutMillis: 2 ** 31 - 1,
        afterCreate: (conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        },
      },
    });
    // Plugins tell dialects apart by the configured client name (e.g. catalog's sqlite migrations).
    knex.client.config.client = 'better-sqlite3';
    // Not destroyed on shutdown: the scheduler and task workers may still query while the
    // backend stops, and an in-memory database needs no cleanup.
    return { getClient: async () => knex, migrations: { skip: false } };
  },
});
