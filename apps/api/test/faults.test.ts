// Faults under load, each against a real PostgreSQL and a real server: the database restarting,
// the server killed with SIGKILL, a graceful shutdown, the embedded default crashing with its
// cluster. Every acknowledged send must be stored.
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '@chat/db';
import { freePort, useTestDatabase } from '@chat/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnApi, waitForStatus } from './process-harness.js';
import {
  TEST_SECRET,
  countOf,
  startServer,
  tokenFor,
  type RunningServer,
} from './server-harness.js';

/** Sends from `connections` loops until `stop()`; remembers the id of every acknowledged send. */
function sendLoad(url: string, token: string, conversationId: number, connections = 16) {
  const acknowledged: number[] = [];
  const codes = new Map<string, number>();
  let running = true;
  const loop = async () => {
    while (running) {
      const started = Date.now();
      try {
        const response = await fetch(`${url}/trpc/message.send`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ conversationId, content: 'under load' }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await response.json()) as {
          result?: { data: { id: number } };
          error?: { data: { code: string } };
        };
        if (body.result) acknowledged.push(body.result.data.id);
        const code = body.error?.data.code ?? 'OK';
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (body.error) await new Promise((resolve) => setTimeout(resolve, 20));
      } catch {
        codes.set('NO_ANSWER', (codes.get('NO_ANSWER') ?? 0) + 1);
        if (Date.now() - started < 50) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const loops = Array.from({ length: connections }, loop);
  return {
    acknowledged,
    codes,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the database restarting under load', () => {
  let root: string;
  let cluster: EmbeddedPostgres;
  let server: RunningServer;
  let port: number;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'chat-fault-pg-'));
    await chmod(root, 0o755);
    port = await freePort();
    cluster = await startEmbeddedPostgres({ dataDir: join(root, 'pg'), port, database: 'chat' });
    const { createOrm, migrateToLatest } = await import('@chat/db');
    const orm = await createOrm({ url: cluster.url, pool: { max: 2 } });
    await migrateToLatest(orm);
    await orm.close();
    server = await startServer(cluster.url, {
      RATE_LIMIT_PER_MINUTE: '0',
      DB_ACQUIRE_TIMEOUT_MS: '1000',
    });
  });
  afterAll(async () => {
    await server.close();
    await cluster.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('fails fast with SERVICE_UNAVAILABLE while down, serves again within 5 s of its return, loses no acknowledged send', async () => {
    const token = await tokenFor('restart');
    const created = await fetch(`${server.url}/trpc/conversation.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const { result } = (await created.json()) as { result: { data: { id: number } } };
    const load = sendLoad(server.url, token, result.data.id);
    await sleep(1_000);

    await cluster.stop();
    const downAt = Date.now();
    await sleep(1_500);
    const duringOutage = await fetch(`${server.url}/trpc/message.send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ conversationId: result.data.id, content: 'while down' }),
    });
    expect(duringOutage.status).toBe(503);
    expect(Date.now() - downAt).toBeLessThan(5_000); // it answered; it did not hang
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);

    cluster = await startEmbeddedPostgres({ dataDir: join(root, 'pg'), port, database: 'chat' });
    const upAt = Date.now();
    await expect
      .poll(async () => (await fetch(`${server.url}/readyz`)).status, {
        timeout: 5_000,
        interval: 100,
      })
      .toBe(200);
    const before = load.acknowledged.length;
    await expect
      .poll(() => load.acknowledged.length > before, { timeout: 5_000, interval: 100 })
      .toBe(true);
    expect(Date.now() - upAt).toBeLessThan(5_000);
    await sleep(500);
    await load.stop();

    expect(
      load.codes.get('SERVICE_UNAVAILABLE') ?? 0,
      JSON.stringify([...load.codes]),
    ).toBeGreaterThan(0);
    expect(
      [...load.codes.keys()].filter((code) => !['OK', 'SERVICE_UNAVAILABLE'].includes(code)),
    ).toEqual([]);
    const ids = load.acknowledged;
    const stored = await countOf(server, `select count(*) from messages where id = any(?::int[])`, [
      `{${ids.join(',')}}`,
    ]);
    expect(stored).toBe(ids.length);
  });
});

