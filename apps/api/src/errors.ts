// The one place where failures become the contract's error codes.
import { ConflictError, NotFoundError, classifyDatabaseError } from '@chat/db';
import { TRPCError } from '@trpc/server';
import { UnauthorizedError } from './auth/tokens.js';

export const SERVICE_UNAVAILABLE_MESSAGE = 'the database is unavailable; safe to retry';
export const CONNECTION_LOST_MESSAGE =
  'the connection to the database was lost during the call: it may or may not have taken effect';
export const KEYS_UNAVAILABLE_MESSAGE =
  'the key set that verifies tokens cannot be fetched; retry later';

/** Maps a procedure's failure to a TRPCError; anything unrecognised stays INTERNAL_SERVER_ERROR. */
export function toTRPCError(error: TRPCError): TRPCError {
  if (error.code !== 'INTERNAL_SERVER_ERROR') return error;
  const cause = error.cause;
  if (cause instanceof NotFoundError)
    return new TRPCError({ code: 'NOT_FOUND', message: cause.message, cause });
  if (cause instanceof ConflictError)
    return new TRPCError({ code: 'CONFLICT', message: cause.message, cause });
  if (cause instanceof UnauthorizedError)
    return new TRPCError({ code: 'UNAUTHORIZED', message: cause.message, cause });
  switch (classifyDatabaseError(cause)) {
    case 'unavailable':
      return new TRPCError({
        code: 'SERVICE_UNAVAILABLE',
        message: SERVICE_UNAVAILABLE_MESSAGE,
        cause,
      });
    case 'connection-lost':
      return new TRPCError({
        code: 'SERVICE_UNAVAILABLE',
        message: CONNECTION_LOST_MESSAGE,
        cause,
      });
    case 'unique-violation':
      return new TRPCError({ code: 'CONFLICT', message: 'a unique value is taken', cause });
    default:
      return error;
  }
}

/**
 * An internal error as production logs it: what went wrong and where, without the SQL text, its
 * bound values or a constraint's detail line, any of which can carry a user's words.
 */
export function forTheLog(error: TRPCError): Record<string, unknown> {
  const cause = error.cause as (Error & Record<string, unknown>) | undefined;
  if (!cause) return { type: error.name, message: error.message, stack: error.stack };
  const pick = (key: string) => (typeof cause[key] === 'string' ? { [key]: cause[key] } : {});
  return {
    type: cause.name,
    // knex prefixes the SQL: "<sql> - <postgres message>"; keep the postgres part.
    message: cause.message.split(' - ').pop(),
    ...pick('code'),
    ...pick('sqlState'),
    ...pick('table'),
    ...pick('constraint'),
    ...pick('routine'),
    // The stack's head is the message, which with knex is the whole (multi-line) SQL: frames only.
    stack: cause.stack
      ?.split('\n')
      .filter((line) => line.trimStart().startsWith('at '))
      .join('\n'),
  };
}
