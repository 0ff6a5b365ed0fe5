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

/**
 * - `unavailable`: the database could not take the call, and nothing of it happened (no
 *   connection, pool exhausted, statement or lock timeout: rolled back). Safe to retry.
 * - `connection-lost`: the connection broke while the call ran; a commit may or may not have
 *   happened before it did.
 */
/** Too many sends already wait for the database: refused at once rather than queued without bound. */
export class SendQueueFullError extends Error {
  override readonly name = 'SendQueueFullError';
  constructor() {
    super('too many sends are waiting for the database');
  }
}

export type DatabaseFault = 'unavailable' | 'connection-lost' | 'unique-violation' | null;

const UNAVAILABLE_SQLSTATES = new Set([
  '57P03', // cannot_connect_now (starting up, recovering)
  '57014', // query_canceled (statement_timeout): rolled back
  '55P03', // lock_not_available (lock_timeout): rolled back
  '53300', // too_many_connections
  '25P03', // idle_in_transaction_session_timeout: rolled back
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
  '40P01', // deadlock_detected: rolled back
  '40001', // serialization_failure: rolled back
]);
const LOST_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
]);
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const LOST_NODE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
const UNAVAILABLE_MESSAGES = [/Timeout acquiring a connection/i, /connect ECONNREFUSED/i];
const LOST_MESSAGES = [
  /Connection terminated/i,
  /Client has encountered a connection error/i,
  /connection is closed/i,
  /terminating connection/i,
];

/** Looks through an error (and the errors it wraps) for a database fault the caller can act on. */
export function classifyDatabaseError(error: unknown): DatabaseFault {
  if (error instanceof SendQueueFullError) return 'unavailable';
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const { code, sqlState } = current as Error & { code?: unknown; sqlState?: unknown };
    const state =
      typeof sqlState === 'string' ? sqlState : typeof code === 'string' ? code : undefined;
    if (state === '23505') return 'unique-violation';
    if (state && (UNAVAILABLE_SQLSTATES.has(state) || UNAVAILABLE_NODE_CODES.has(state)))
      return 'unavailable';
    if (
      state &&
      (LOST_SQLSTATES.has(state) || state.startsWith('08') || LOST_NODE_CODES.has(state))
    ) {
      return 'connection-lost';
    }
    const { message, name } = current;
    if (name === 'KnexTimeoutError' || UNAVAILABLE_MESSAGES.some((re) => re.test(message)))
      return 'unavailable';
    if (LOST_MESSAGES.some((re) => re.test(message))) return 'connection-lost';
    current = current.cause;
  }
  return null;
}
