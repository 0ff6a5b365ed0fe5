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

  it('GET /readyz answers 503 when the database does not', async () => {
    const nowhere = withDatabase(`postgres://postgres@127.0.0.1:${await freePort()}`, 'nothing');
    const orm = await createOrm({ url: nowhere, connect: false });
    const env = parseEnv(envSchema, { NODE_ENV: 'test', DATABASE_URL: nowhere });
    const app = await buildServer({ env, orm, logger: pino({ level: 'silent' }) });
    try {
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: 'unavailable', database: false });
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
