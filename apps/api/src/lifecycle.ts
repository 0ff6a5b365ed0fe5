// Start-up steps shared by the single process (main.ts) and the cluster primary (primary.ts).
import { assertUtf8Database, migrateToLatest, type ChatOrm } from '@chat/db';
import type { Logger } from 'pino';
import type { Env } from './env.js';

/** The database must be UTF-8; pending migrations are applied when MIGRATE_ON_START is set. */
export async function prepareDatabase(env: Env, orm: ChatOrm, logger: Logger): Promise<void> {
  await assertUtf8Database(orm);
  if (!env.MIGRATE_ON_START) return;
  const { applied } = await migrateToLatest(orm);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
}

/**
 * Waits for start-up; if it fails, says why in one line, stops whatever had started (an embedded
 * database above all) and ends the process with code 1.
 */
export async function awaitStartup(
  startup: Promise<void>,
  stop: (reason: string) => Promise<void>,
): Promise<void> {
  try {
    await startup;
  } catch (error) {
    process.stderr.write(
      `chat-api failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    await stop('start-up failed');
    process.exit(1);
  }
}
