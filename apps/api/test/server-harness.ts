// Starts the real api in-process on port 0 against this test file's database, and makes real
// tRPC clients for it.
import { createOrm, parseEnv, type ChatOrm } from '@chat/db';
import { createTRPCClient, httpBatchLink, httpLink, type TRPCClient } from '@trpc/client';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { envSchema, type Env } from '../src/env.js';
import type { AppRouter } from '../src/root.js';
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

export type TestClient = TRPCClient<AppRouter>;

/** A real tRPC client for `username` (batched unless `batch: false`). */
export async function clientFor(
  server: RunningServer,
  username: string,
  { batch = true, ...token }: TokenOptions & { batch?: boolean } = {},
): Promise<TestClient> {
  const authorization = `Bearer ${await tokenFor(username, token)}`;
  const options = { url: `${server.url}/trpc`, headers: () => ({ authorization }) };
  return createTRPCClient<AppRouter>({
    links: [
      batch
        ? httpBatchLink({ ...options, maxItems: server.env.MAX_BATCH_SIZE })
        : httpLink(options),
    ],
  });
}

/** The tRPC error code a failed call carries, or 'ok'. */
export async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    const data = (error as { data?: { code?: string } }).data;
    return data?.code ?? `not a tRPC error: ${String(error)}`;
  }
}

/** Raw HTTP to the tRPC endpoint, for what the typed client cannot send. */
export async function rawCall(
  server: RunningServer,
  path: string,
  init: {
    method?: string;
    body?: string;
    token?: string;
    headers?: Record<string, string>;
    query?: string;
  } = {},
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${server.url}/trpc/${path}${init.query ?? ''}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body };
}
