// Starts the real api in-process on port 0 against this test file's database.
import { createOrm, type ChatOrm } from '@chat/db';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { parseEnv } from '@chat/db';
import { envSchema, type Env } from '../src/env.js';
import { buildServer } from '../src/server.js';

export interface RunningServer {
  app: FastifyInstance;
  orm: ChatOrm;
  env: Env;
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256!';

export async function startServer(
  databaseUrl: string,
  overrides: Record<string, string> = {},
): Promise<RunningServer> {
  const env = parseEnv(envSchema, {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    AUTH_SECRET: TEST_SECRET,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    PORT: '0',
    ...overrides,
  });
  const logger = pino({ level: env.LOG_LEVEL });
  const orm = await createOrm({
    url: databaseUrl,
    pool: { max: env.DB_POOL_MAX, acquireTimeoutMs: env.DB_ACQUIRE_TIMEOUT_MS },
  });
  const app = await buildServer({ env, orm, logger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address !== 'object') throw new Error('server has no address');
  return {
    app,
    orm,
    env,
    url: `http://127.0.0.1:${address.port}`,
    async close() {
      await app.close();
      await orm.close();
    },
  };
}
