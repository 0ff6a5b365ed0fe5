// Runs a command-line task against a throwaway database on the configured server.
import { randomBytes } from 'node:crypto';
import { createDatabase, dropDatabase, withDatabase } from '../admin.js';
import { withConfiguredDatabase } from './run.js';

export async function withScratchDatabase<T>(task: (url: string) => Promise<T>): Promise<T> {
  return withConfiguredDatabase(async ({ url }) => {
    const name = `chat_scratch_${randomBytes(4).toString('hex')}`;
    await createDatabase(url, name);
    try {
      return await task(withDatabase(url, name));
    } finally {
      await dropDatabase(url, name);
    }
  });
}
