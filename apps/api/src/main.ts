// Starts the server: configuration, database (embedded when DATABASE_URL is unset), migrations,
// HTTP; and stops it in the reverse order on SIGTERM or SIGINT, during start-up as well. With
// API_WORKERS > 1 this process prepares the database and runs that many server processes.
import cluster from 'node:cluster';
import { resolveDatabase, type ChatOrm, type DatabaseTarget } from '@chat/db';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createServerOrm } from './database.js';
import { loadEnv, type Env } from './env.js';
import { awaitStartup, prepareDatabase } from './lifecycle.js';
import { runPrimary } from './primary.js';
import { buildServer } from './server.js';

/** What has been started so far, stopped in reverse order. */
interface Running {
  database?: DatabaseTarget;
  orm?: ChatOrm;
  app?: FastifyInstance;
}

async function main(): Promise<void> {
  const env = loadEnv();
  const logger = pino({
    level: env.LOG_LEVEL,
    base: { service: 'chat-api', ...(cluster.isWorker ? { worker: cluster.worker?.id } : {}) },
  });
  if (cluster.isPrimary && env.API_WORKERS > 1) {
    await runPrimary(env, logger);
    return;
  }
  const running: Running = {};

  const stopping: { promise?: Promise<void> } = {};
  // A stop waits for start-up to reach a safe point, so it tears down everything that started.
  let startup: Promise<void> = Promise.resolve();
  const stop = (reason: string) =>
    (stopping.promise ??= startup
      .catch(() => undefined)
      .then(() => shutdown(running, env, logger, reason))
      .then(
        () => {
          logger.info('stopped');
          // A worker's channel to its primary would keep it alive: close it so the process ends.
          if (cluster.isWorker) process.disconnect();
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exitCode = 1;
        },
      ));
  // A signal may arrive while starting: start-up checks this between its slow steps.
  const isStopping = () => stopping.promise !== undefined;
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));

  const start = async () => {
    if (env.AUTH_SECRET && env.AUTH_SECRET.length < 32) {
      logger.warn('AUTH_SECRET is shorter than 32 characters: HS256 wants a 256-bit secret');
    }
    running.database = await resolveDatabase(env, (message) => {
      logger.info(message);
    });
    if (isStopping()) return;
    running.orm = await createServerOrm(env, running.database.url);
    await prepareDatabase(env, running.orm, logger);
    if (isStopping()) return;
    running.app = await buildServer({ env, orm: running.orm, logger });
    if (isStopping()) return;
    await running.app.listen({ host: env.HOST, port: env.PORT });
  };
  startup = start();
  await awaitStartup(startup, stop);
}

async function shutdown(
  running: Running,
  env: Env,
  logger: pino.Logger,
  reason: string,
): Promise<void> {
  logger.info({ reason }, 'shutting down: draining in-flight calls');
  const force = setTimeout(() => {
    logger.error({ timeoutMs: env.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting');
    process.exit(1);
  }, env.SHUTDOWN_TIMEOUT_MS);
  force.unref();
  try {
    await running.app?.close(); // stops accepting, waits for in-flight requests
    await running.orm?.close();
    await running.database?.embedded?.stop();
  } finally {
    clearTimeout(force);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `chat-api failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
