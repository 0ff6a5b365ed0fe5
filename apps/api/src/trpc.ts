// The one place tRPC is set up: context, error shape, and the procedure builders.
import type { InputErrors } from '@chat/contracts';
import {
  forkEntityManager,
  type SendQueue,
  type ChatOrm,
  type EntityManager,
  type Identity,
} from '@chat/db';
import { initTRPC, TRPCError } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { FastifyBaseLogger } from 'fastify';
import * as z from 'zod';
import { UnauthorizedError, type TokenVerifier } from './auth/tokens.js';
import type { Env } from './env.js';
import { KEYS_UNAVAILABLE_MESSAGE, toTRPCError } from './errors.js';
import type { Metrics } from './metrics.js';
import type { ConcurrencyLimiter, RateLimiter } from './rate-limit.js';

/** What the server shares with every call. */
export interface Services {
  orm: ChatOrm;
  env: Env;
  logger: FastifyBaseLogger;
  limiter: RateLimiter;
  concurrency: ConcurrencyLimiter;
  metrics: Metrics;
  /** Concurrent message.send calls, coalesced into shared statements. */
  sends: SendQueue;
}

/**
 * Built once per HTTP request; a batch's calls share it, so nothing per-call lives here. Kept to
 * two keys: tRPC copies the context at every middleware of every call.
 */
export interface Context {
  app: Services;
  /** The caller, verified once per request on first use. */
  caller: () => Promise<Identity>;
}

export function createContextFactory(app: Services, verify: TokenVerifier) {
  return (authorization: string | undefined): Context => {
    let verified: Promise<Identity> | undefined;
    return { app, caller: () => (verified ??= verify(authorization)) };
  };
}

const t = initTRPC.context<Context>().create({
  // Stacks never leave the server; they go to the log.
  isDev: false,
  errorFormatter({ shape, error, ctx }) {
    const hide = error.code === 'INTERNAL_SERVER_ERROR' && ctx?.app.env.NODE_ENV !== 'development';
    const zodError =
      error.code === 'BAD_REQUEST' && error.cause instanceof z.ZodError ? error.cause : null;
    // Malformed JSON is bad input like any other: the contract's one code for it (both are 400).
    const protocol = error.code === 'PARSE_ERROR';
    const badRequest = protocol || error.code === 'BAD_REQUEST';
    const message = hide
      ? 'Internal server error'
      : zodError
        ? describeIssues(zodError)
        : shape.message;
    return {
      ...shape,
      code: protocol ? TRPC_ERROR_CODES_BY_KEY.BAD_REQUEST : shape.code,
      message,
      data: {
        ...shape.data,
        code: protocol ? 'BAD_REQUEST' : shape.data.code,
        // Every BAD_REQUEST carries the same shape; without field errors, the message is a form error.
        zodError: zodError ? inputErrors(zodError) : badRequest ? formError(message) : null,
      },
    };
  },
});

/**
 * Bounds on what an error echoes of the input: a message names unknown keys, and a caller can send
 * 200,000 of them, or one a megabyte long. The first few issues, each cut short, say enough.
 */
const MAX_ISSUES = 10;
const MAX_ISSUE_CHARS = 200;

function clip(message: string): string {
  return message.length > MAX_ISSUE_CHARS ? `${message.slice(0, MAX_ISSUE_CHARS)}…` : message;
}

function clipAll(messages: string[]): string[] {
  const kept = messages.slice(0, MAX_ISSUES).map(clip);
  if (messages.length > MAX_ISSUES) kept.push(`… and ${String(messages.length - MAX_ISSUES)} more`);
  return kept;
}

function inputErrors(error: z.ZodError): InputErrors {
  const { formErrors, fieldErrors } = z.flattenError(error);
  const byField: Record<string, string[]> = fieldErrors;
  return {
    formErrors: clipAll(formErrors),
    fieldErrors: Object.fromEntries(
      Object.entries(byField).map(([field, messages]) => [field, clipAll(messages)]),
    ),
  };
}

function formError(message: string): InputErrors {
  return { formErrors: [message], fieldErrors: {} };
}

/** "content: must not contain …; limit: too big" rather than a JSON dump of the issues. */
function describeIssues(error: z.ZodError): string {
  return `invalid input: ${clipAll(
    error.issues.map(
      (issue) => `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`,
    ),
  ).join('; ')}`;
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Runs a call, turning domain and database failures into the contract's codes and counting it. */
async function measured<R extends { ok: true } | { ok: false; error: TRPCError }>(
  app: Services,
  path: string,
  call: () => Promise<R>,
): Promise<R> {
  const started = performance.now();
  let error: TRPCError | null = null;
  try {
    const result = await call();
    if (!result.ok) error = toTRPCError(result.error);
    else return result;
  } catch (cause) {
    // Thrown before the procedure ran: authentication, the rate limit.
    error =
      cause instanceof TRPCError ? cause : new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause });
  } finally {
    app.metrics.observeCall(path, error ? error.code : 'OK', (performance.now() - started) / 1_000);
  }
  throw error;
}

export const publicProcedure = t.procedure.use(({ ctx, path, next }) =>
  measured(ctx.app, path, next),
);

/**
 * The verified caller, its rate limit, and a fresh EntityManager per procedure call, forked on
 * first use (`ctx.db()`): a batch runs its calls concurrently on one context, so a per-request
 * fork would share one identity map between them, and a send that never needs one skips it.
 */
export const protectedProcedure = t.procedure.use(({ ctx, path, next }) =>
  measured(ctx.app, path, async () => {
    const identity = await ctx.caller().catch((error: unknown) => {
      if (error instanceof UnauthorizedError && error.keysUnavailable) {
        // Not the caller's fault and not a verdict on its token: retry later, keep the token.
        ctx.app.logger.warn(
          { err: error.cause },
          'the JWKS could not be fetched: tokens cannot be verified',
        );
        throw new TRPCError({
          code: 'SERVICE_UNAVAILABLE',
          message: KEYS_UNAVAILABLE_MESSAGE,
          cause: error,
        });
      }
      throw new TRPCError({
        code: 'UNAUTHORIZED',
        message: error instanceof Error ? error.message : 'unauthorized',
        cause: error,
      });
    });
    if (!ctx.app.limiter.take(identity.username)) {
      throw new TRPCError({
        code: 'TOO_MANY_REQUESTS',
        message: 'rate limit reached; slow down and retry',
      });
    }
    if (!ctx.app.concurrency.enter(identity.username)) {
      throw new TRPCError({
        code: 'TOO_MANY_REQUESTS',
        message: 'too many calls at once; wait for some to finish',
      });
    }
    try {
      let em: EntityManager | undefined;
      const db = () => (em ??= forkEntityManager(ctx.app.orm));
      return await next({ ctx: { identity, db } });
    } finally {
      ctx.app.concurrency.leave(identity.username);
    }
  }),
);
