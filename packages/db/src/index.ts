export * from './entities/index.js';
export {
  assertUtf8Database,
  createOrm,
  defineDatabaseConfig,
  forkEntityManager,
  migrationsPath,
  poolUsage,
  type ChatOrm,
  type ConnectionTimeouts,
  type DatabaseOptions,
  type EntityManager,
  type PoolSettings,
  type PoolUsage,
} from './orm.js';
export { migrateToLatest, pendingMigrations, type MigrationResult } from './migrate.js';
export {
  booleanFlag,
  databaseEnvSchema,
  loadDotEnv,
  parseEnv,
  type DatabaseEnv,
} from './settings.js';
export { resolveDatabase, EMBEDDED_DATABASE_NAME, type DatabaseTarget } from './connect.js';
export {
  startEmbeddedPostgres,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
} from './embedded.js';
export { createDatabase, dropDatabase, withDatabase, databaseName } from './admin.js';
export * from './store/index.js';
export { freePort } from './testing/ports.js';
export {
  checkIntegrity,
  repairOrphans,
  sequenceUsage,
  type Finding,
  type IntegrityReport,
  type Repair,
  type SequenceUsage,
} from './integrity.js';
