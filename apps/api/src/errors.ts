// The one place where failures become the contract's error codes.
import { ConflictError, NotFoundError, classifyDatabaseError } from '@chat/db';
import { TRPCError } from '@trpc/server';
import { UnauthorizedError } from './auth/tokens.js';

export const SERVICE_UNAVAILABLE_MESSAGE = 'the database is unavailable; safe to retry';

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
    case 'unique-violation':
      return new TRPCError({ code: 'CONFLICT', message: 'a unique value is taken', cause });
    default:
      return error;
  }
}
