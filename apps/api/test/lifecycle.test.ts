// The server as a process: start, serve, drain and stop on a signal, on a given or embedded database.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withDatabase } from '@chat/db';
import { freePort, useTestDatabase } from '@chat/db/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToken, spawnApi, waitForStatus } from './process-harness.js';
import { TEST_SECRET, tokenFor } from './server-harness.js';

const db = useTestDatabase();

describe('with DATABASE_URL', () => {
  it('serves the contract to a caller that knows only HTTP and JSON, then exits 0 on SIGTERM', async () => {
    const api = spawnApi(await freePort(), {
      DATABASE_URL: db.url,
      AUTH_SECRET: TEST_SECRET,
      NODE_ENV: 'production',
    });
    await waitForStatus(api, '/readyz', 200);
    const headers = {
      authorization: `Bearer ${await tokenFor('plain-http')}`,
      'content-type': 'application/json',
    };
    const post = async (path: string, input: unknown) => {
      const response = await fetch(`${api.url}/trpc/${path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(input),
      });
      return {
        status: response.status,
        body: (await response.json()) as { result: { data: Record<string, unknown> } },
      };
    };
    const created = await post('conversation.create', { name: 'over curl' });
    expect(created.status).toBe(200);
    const conversationId = created.body.result.data.id;
    const sent = await post('message.send', { conversationId, content: 'hello' });
    expect(sent.body.result.data).toMatchObject({ conversationId, role: 'user', content: 'hello' });
    const page = await fetch(
      `${api.url}/trpc/message.list?input=${encodeURIComponent(JSON.stringify({ conversationId }))}`,
      { headers },
    );
    expect(await page.json()).toEqual({
      result: { data: { items: [sent.body.result.data], nextCursor: null } },
    });
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    expect(api.output()).toContain('shutting down');
  });

  it('warns in its log when an id sequence has used most of its 32-bit range', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query("select setval('conversations_id_seq', 1932735282)"); // 90%
    await admin.end();
    const api = spawnApi(await freePort(), { DATABASE_URL: db.url, AUTH_SECRET: TEST_SECRET });
    await waitForStatus(api, '/readyz', 200);
    expect(api.output()).toMatch(/ids of conversations are 90\.0% used/);
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
  });

  it('stops at start with a clear message when production has no AUTH_SECRET', async () => {
    const api = spawnApi(await freePort(), { DATABASE_URL: db.url, NODE_ENV: 'production' });
    expect(await api.exited).toBe(1);
    expect(api.output()).toMatch(/AUTH_SECRET: is required in production/);
  });

  it('names every bad variable at once', async () => {
    const api = spawnApi(await freePort(), {
      DATABASE_URL: 'mysql://nope',
      AUTH_SECRET: TEST_SECRET,
      LOG_LEVEL: 'loud',
    });
    expect(await api.exited).toBe(1);
    expect(api.output()).toMatch(/DATABASE_URL: must be a postgres:\/\/ connection string/);
    expect(api.output()).toMatch(/LOG_LEVEL/);
  });
});

describe('without DATABASE_URL (the embedded default)', () => {
  let dataDir: string;

  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), 'chat-api-data-'));
    await chmod(root, 0o755);
    dataDir = join(root, '.data');
  });
  afterAll(async () => {
    await rm(join(dataDir, '..'), { recursive: true, force: true });
  });

  it('starts PostgreSQL under the data folder, migrates, serves, and stops it on SIGINT', async () => {
    const pgPort = String(await freePort());
    const first = spawnApi(await freePort(), { DATA_DIR: dataDir, EMBEDDED_PG_PORT: pgPort });
    await waitForStatus(first, '/readyz', 200);
    expect(first.output()).toContain('migrations applied');
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false); // the cluster stopped

    // Development without AUTH_SECRET: `pnpm token` signs with the secret the server keeps there.
    const token = await runToken(['ada', '--email', 'ada@example.com'], { DATA_DIR: dataDir });
    expect(existsSync(join(dataDir, 'auth-secret'))).toBe(true);

    // Its data is kept: the second start finds the schema in place and applies nothing.
    const second = spawnApi(await freePort(), { DATA_DIR: dataDir, EMBEDDED_PG_PORT: pgPort });
    await waitForStatus(second, '/readyz', 200);
    expect(second.output()).not.toContain('migrations applied');
    const me = await fetch(`${second.url}/trpc/user.me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await me.json()).toMatchObject({
      result: { data: { username: 'ada', email: 'ada@example.com' } },
    });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});

describe('API_WORKERS=2', () => {
  it('one process owns the embedded database, two serve; SIGTERM drains them, then stops it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'chat-api-workers-'));
    await chmod(root, 0o755);
    const dataDir = join(root, '.data');
    try {
      const api = spawnApi(await freePort(), {
        API_WORKERS: '2',
        DATA_DIR: dataDir,
        EMBEDDED_PG_PORT: String(await freePort()),
      });
      await waitForStatus(api, '/readyz', 200);
      const token = await runToken(['wendy'], { DATA_DIR: dataDir });
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${api.url}/trpc/user.me`, { headers: { authorization: `Bearer ${token}` } }).then(
            (r) => r.json(),
          ),
        ),
      );
      // Both workers answered with the same one row: made once, whichever worker came first.
      expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
      expect(api.output()).toMatch(/"worker":1.*Server listening/);
      expect(api.output()).toMatch(/"worker":2.*Server listening/);
      api.child.kill('SIGTERM');
      expect(await api.exited).toBe(0);
      expect(api.output()).toContain('embedded PostgreSQL stopped');
      expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('start-up that fails', () => {
  it('stops the embedded PostgreSQL it started when the port is taken', async () => {
    const root = await mkdtemp(join(tmpdir(), 'chat-api-fail-'));
    await chmod(root, 0o755);
    const dataDir = join(root, '.data');
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const address = blocker.address();
    const taken = address && typeof address === 'object' ? address.port : 0;
    try {
      const api = spawnApi(taken, {
        DATA_DIR: dataDir,
        EMBEDDED_PG_PORT: String(await freePort()),
      });
      expect(await api.exited).toBe(1);
      expect(api.output()).toMatch(/failed to start: .*EADDRINUSE/);
      expect(api.output()).toContain('embedded PostgreSQL stopped');
      expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    } finally {
      blocker.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses a database that is not UTF-8, which could not store every message as sent', async () => {
    const name = `${db.name}_latin1`;
    const admin = new pg.Client({ connectionString: db.serverUrl });
    await admin.connect();
    try {
      await admin.query(
        `create database ${name} encoding 'LATIN1' lc_collate 'C' lc_ctype 'C' template template0`,
      );
      const api = spawnApi(await freePort(), {
        DATABASE_URL: withDatabase(db.serverUrl, name),
        AUTH_SECRET: TEST_SECRET,
      });
      expect(await api.exited).toBe(1);
      expect(api.output()).toMatch(/encoding is LATIN1, not UTF8/);
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });
});
