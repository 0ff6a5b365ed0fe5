import pg from 'pg';
import type { ChatOrm } from './orm.js';

/** Any constant works; it only has to be the same in every process migrating this database. */
const MIGRATION_LOCK_KEY = 0x63686174; // 'chat'

export interface MigrationResult {
  applied: string[];
}

/**
 * Applies pending migrations (all in one transaction) while holding an advisory lock on a
 * connection of its own, so servers starting together migrate once: the others wait, then find
 * nothing to do.
 */
export async function migrateToLatest(orm: ChatOrm): Promise<MigrationResult> {
  const lock = new pg.Client({ connectionString: orm.config.get('clientUrl') });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const ran = await orm.migrator.up();
    return { applied: ran.map((m) => m.name) };
  } finally {
    // Closing the session releases the lock, even if unlocking was never reached.
    await lock.end();
  }
}

export async function pendingMigrations(orm: ChatOrm): Promise<string[]> {
  const pending = await orm.migrator.getPendingMigrations();
  return pending.map((m) => m.name);
}
