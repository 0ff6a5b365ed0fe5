// The ORM factory: one place that turns a connection string and pool settings into a MikroORM.
import { MikroORM, type Options } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver, type EntityManager } from '@mikro-orm/postgresql';
import { fileURLToPath } from 'node:url';
import { entities } from './entities/index.js';
import { migrationsList } from './migrations/index.js';

export type { EntityManager } from '@mikro-orm/postgresql';
export type ChatOrm = MikroORM<PostgreSqlDriver>;

export interface PoolSettings {
  /** Connections kept open when idle. */
  min?: number;
  /** Upper bound on open connections. */
  max?: number;
  /** How long a query waits for a free connection before failing. */
  acquireTimeoutMs?: number;
}

export interface ConnectionTimeouts {
  /** statement_timeout: a statement running longer is cancelled (0 or absent: none). */
  statementMs?: number;
  /** lock_timeout: a statement waiting longer for a row lock is cancelled. */
  lockMs?: number;
  /** idle_in_transaction_session_timeout: a transaction left idle longer is ended. */
  idleInTransactionMs?: number;
}

export interface DatabaseOptions {
  /** A `postgres://` connection string. */
  url: string;
  pool?: PoolSettings;
  /** Receives MikroORM's own log lines (queries when `debug` is on). */
  logger?: (message: string) => void;
  debug?: boolean;
  /** Set on every pooled connection, so no call can hold a connection forever. */
  timeouts?: ConnectionTimeouts;
  /** Connect at creation (default) or on first use. */
  connect?: boolean;
  /** Keep the schema snapshot beside the migrations up to date (only when authoring migrations). */
  writeSnapshot?: boolean;
}

/** Where `migration:create` writes and the snapshot lives (the source folder under tsx). */
export const migrationsPath = fileURLToPath(new URL('./migrations', import.meta.url));

export function defineDatabaseConfig(options: DatabaseOptions): Options<PostgreSqlDriver> {
  const {
    url,
    pool = {},
    logger,
    debug = false,
    writeSnapshot = false,
    connect = true,
    timeouts = {},
  } = options;
  return {
    driver: PostgreSqlDriver,
    clientUrl: url,
    entities,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: true },
    // Each request forks its own EntityManager; touching the global one is a bug.
    allowGlobalContext: false,
    forceUtcTimezone: true,
    ensureDatabase: false,
    connect,
    debug,
    ...(logger ? { logger } : {}),
    pool: {
      min: pool.min ?? 0,
      max: pool.max ?? 10,
      acquireTimeoutMillis: pool.acquireTimeoutMs ?? 5_000,
    },
    // node-postgres sends these as startup parameters of each connection.
    driverOptions: {
      connection: {
        ...(timeouts.statementMs ? { statement_timeout: timeouts.statementMs } : {}),
        ...(timeouts.lockMs ? { lock_timeout: timeouts.lockMs } : {}),
        ...(timeouts.idleInTransactionMs
          ? { idle_in_transaction_session_timeout: timeouts.idleInTransactionMs }
          : {}),
      },
    },
    schemaGenerator: { createForeignKeyConstraints: false },
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: migrationsPath,
      snapshot: writeSnapshot,
      snapshotName: '.snapshot-chat',
      // An explicit list: no file globbing, so the same code runs from src/ and dist/.
      migrationsList,
      transactional: true,
      allOrNothing: true,
      emit: 'ts',
      silent: true,
    },
  };
}

export async function createOrm(options: DatabaseOptions): Promise<ChatOrm> {
  return MikroORM.init(defineDatabaseConfig(options));
}

/**
 * A fresh EntityManager for one unit of work (one procedure call, one job): its own identity map,
 * never shared between calls that run at the same time.
 */
export function forkEntityManager(orm: ChatOrm): EntityManager {
  return orm.em.fork({ clear: true, useContext: false });
}

/** The connection pool right now: what /metrics reports as pool usage. */
export interface PoolUsage {
  /** The configured upper bound. */
  max: number;
  /** Connections lent to a query or transaction. */
  used: number;
  /** Open connections waiting for work. */
  idle: number;
  /** Callers waiting for a connection. */
  pendingAcquires: number;
  /** Connections being opened. */
  pendingCreates: number;
}

interface TarnPool {
  max: number;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

/** Reads knex's pool (tarn) under MikroORM; all zero before the pool exists. */
export function poolUsage(orm: ChatOrm): PoolUsage {
  const client = orm.em.getConnection().getKnex().client as { pool?: TarnPool | null };
  const pool = client.pool;
  if (!pool) return { max: 0, used: 0, idle: 0, pendingAcquires: 0, pendingCreates: 0 };
  return {
    max: pool.max,
    used: pool.numUsed(),
    idle: pool.numFree(),
    pendingAcquires: pool.numPendingAcquires(),
    pendingCreates: pool.numPendingCreates(),
  };
}

/**
 * Refuses a database that cannot store every string the api accepts: anything but UTF-8 would
 * turn an emoji into an error (or a "?") instead of storing it as sent.
 */
export async function assertUtf8Database(orm: ChatOrm): Promise<void> {
  const [row] = await orm.em
    .getConnection()
    .execute<{ server_encoding: string }[]>('show server_encoding');
  const encoding = row?.server_encoding ?? 'unknown';
  if (encoding.toUpperCase() !== 'UTF8') {
    throw new Error(
      `the database's encoding is ${encoding}, not UTF8: messages could not be stored exactly as sent. ` +
        "Create it with ENCODING 'UTF8'.",
    );
  }
}
