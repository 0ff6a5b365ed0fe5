// Narrowing an unknown error to the api's error, with its contract code and field errors.
import { isTRPCClientError, type TRPCClientError } from '@trpc/client';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { AppRouter } from '@chat/api';
import type { InputErrors } from '@chat/contracts';

export type ChatClientError = TRPCClientError<AppRouter>;
export type ChatErrorCode = TRPC_ERROR_CODE_KEY;
type ErrorData = NonNullable<ChatClientError['data']>;

/** A ChatClientError whose `data` is present and whose code is `C`. */
export type ChatErrorWithCode<C extends ChatErrorCode> = ChatClientError & {
  data: ErrorData & { code: C };
};

/**
 * True when `error` is an error the api answered with (and, if given, with one of `codes`).
 * Narrows it so `error.data.code` and, for BAD_REQUEST, `error.data.zodError.fieldErrors` are typed.
 *
 * ```ts
 * catch (error) {
 *   if (isChatError(error, 'NOT_FOUND')) showMissing();
 *   else if (isChatError(error, 'BAD_REQUEST')) showFieldErrors(error.data.zodError?.fieldErrors);
 * }
 * ```
 */
export function isChatError<C extends ChatErrorCode = ChatErrorCode>(
  error: unknown,
  ...codes: C[]
): error is ChatErrorWithCode<C> {
  if (!isTRPCClientError<AppRouter>(error) || !error.data) return false;
  return codes.length === 0 || (codes as string[]).includes(error.data.code);
}

/** The field errors of a BAD_REQUEST (field name to messages), or an empty object. */
export function fieldErrors(error: unknown): InputErrors['fieldErrors'] {
  return isChatError(error, 'BAD_REQUEST') ? (error.data.zodError?.fieldErrors ?? {}) : {};
}
