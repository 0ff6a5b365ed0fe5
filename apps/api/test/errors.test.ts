// Every error code of the contract, each with the HTTP status and body a caller relies on.
import { createOrm, parseEnv, withDatabase } from '@chat/db';
import { freePort, useTestDatabase } from '@chat/db/testing';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envSchema } from '../src/env.js';
import { buildServer } from '../src/server.js';
import { exchange, request } from './raw-http.js';
import {
  TEST_SECRET,
  clientFor,
  codeOf,
  rawCall,
  startServer,
  tokenFor,
  countOf,
  type RunningServer,
} from './server-harness.js';

const db = useTestDatabase();
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(db.url, { NODE_ENV: 'production', RATE_LIMIT_PER_MINUTE: '0' });
});
afterAll(async () => {
  await server.close();
});

const count = (sql: string) => countOf(server, sql);

interface ErrorBody {
  error: {
    message: string;
    code: number;
    data: { code: string; httpStatus: number; zodError: unknown };
  };
}

describe('BAD_REQUEST', () => {
  it('carries the flattened field errors and stores nothing', async () => {
    const client = await clientFor(server, 'val');
    const conversation = await client.conversation.create.mutate({});
    const before = await count('select count(*) from messages');
    const error = await client.message.send
      .mutate({ conversationId: conversation.id, content: '' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      data: {
        code: 'BAD_REQUEST',
        httpStatus: 400,
        zodError: { fieldErrors: { content: [expect.any(String)] } },
      },
    });
    expect((error as Error).message).toMatch(/^invalid input: content: /);
    expect(await count('select count(*) from messages')).toBe(before);
  });

  it('echoes only a bounded part of the input: 5,000 unknown keys of 300 characters', async () => {
    const token = await tokenFor('val');
    const keys = Array.from({ length: 5_000 }, (_, i) => [`${String(i)}${'k'.repeat(300)}`, 1]);
    const sent = JSON.stringify(Object.fromEntries(keys));
    const response = await fetch(`${server.url}/trpc/conversation.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: sent,
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect((JSON.parse(text) as ErrorBody).error.data.code).toBe('BAD_REQUEST');
    expect(sent.length).toBeGreaterThan(1_500_000);
    expect(text.length).toBeLessThan(4_000);
  });

  it('answers malformed JSON as BAD_REQUEST too', async () => {
    const token = await tokenFor('val');
    const { status, body } = await rawCall(server, 'conversation.create', {
      body: '{"name": ',
      token,
    });
    expect(status).toBe(400);
    expect((body as ErrorBody).error.data.code).toBe('BAD_REQUEST');
  });

  it('refuses a batch over MAX_BATCH_SIZE with 400 and runs none of it', async () => {
    const token = await tokenFor('val');
    const calls = server.env.MAX_BATCH_SIZE + 1;
    const before = await count('select count(*) from conversations');
    const paths = Array.from({ length: calls }, () => 'conversation.create').join(',');
    const body = JSON.stringify(
      Object.fromEntries(Array.from({ length: calls }, (_, i) => [i, { name: 'x' }])),
    );
    const response = await rawCall(server, paths, { body, token, query: '?batch=1' });
    expect(response.status).toBe(400);
    expect(await count('select count(*) from conversations')).toBe(before);
  });
});

describe('UNAUTHORIZED', () => {
  it('without a token the call touches nothing', async () => {
    const before = await count('select count(*) from conversations');
    const { status, body } = await rawCall(server, 'conversation.create', { body: '{}' });
    expect(status).toBe(401);
    expect((body as ErrorBody).error.data.code).toBe('UNAUTHORIZED');
    expect(await count('select count(*) from conversations')).toBe(before);
  });

  it('a token signed with another secret', async () => {
    const client = await clientFor(server, 'mallory', { secret: `${TEST_SECRET}-not` });
    expect(await codeOf(client.user.me.query())).toBe('UNAUTHORIZED');
  });
});

describe('PAYLOAD_TOO_LARGE', () => {
  it('runs nothing pipelined after a refused body on the same connection', async () => {
    const small = await startServer(db.url, { BODY_LIMIT_BYTES: '1024' });
    try {
      const client = await clientFor(small, 'piper', { batch: false });
      const { id } = await client.conversation.create.mutate({});
      const token = await tokenFor('piper');
      const call = (body: string) =>
        request('POST', '/trpc/message.send', {
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body,
          last: false,
        });
      const tooBig = JSON.stringify({ conversationId: id, content: 'x'.repeat(5_000) });
      const fine = JSON.stringify({ conversationId: id, content: 'pipelined after a 413' });
      const got = await exchange(small.url, call(tooBig) + call(fine));
      // One answer, the 413 saying the connection closes; the call behind it never ran.
      expect(got.answers.map((answer) => answer.status)).toEqual([413]);
      expect(got.answers[0]?.headers.get('connection')).toBe('close');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(
        await countOf(small, 'select count(*) from messages where conversation_id = ?', [id]),
      ).toBe(0);
    } finally {
      await small.close();
    }
  });

  it('a body over BODY_LIMIT_BYTES gets 413 in tRPC’s shape, single or batched', async () => {
    const small = await startServer(db.url, { BODY_LIMIT_BYTES: '4096' });
    try {
      const client = await clientFor(small, 'big', { batch: false });
      const conversation = await client.conversation.create.mutate({});
      const content = 'x'.repeat(5_000);
      expect(
        await codeOf(client.message.send.mutate({ conversationId: conversation.id, content })),
      ).toBe('PAYLOAD_TOO_LARGE');
      const batched = await clientFor(small, 'big');
      expect(
        await codeOf(batched.message.send.mutate({ conversationId: conversation.id, content })),
      ).toBe('PAYLOAD_TOO_LARGE');
      const raw = await rawCall(small, 'message.send', {
        body: JSON.stringify({ conversationId: conversation.id, content }),
        token: await tokenFor('big'),
      });
      expect(raw.status).toBe(413);
      expect((raw.body as ErrorBody).error).toMatchObject({
        code: TRPC_ERROR_CODES_BY_KEY.PAYLOAD_TOO_LARGE,
        data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 },
      });
    } finally {
      await small.close();
    }
  });
});

describe('TOO_MANY_REQUESTS', () => {
  it('counts every call of a batch against the caller’s budget, and only the caller’s', async () => {
    const limited = await startServer(db.url, {
      RATE_LIMIT_PER_MINUTE: '60',
      RATE_LIMIT_BURST: '5',
    });
    try {
      const greedy = await clientFor(limited, 'greedy');
      const codes = await Promise.all(
        Array.from({ length: 8 }, () => codeOf(greedy.user.me.query())),
      );
      expect(codes.filter((code) => code === 'ok')).toHaveLength(5);
      expect(codes.filter((code) => code === 'TOO_MANY_REQUESTS')).toHaveLength(3);
      const patient = await clientFor(limited, 'patient');
      expect(await codeOf(patient.user.me.query())).toBe('ok');
    } finally {
      await limited.close();
    }
  });
});

describe('TOO_MANY_REQUESTS, calls at once', () => {
  it('bounds the calls one user has running at once (MAX_CONCURRENT_PER_USER)', async () => {
    const bounded = await startServer(db.url, {
      RATE_LIMIT_PER_MINUTE: '0',
      MAX_CONCURRENT_PER_USER: '2',
    });
    try {
      const token = await tokenFor('eager');
      // One batch of five: its calls run together, so three find both slots taken.
      const { body } = await rawCall(
        bounded,
        Array.from({ length: 5 }, () => 'user.me').join(','),
        {
          token,
          query: '?batch=1',
        },
      );
      const codes = (body as { result?: unknown; error?: { data: { code: string } } }[]).map(
        (answer) => answer.error?.data.code ?? 'ok',
      );
      expect(codes.filter((code) => code === 'ok')).toHaveLength(2);
      expect(codes.filter((code) => code === 'TOO_MANY_REQUESTS')).toHaveLength(3);
      // Slots are given back: the next call passes.
      expect(await codeOf((await clientFor(bounded, 'eager')).user.me.query())).toBe('ok');
    } finally {
      await bounded.close();
    }
  });
});

describe('SERVICE_UNAVAILABLE', () => {
  it('when the database cannot be reached: fast, retryable, no details', async () => {
    const nowhere = withDatabase(`postgres://postgres@127.0.0.1:${await freePort()}`, 'nothing');
    const env = parseEnv(envSchema, {
      NODE_ENV: 'production',
      DATABASE_URL: nowhere,
      AUTH_SECRET: TEST_SECRET,
    });
    const orm = await createOrm({
      url: nowhere,
      connect: false,
      pool: { acquireTimeoutMs: 1_000 },
    });
    const app = await buildServer({ env, orm, logger: pino({ level: 'silent' }) });
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/trpc/user.me',
        headers: { authorization: `Bearer ${await tokenFor('anyone')}` },
      });
      expect(response.statusCode).toBe(503);
      const body = response.json<ErrorBody>();
      expect(body.error.data.code).toBe('SERVICE_UNAVAILABLE');
      expect(body.error.message).toBe('the database is unavailable; safe to retry');
    } finally {
      await app.close();
      await orm.close();
    }
  });

  it('when every pooled connection stays busy past DB_ACQUIRE_TIMEOUT_MS', async () => {
    const tight = await startServer(db.url, { DB_POOL_MAX: '1', DB_ACQUIRE_TIMEOUT_MS: '300' });
    try {
      const client = await clientFor(tight, 'queued');
      await client.user.me.query();
      const hog = tight.orm.em.fork().getConnection().execute('select pg_sleep(1.5)');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      const queued = codeOf(client.user.me.query());
      await new Promise((resolve) => setTimeout(resolve, 100));
      // What an operator sees meanwhile: the one connection lent out, a caller waiting for it.
      const metrics = await (await fetch(`${tight.url}/metrics`)).text();
      expect(metrics).toMatch(/^chat_db_pool_connections\{state="used"\} 1$/m);
      expect(metrics).toMatch(/^chat_db_pool_connections\{state="max"\} 1$/m);
      expect(metrics).toMatch(/^chat_db_pool_waiting 1$/m);
      expect(await queued).toBe('SERVICE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(1_400); // it gave up, it did not wait for the hog
      await hog;
      expect(await codeOf(client.user.me.query())).toBe('ok');
    } finally {
      await tight.close();
    }
  });
});

