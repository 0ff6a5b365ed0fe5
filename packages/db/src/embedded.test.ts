// The embedded cluster: survives restarts and crashes, and is shared or adopted, never doubled.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';
import { freePort } from './testing/ports.js';

let root: string;
let dataDir: string;
let port: number;
const started: EmbeddedPostgres[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'chat-embedded-test-'));
  await chmod(root, 0o755);
  dataDir = join(root, 'postgres');
  port = await freePort();
});

afterAll(async () => {
  for (const cluster of started.reverse()) await cluster.stop().catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

async function start(): Promise<EmbeddedPostgres> {
  const cluster = await startEmbeddedPostgres({
    dataDir,
    port,
    database: 'app',
    settings: { fsync: 'off' },
  });
  started.push(cluster);
  return cluster;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL', () => {
  it('initialises a cluster with a password and the requested database', async () => {
    const cluster = await start();
    expect(cluster.owned).toBe(true);
    expect(cluster.url).toMatch(
      new RegExp(`^postgres://postgres:[^@]+@127\\.0\\.0\\.1:${port}/app$`),
    );
    await query(cluster.url, "create table notes (body text); insert into notes values ('kept')");
    const wrongPassword = cluster.url.replace(/:[^:@]+@/, ':nope@');
    await expect(query(wrongPassword, 'select 1')).rejects.toThrow(
      /password authentication failed/,
    );
    await cluster.stop();
  });

  it('keeps its data across a stop and a start', async () => {
    const cluster = await start();
    expect(await query(cluster.url, 'select body from notes')).toEqual([{ body: 'kept' }]);
    await cluster.stop();
  });

  it('shares a cluster that another live process runs, and leaves it running', async () => {
    const owner = await start();
    const otherProcess = spawn('sleep', ['60']);
    try {
      await writeFile(`${dataDir}.owner`, `${String(otherProcess.pid)}\n`);
      const guest = await start();
      expect(guest.owned).toBe(false);
      await guest.stop();
      expect(await query(owner.url, 'select count(*)::int as n from notes')).toEqual([{ n: 1 }]);
    } finally {
      otherProcess.kill();
    }
    // Its owner gone, the next start adopts the running cluster and stops it when done.
    await new Promise((resolve) => otherProcess.once('exit', resolve));
    const heir = await start();
    expect(heir.owned).toBe(true);
    await heir.stop();
    await expect(query(owner.url, 'select 1')).rejects.toThrow();
  });

  it('comes back with its data after the postmaster is killed', async () => {
    const cluster = await start();
    await query(cluster.url, "insert into notes values ('before the crash')");
    const postmasterPid = Number.parseInt(
      (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '',
      10,
    );
    process.kill(postmasterPid, 'SIGKILL');
    // Its children notice the postmaster is gone and exit; the next start recovers from the WAL.
    await waitUntil(() =>
      query(cluster.url, 'select 1').then(
        () => false,
        () => true,
      ),
    );
    const restarted = await startWithRetry();
    expect(await query(restarted.url, 'select body from notes order by body')).toEqual([
      { body: 'before the crash' },
      { body: 'kept' },
    ]);
    await restarted.stop();
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Right after a crash, orphaned backends may still hold shared memory for a moment. */
async function startWithRetry(): Promise<EmbeddedPostgres> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
