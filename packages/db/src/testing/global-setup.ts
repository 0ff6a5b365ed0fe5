// Vitest global setup: one PostgreSQL for the whole run (DATABASE_URL's server, or an embedded
// cluster in a temp folder), and one migrated template that every test file's database copies.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDatabase, dropDatabase, withDatabase } from '../admin.js';
import { startEmbeddedPostgres } from '../embedded.js';
import { migrateToLatest } from '../migrate.js';
import { createOrm } from '../orm.js';
import type { TestDatabaseServer } from './index.js';
import { freePort } from './ports.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startServer();
  const template = `chat_tpl_${randomBytes(4).toString('hex')}`;
  await createDatabase(server.url, template);
  const orm = await createOrm({ url: withDatabase(server.url, template), pool: { max: 2 } });
  try {
    await migrateToLatest(orm);
  } finally {
    await orm.close();
  }

  const provided: TestDatabaseServer = { serverUrl: server.url, template };
  project.provide('chatTestDatabase', provided);

  return async () => {
    await dropDatabase(server.url, template);
    await server.stop();
  };
}

async function startServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const given = process.env.DATABASE_URL;
  if (given) return { url: given, stop: () => Promise.resolve() };

  const root = await mkdtemp(join(tmpdir(), 'chat-test-pg-'));
  await chmod(root, 0o755); // as root, the postgres OS user must reach it
  const cluster = await startEmbeddedPostgres({
    dataDir: join(root, 'data'),
    port: await freePort(),
    database: 'postgres',
    // A throwaway cluster: durability across an OS crash buys nothing here.
    settings: { fsync: 'off', full_page_writes: 'off', max_connections: '300' },
  });
  return {
    url: cluster.adminUrl,
    async stop() {
      await cluster.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