describe('the server process under load', () => {
  const db = useTestDatabase();

  async function startApi() {
    const api = spawnApi(await freePort(), {
      DATABASE_URL: db.url,
      AUTH_SECRET: TEST_SECRET,
      NODE_ENV: 'production',
      RATE_LIMIT_PER_MINUTE: '0',
      SHUTDOWN_TIMEOUT_MS: '5000',
    });
    await waitForStatus(api, '/readyz', 200);
    return api;
  }

  async function conversationFor(url: string, token: string): Promise<number> {
    const response = await fetch(`${url}/trpc/conversation.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    return ((await response.json()) as { result: { data: { id: number } } }).result.data.id;
  }

  async function storedOf(ids: number[]): Promise<number> {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        'select count(*)::int as n from messages where id = any($1::int[])',
        [ids],
      );
      return rows[0]?.n ?? -1;
    } finally {
      await client.end();
    }
  }

  it('killed with SIGKILL: every acknowledged send is stored', async () => {
    const api = await startApi();
    const token = await tokenFor('killed');
    const load = sendLoad(api.url, token, await conversationFor(api.url, token));
    await sleep(1_500);
    api.child.kill('SIGKILL');
    await api.exited;
    await load.stop();
    expect(load.acknowledged.length).toBeGreaterThan(0);
    expect(await storedOf(load.acknowledged)).toBe(load.acknowledged.length);
  });

  it('SIGTERM: in-flight calls finish or fail cleanly, nothing acknowledged is lost, it exits in time', async () => {
    const api = await startApi();
    const token = await tokenFor('drained');
    const load = sendLoad(api.url, token, await conversationFor(api.url, token));
    await sleep(1_500);
    const signalled = Date.now();
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(6_000);
    await load.stop();
    expect(load.acknowledged.length).toBeGreaterThan(0);
    expect(await storedOf(load.acknowledged)).toBe(load.acknowledged.length);
    // Refused during the drain (503) or not connected any more; never a 500.
    expect(
      [...load.codes.keys()].every((code) =>
        ['OK', 'SERVICE_UNAVAILABLE', 'NO_ANSWER'].includes(code),
      ),
    ).toBe(true);
  });
});

describe('the embedded default, crashed under load', () => {
  let root: string;
  let dataDir: string;
  let pgPort: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'chat-crash-'));
    await chmod(root, 0o755); // the cluster runs as the postgres OS user when the tests run as root
    dataDir = join(root, '.data');
    pgPort = String(await freePort());
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** `pnpm start` with no DATABASE_URL: the server starts (or adopts) the cluster under DATA_DIR. */
  async function startApi() {
    // Right after a crash the dead cluster's backends may hold its shared memory for a moment; a
    // supervisor would start the server again, and so does this.
    for (let attempt = 1; ; attempt++) {
      const api = spawnApi(await freePort(), {
        DATA_DIR: dataDir,
        EMBEDDED_PG_PORT: pgPort,
        AUTH_SECRET: TEST_SECRET,
        NODE_ENV: 'production',
        RATE_LIMIT_PER_MINUTE: '0',
      });
      try {
        await waitForStatus(api, '/readyz', 200);
        return api;
      } catch (error) {
        api.child.kill('SIGKILL');
        await api.exited;
        if (attempt >= 5) throw error;
        await sleep(500);
      }
    }
  }

  /** Every message id of the conversation, read back through message.list page by page. */
  async function storedIds(url: string, token: string, conversationId: number) {
    const ids = new Set<number>();
    let cursor: number | null = null;
    do {
      const input = encodeURIComponent(JSON.stringify({ conversationId, cursor, limit: 200 }));
      const response = await fetch(`${url}/trpc/message.list?input=${input}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const page = (
        (await response.json()) as {
          result: { data: { items: { id: number }[]; nextCursor: number | null } };
        }
      ).result.data;
      for (const item of page.items) ids.add(item.id);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return ids;
  }

  async function crashUnderLoad(api: Awaited<ReturnType<typeof startApi>>, token: string) {
    const created = await fetch(`${api.url}/trpc/conversation.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const conversationId = ((await created.json()) as { result: { data: { id: number } } }).result
      .data.id;
    const load = sendLoad(api.url, token, conversationId);
    await sleep(1_500);
    api.child.kill('SIGKILL');
    await api.exited;
    await load.stop();
    return { conversationId, acknowledged: load.acknowledged };
  }

  it('keeps every acknowledged send when the server dies, and when the server and PostgreSQL both die', async () => {
    const token = await tokenFor('crashed');

    // The server alone: the cluster it started lives on, and the next start adopts it.
    const first = await startApi();
    const alone = await crashUnderLoad(first, token);

    // The server and PostgreSQL together (the machine losing power, say): recovery from the WAL.
    const second = await startApi();
    const both = await crashUnderLoad(second, token);
    const postmaster = Number.parseInt(
      (await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '',
      10,
    );
    process.kill(postmaster, 'SIGKILL');

    const third = await startApi();
    for (const crash of [alone, both]) {
      expect(crash.acknowledged.length).toBeGreaterThan(0);
      const stored = await storedIds(third.url, token, crash.conversationId);
      expect(crash.acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    }
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  });
});
