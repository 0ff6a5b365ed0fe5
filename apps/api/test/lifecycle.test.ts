// The server as a process: start, serve, drain and stop on a signal, on a given or embedded database.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, useTestDatabase } from '@chat/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnApi, waitForStatus } from './process-harness.js';
import { TEST_SECRET } from './server-harness.js';

const db = useTestDatabase();

describe('with DATABASE_URL', () => {
  it('serves, then exits 0 on SIGTERM after draining', async () => {
    const api = spawnApi(await freePort(), {
      DATABASE_URL: db.url,
      AUTH_SECRET: TEST_SECRET,
      NODE_ENV: 'production',
    });
    await waitForStatus(api, '/readyz', 200);
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    expect(api.output()).toContain('shutting down');
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
    const first = spawnApi(await freePort(), {
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: pgPort,
      AUTH_SECRET: TEST_SECRET,
    });
    await waitForStatus(first, '/readyz', 200);
    expect(first.output()).toContain('migrations applied');
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false); // the cluster stopped

    // Its data is kept: the second start finds the schema in place and applies nothing.
    const second = spawnApi(await freePort(), {
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: pgPort,
      AUTH_SECRET: TEST_SECRET,
    });
    await waitForStatus(second, '/readyz', 200);
    expect(second.output()).not.toContain('migrations applied');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