describe('INTERNAL_SERVER_ERROR', () => {
  it('in production says nothing about SQL, tables, constraints or the stack', async () => {
    const client = await clientFor(server, 'victim');
    const conversation = await client.conversation.create.mutate({});
    const connection = server.orm.em.fork().getConnection();
    await connection.execute('alter table messages rename to messages_away');
    try {
      const { status, body } = await rawCall(server, 'message.list', {
        token: await tokenFor('victim'),
        query: `?input=${encodeURIComponent(JSON.stringify({ conversationId: conversation.id }))}`,
      });
      expect(status).toBe(500);
      const text = JSON.stringify(body);
      expect((body as ErrorBody).error.message).toBe('Internal server error');
      expect(text).not.toMatch(/messages|relation|select|stack|\.ts|at /i);
    } finally {
      await connection.execute('alter table messages_away rename to messages');
    }
  });
});

describe('errors fastify meets before tRPC', () => {
  it('answers an undecodable URL and an over-long batch path in tRPC’s shape, echoing neither', async () => {
    const bad = await fetch(`${server.url}/trpc/%E0%A4`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { data: { code: 'BAD_REQUEST', httpStatus: 400 } },
    });

    const paths = Array.from({ length: 700 }, () => 'user.me').join(',');
    const long = await fetch(`${server.url}/trpc/${paths}?batch=1`);
    expect(long.status).toBe(414);
    const text = await long.text();
    expect(text).not.toContain('user.me,user.me');
    expect(JSON.parse(text)).toMatchObject([{ error: { data: { code: 'BAD_REQUEST' } } }]);
  });
});

