// Per-test-file databases: each file gets its own copy of the migrated template, dropped after.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDatabase, dropDatabase, withDatabase } from '../admin.js';

export { freePort } from './ports.js';

export interface TestDatabaseServer {
  /** Any database URL on the server the run uses; the database part is replaced. */
  serverUrl: string;
  /** A database with every migration applied, copied for each test file. */
  template: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    chatTestDatabase: TestDatabaseServer;
  }
}

export interface TestDatabase {
  /** This file's database (valid inside tests and hooks). */
  readonly url: string;
  readonly name: string;
  /** A URL to a database on the same server (for tests that make more). */
  readonly serverUrl: string;
}

/**
 * Registers hooks that create this file's database before its tests and drop it after.
 * `migrated: false` gives an empty database instead of a copy of the migrated template.
 */
export function useTestDatabase(options: { migrated?: boolean } = {}): TestDatabase {
  const { serverUrl, template } = inject('chatTestDatabase');
  const name = `chat_test_${randomBytes(6).toString('hex')}`;
  const url = withDatabase(serverUrl, name);

  beforeAll(async () => {
    await createDatabase(serverUrl, name, options.migrated === false ? undefined : template);
  });
  afterAll(async () => {
    await dropDatabase(serverUrl, name);
  });

  return { url, name, serverUrl };
}
