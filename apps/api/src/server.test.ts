import { createOrm, parseEnv, withDatabase } from '@chat/db';
import { freePort, useTestDatabase } from '@chat/db/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../test/server-harness.js';
import { envSchema } from './env.js';
import { buildServer } from './server.js';

const db = useTestDatabase();
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(db.url);
});
afterAll(async () => {
  await server.close();
});

describe('plain HTTP beside tRPC', () => {
  it('GET /healthz answers 200 while the process is alive', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 when the database answers', async () => {
    const response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', database: true });
  });

  it('GET /readyz answers 503 when the database does not, and /metrics still answers', async () => {
    const nowhere = withDatabase(`postgres://postgres@127.0.0.1:${await freePort()}`, 'nothing');
    const orm = await createOrm({ url: nowhere, connect: false });
    const env = parseEnv(envSchema, { NODE_ENV: 'test', DATABASE_URL: nowhere });
    const app = await buildServer({ env, orm, logger: pino({ level: 'silent' }) });
    try {
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: 'unavailable', database: false });
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toMatch(/^chat_db_pool_waiting \d+$/m);
    } finally {
      await app.close();
      await orm.close();
    }
  });
});

describe('tRPC at /trpc', () => {
  it('answers an unknown procedure with a tRPC NOT_FOUND error', async () => {
    const response = await fetch(`${server.url}/trpc/nothing.here`);
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { data: { code: string } } };
    expect(body.error.data.code).toBe('NOT_FOUND');
  });

  it('accepts a full batch in the URL (each call answered on its own)', async () => {
    const paths = Array.from(
      { length: server.env.MAX_BATCH_SIZE },
      () => 'conversation.nothingHere',
    ).join(',');
    const response = await fetch(`${server.url}/trpc/${paths}?batch=1`);
    expect(response.status).toBe(404);
    const body = (await response.json()) as unknown[];
    expect(body).toHaveLength(server.env.MAX_BATCH_SIZE);
  });

  it('refuses a batch over the cap with 400 and runs nothing', async () => {
    const paths = Array.from({ length: server.env.MAX_BATCH_SIZE + 1 }, () => 'nothing.here').join(
      ',',
    );
    const response = await fetch(`${server.url}/trpc/${paths}?batch=1`);
    expect(response.status).toBe(400);
  });
});

describe('CORS', () => {
  it('answers only the configured origins, and none by default', async () => {
    const preflight = (origin: string, url: string) =>
      fetch(`${url}/trpc/user.me`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      });
    const none = await preflight('https://app.example.com', server.url);
    expect(none.headers.get('access-control-allow-origin')).toBeNull();

    const allowing = await startServer(db.url, {
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
    });
    try {
      const allowed = await preflight('https://app.example.com', allowing.url);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
      const refused = await preflight('https://evil.example.com', allowing.url);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await allowing.close();
    }
  });
});

describe('GET /metrics', () => {
  it('counts calls by procedure and code, statements, pool and send-queue usage, and the id runway', async () => {
    await fetch(`${server.url}/trpc/user.me`); // UNAUTHORIZED
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^chat_trpc_calls_total\{procedure="user\.me",code="UNAUTHORIZED"\} 1$/m);
    expect(text).toMatch(/^chat_db_statements_total \d+$/m);
    expect(text).toMatch(/^chat_id_sequence_used_ratio\{table="messages"\} [\d.e-]+$/m);
    expect(text).toMatch(/^chat_db_pool_connections\{state="max"\} 10$/m);
    expect(text).toMatch(/^chat_db_pool_connections\{state="used"\} \d+$/m);
    expect(text).toMatch(/^chat_db_pool_waiting 0$/m);
    expect(text).toMatch(/^chat_send_queue_waiting 0$/m);
    expect(text).toMatch(/^chat_send_rows_total \d+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });
});