describe('input a caller without TypeScript sends', () => {
  it('accepts JSON null for procedures without input, and for optional inputs (the README batch)', async () => {
    const token = await tokenFor('plain');
    const { status, body } = await rawCall(server, 'user.me,conversation.list', {
      token,
      query: `?batch=1&input=${encodeURIComponent('{"0":null,"1":{}}')}`,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject([
      { result: { data: { username: 'plain' } } },
      { result: { data: { items: [] } } },
    ]);
    const list = await rawCall(server, 'conversation.list', { token, query: '?input=null' });
    expect(list.status).toBe(200);
    const created = await rawCall(server, 'conversation.create', { token, body: 'null' });
    expect(created.body).toMatchObject({ result: { data: { name: null } } });
  });

  it('bounds a name’s surrounding whitespace: 200 characters after trimming, 1,000 as sent', async () => {
    const client = await clientFor(server, 'spacey');
    const padded = `${' '.repeat(400)}${'n'.repeat(200)}${' '.repeat(400)}`;
    expect((await client.conversation.create.mutate({ name: padded })).name).toBe(padded);
    expect(await codeOf(client.conversation.create.mutate({ name: `${padded} ` }))).toBe(
      'BAD_REQUEST',
    );
    expect(
      await codeOf(client.conversation.create.mutate({ name: `x${' '.repeat(3_000_000)}` })),
    ).toBe('BAD_REQUEST');
  });
});
