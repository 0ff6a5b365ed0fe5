// What can go wrong in the store, in the chat domain's words; the api maps these to its error codes.

/** A conversation (or other row) that does not exist, or belongs to someone else: the same thing. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(readonly entity: 'conversation' | 'user') {
    super(`${entity} not found`);
  }
}

/** A unique value (a username, an email) that someone else already has. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export type DatabaseFault = 'unavailable' | 'unique-violation' | null;

/** SQLSTATE classes and driver errors that mean "the database cannot serve now; retry later". */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '57014', // query_canceled (statement_timeout)
  '55P03', // lock_not_available (lock_timeout)
  '53300', // too_many_connections
  '25P03', // idle_in_transaction_session_timeout
]);
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);
const UNAVAILABLE_MESSAGES = [
  /Timeout acquiring a connection/i,
  /Connection terminated/i,
  /Client has encountered a connection error/i,
  /connection is closed/i,
  /terminating connection/i,
];

/** Looks through an error (and the errors it wraps) for a database fault the caller can act on. */
export function classifyDatabaseError(error: unknown): DatabaseFault {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const { code, sqlState } = current as Error & { code?: unknown; sqlState?: unknown };
    const state =
      typeof sqlState === 'string' ? sqlState : typeof code === 'string' ? code : undefined;
    if (state === '23505') return 'unique-violation';
    if (
      state &&
      (UNAVAILABLE_SQLSTATES.has(state) ||
        state.startsWith('08') ||
        UNAVAILABLE_NODE_CODES.has(state))
    ) {
      return 'unavailable';
    }
    const { message, name } = current;
    if (name === 'KnexTimeoutError' || UNAVAILABLE_MESSAGES.some((re) => re.test(message))) {
      return 'unavailable';
    }
    current = current.cause;
  }
  return null;
}
