import { createOrm, type ChatOrm } from '@chat/db';
import type { Env } from './env.js';

/** The server's ORM: pool bounds and per-connection timeouts from configuration. */
export function createServerOrm(env: Env, url: string, { connect = true } = {}): Promise<ChatOrm> {
  return createOrm({
    url,
    connect,
    pool: { max: env.DB_POOL_MAX, acquireTimeoutMs: env.DB_ACQUIRE_TIMEOUT_MS },
    timeouts: {
      statementMs: env.DB_STATEMENT_TIMEOUT_MS,
      lockMs: env.DB_LOCK_TIMEOUT_MS,
      idleInTransactionMs: env.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    },
  });
}
