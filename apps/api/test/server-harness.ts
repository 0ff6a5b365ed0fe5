// Starts the real api in-process on port 0 against this test file's database, and makes real
// tRPC clients for it.
import { createTRPCClient, httpBatchLink, httpLink, type TRPCClient } from '@trpc/client';
import type { AppRouter } from '../src/root.js';
import { tokenFor, type RunningServer, type TokenOptions } from '../src/testing.js';

export {
  startServer,
  tokenFor,
  TEST_SECRET,
  type RunningServer,
  type TokenOptions,
} from '../src/testing.js';

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

/** The integer that `select (<expression>)` gives on the server's own database. */
export async function countOf(
  server: RunningServer,
  expression: string,
  params: unknown[] = [],
): Promise<number> {
  const rows = await server.orm.em
    .fork()
    .getConnection()
    .execute<{ n: number }[]>(`select (${expression})::int as n`, params);
  return rows[0]?.n ?? Number.NaN;
}
