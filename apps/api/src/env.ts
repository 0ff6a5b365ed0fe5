// The server's configuration, read from process.env once and validated here; nothing else reads it.
import { databaseEnvSchema, loadDotEnv, parseEnv } from '@chat/db';
import { DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_MESSAGE_CHARS } from '@chat/contracts';
import * as z from 'zod';

const optionalUrl = z.url({ protocol: /^https?$/ }).optional();

export const envSchema = databaseEnvSchema
  .extend({
    /** `production` requires a way to verify tokens; anything but `development` hides error details. */
    NODE_ENV: z.string().min(1).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),

    AUTH_SECRET: z
      .string()
      .min(32, 'must be at least 32 characters (256 bits for HS256)')
      .optional(),
    AUTH_JWKS_URL: optionalUrl,
    AUTH_ISSUER: z.string().min(1).optional(),
    AUTH_AUDIENCE: z.string().min(1).optional(),

    MAX_MESSAGE_CHARS: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000_000)
      .default(DEFAULT_MAX_MESSAGE_CHARS),
    MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000).default(DEFAULT_MAX_BATCH_SIZE),
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1_024)
      .max(1_073_741_824)
      .default(4 * 1_048_576),
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(6_000),
    RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(600),
    /** Calls one user may have running at once (0: no bound). */
    MAX_CONCURRENT_PER_USER: z.coerce.number().int().min(0).default(100),
    /** Coalesced sends: statements in flight at once, and rows per statement. */
    SEND_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(1_000).default(4),
    SEND_MAX_ROWS: z.coerce.number().int().min(1).max(10_000).default(256),
    /** `fast`: the lean front for plain JSON calls (tRPC's handler for the rest); `standard`: tRPC's handler only. */
    TRPC_ADAPTER: z.enum(['fast', 'standard']).default('fast'),
    /** Server processes sharing the port (node:cluster); 1: this process serves. */
    API_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
    /** Origins a browser may call from (comma-separated, exact); empty: no CORS headers at all. */
    CORS_ORIGINS: z
      .string()
      .default('')
      .transform((list) =>
        list
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.url({ protocol: /^https?$/ }))),
    /** Log a warning when an id sequence has used more than this share of its 32-bit range. */
    ID_RUNWAY_WARN_RATIO: z.coerce.number().min(0).max(1).default(0.8),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.AUTH_SECRET && !env.AUTH_JWKS_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_SECRET'],
        message:
          'is required in production (or set AUTH_JWKS_URL): refusing to start without a way to verify tokens',
      });
    }
    if (
      env.NODE_ENV === 'production' &&
      env.AUTH_JWKS_URL &&
      !isHttpsOrLoopback(env.AUTH_JWKS_URL)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_JWKS_URL'],
        message: 'must be https in production (a key set fetched in the clear can be replaced)',
      });
    }
    if (env.AUTH_JWKS_URL && (!env.AUTH_ISSUER || !env.AUTH_AUDIENCE)) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_JWKS_URL'],
        message: 'needs AUTH_ISSUER and AUTH_AUDIENCE, which are checked on every token',
      });
    }
  });

export type Env = z.infer<typeof envSchema>;

function isHttpsOrLoopback(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
}

/**
 * Reads `.env` from the working directory when present (variables already set win), then
 * validates. Throws one message naming every bad variable.
 */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  if (source === process.env) loadDotEnv();
  return parseEnv(envSchema, source);
}
