// Starts the server: configuration, database (embedded when DATABASE_URL is unset), migrations,
// HTTP; and stops it in the reverse order on SIGTERM or SIGINT.
import { createOrm, migrateToLatest, resolveDatabase } from '@chat/db';
import { pino } from 'pino';
import { loadEnv } from './env.js';
import { buildServer } from './server.js';

async function main(): Promise<void> {
  const env = loadEnv();
  const logger = pino({ level: env.LOG_LEVEL, base: { service: 'chat-api' } });

  const database = await resolveDatabase(env, (message) => {
    logger.info(message);
  });
  const orm = await createOrm({
    url: database.url,
    pool: { max: env.DB_POOL_MAX, acquireTimeoutMs: env.DB_ACQUIRE_TIMEOUT_MS },
  });
  if (env.MIGRATE_ON_START) {
    const { applied } = await migrateToLatest(orm);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }

  const app = await buildServer({ env, orm, logger });
  await app.listen({ host: env.HOST, port: env.PORT });

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight calls');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: env.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting');
      process.exit(1);
    }, env.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    try {
      await app.close(); // stops accepting, waits for in-flight requests
      await orm.close();
      await database.embedded?.stop();
      logger.info('stopped');
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exitCode = 1;
    } finally {
      clearTimeout(force);
    }
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

main().catch((error: unknown) => {
  // Start-up failures (bad configuration, unreachable database) end the process with one clear line.
  process.stderr.write(
    `chat-api failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
