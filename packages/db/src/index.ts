export * from './entities/index.js';
export {
  createOrm,
  defineDatabaseConfig,
  forkEntityManager,
  migrationsPath,
  type ChatOrm,
  type DatabaseOptions,
  type EntityManager,
  type PoolSettings,
} from './orm.js';
export { migrateToLatest, pendingMigrations, type MigrationResult } from './migrate.js';
export { databaseEnvSchema, parseEnv, type DatabaseEnv } from './settings.js';
export { resolveDatabase, EMBEDDED_DATABASE_NAME, type DatabaseTarget } from './connect.js';
export {
  startEmbeddedPostgres,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
} from './embedded.js';
export { createDatabase, dropDatabase, withDatabase, databaseName } from './admin.js';
export * from './store/index.js';
