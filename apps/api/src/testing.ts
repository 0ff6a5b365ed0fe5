// Test support for this package and its consumers (`@chat/api/testing`): the real server
// in-process on port 0, and tokens it accepts.
import { parseEnv, type ChatOrm } from '@chat/db';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { createServerOrm } from './database.js';
import { envSchema, type Env } from './env.js';
import { buildServer } from './server.js';

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
    LOG_LEVEL: 'silent',
    PORT: '0',
    ...overrides,
  });
  const logger = pino({ level: env.LOG_LEVEL });
  const orm = await createServerOrm(env, databaseUrl);
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

export interface TokenOptions {
  email?: string;
  expiresIn?: string;
  secret?: string;
}

/** An HS256 token for `username`, signed with the test secret unless told otherwise. */
export async function tokenFor(username: string, options: TokenOptions = {}): Promise<string> {
  return new SignJWT(options.email === undefined ? {} : { email: options.email })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(username)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
}
