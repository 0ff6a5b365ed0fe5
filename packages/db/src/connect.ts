// Turns configuration into a reachable database: DATABASE_URL as given, or the embedded cluster.
import { join } from 'node:path';
import { startEmbeddedPostgres } from './embedded.js';
import type { DatabaseEnv } from './settings.js';

export interface DatabaseTarget {
  url: string;
  /** Set when this process runs the embedded cluster: stop it last, after closing the pool. */
  embedded?: { dataDir: string; stop(): Promise<void> };
}

export const EMBEDDED_DATABASE_NAME = 'chat';

export async function resolveDatabase(
  env: Pick<DatabaseEnv, 'DATABASE_URL' | 'DATA_DIR' | 'EMBEDDED_PG_PORT'>,
  log: (message: string) => void = () => undefined,
): Promise<DatabaseTarget> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL };
  const dataDir = join(env.DATA_DIR, 'postgres');
  const cluster = await startEmbeddedPostgres({
    dataDir,
    port: env.EMBEDDED_PG_PORT,
    database: EMBEDDED_DATABASE_NAME,
    log,
  });
  return { url: cluster.url, embedded: { dataDir, stop: () => cluster.stop() } };
}
