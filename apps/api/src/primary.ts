// API_WORKERS > 1: this process owns the database (the embedded one included) and its migrations,
// then runs the workers that serve; on SIGTERM or SIGINT it lets them drain, then stops the
// database. A worker that dies is replaced.
import cluster, { type Worker } from 'node:cluster';
import { resolveDatabase, type DatabaseTarget } from '@chat/db';
import type { Logger } from 'pino';
import { resolveKeySource } from './auth/secret.js';
import { createServerOrm } from './database.js';
import type { Env } from './env.js';
import { awaitStartup, prepareDatabase } from './lifecycle.js';
import { serveClusterMetrics } from './metrics.js';

export async function runPrimary(env: Env, logger: Logger): Promise<void> {
  let database: DatabaseTarget | undefined;
  /** Live workers, each with a promise of its exit (made at fork: a worker may exit first). */
  const workers = new Map<Worker, Promise<void>>();
  let stopping: Promise<void> | undefined;

  // A stop waits for start-up to reach a safe point, so it tears down everything that started.
  let startup: Promise<void> = Promise.resolve();
  const stop = (reason: string) =>
    (stopping ??= (async () => {
      await startup.catch(() => undefined);
      logger.info({ reason, workers: workers.size }, 'shutting down: workers drain their calls');
      const force = setTimeout(() => {
        logger.error(
          { timeoutMs: env.SHUTDOWN_TIMEOUT_MS },
          'shutdown timed out; stopping the database and exiting',
        );
        for (const worker of workers.keys()) worker.process.kill('SIGKILL');
        void (database?.embedded?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
      }, env.SHUTDOWN_TIMEOUT_MS + 2_000);
      force.unref();
      for (const worker of workers.keys()) worker.process.kill('SIGTERM');
      await Promise.all(workers.values());
      await database?.embedded?.stop();
      clearTimeout(force);
      logger.info('stopped');
    })());
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));

  const start = async () => {
    database = await resolveDatabase(env, (message) => {
      logger.info(message);
    });
    const orm = await createServerOrm(env, database.url);
    try {
      await prepareDatabase(env, orm, logger);
    } finally {
      await orm.close();
    }
    await resolveKeySource(env); // makes the development secret once, before the workers read it
  };
  startup = start();
  await awaitStartup(startup, stop);
  if (stopping || !database) return; // a signal came while starting: stop() has it in hand

  // Each worker takes its share of the per-user rate limit: connections are spread evenly.
  const workerEnv = {
    DATABASE_URL: database.url,
    MIGRATE_ON_START: 'false',
    RATE_LIMIT_PER_MINUTE: String(Math.ceil(env.RATE_LIMIT_PER_MINUTE / env.API_WORKERS)),
    RATE_LIMIT_BURST: String(Math.ceil(env.RATE_LIMIT_BURST / env.API_WORKERS)),
  };
  const fork = () => {
    const worker = cluster.fork(workerEnv);
    let listening = false;
    workers.set(
      worker,
      new Promise<void>((resolve) => {
        worker.once('exit', () => {
          resolve();
        });
      }),
    );
    worker.once('listening', () => {
      listening = true;
    });
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) return;
      if (!listening) {
        // It never served: a configuration or port problem that another try would repeat.
        logger.error({ worker: worker.id, code, signal }, 'a worker failed to start');
        process.exitCode = 1;
        void stop('a worker failed to start');
        return;
      }
      logger.error({ worker: worker.id, code, signal }, 'a worker died; starting another in 1 s');
      setTimeout(() => {
        if (!stopping) fork();
      }, 1_000);
    });
  };
  serveClusterMetrics();
  for (let i = 0; i < env.API_WORKERS; i++) fork();
  logger.info({ workers: env.API_WORKERS }, 'workers started');
}
