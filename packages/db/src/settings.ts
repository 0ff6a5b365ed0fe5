// The database part of the configuration, shared by the api's env.ts and this package's commands.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];
/** true/false, 1/0, yes/no, on/off, in any case. */
export const booleanFlag = z
  .string()
  .transform((value) => value.trim().toLowerCase())
  .refine((value) => TRUE.includes(value) || FALSE.includes(value), {
    error: 'must be true or false',
  })
  .transform((value) => TRUE.includes(value));

export const databaseEnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection string')
    .optional(),
  DATA_DIR: z
    .string()
    .min(1)
    .default('.data')
    .transform((dir) => resolve(dir)),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65_535).default(54_329),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(1_000).default(10),
  DB_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  MIGRATE_ON_START: booleanFlag.default(true),
  /** Server-side bounds on every pooled connection (0: none). */
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  DB_LOCK_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
});

export type DatabaseEnv = z.infer<typeof databaseEnvSchema>;

/** Parses `source` (normally `process.env`) or throws one readable message listing every problem. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined>,
): z.infer<S> {
  // Empty strings mean "unset", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/**
 * Reads `.env` from the working directory into process.env when the file exists; variables that
 * are already set win. Every command of the project calls this before parsing its configuration.
 */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}
