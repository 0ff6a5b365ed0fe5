// Shared start-up for this package's commands: configuration, the database, and a clean stop.
import { resolveDatabase, type DatabaseTarget } from '../connect.js';
import { databaseEnvSchema, loadDotEnv, parseEnv, type DatabaseEnv } from '../settings.js';

export async function withConfiguredDatabase<T>(
  task: (target: DatabaseTarget, env: DatabaseEnv) => Promise<T>,
): Promise<T> {
  loadDotEnv();
  const env = parseEnv(databaseEnvSchema, process.env);
  const target = await resolveDatabase(env, (line) => process.stderr.write(`${line}\n`));
  try {
    return await task(target, env);
  } finally {
    await target.embedded?.stop();
  }
}

/** Prints a command's failure as one readable message and sets a failing exit code. */
export function reportFailure(error: unknown): void {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
