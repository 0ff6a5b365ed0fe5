// Prometheus metrics at GET /metrics: calls by procedure and code, their latency, the database
// statements the pool runs, and the process's own figures (RSS, heap, event-loop lag).
import type { ChatOrm } from '@chat/db';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  observeCall(procedure: string, code: string, seconds: number): void;
}

export function createMetrics(orm: ChatOrm): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const calls = new Counter({
    name: 'chat_trpc_calls_total',
    help: 'Procedure calls, by procedure and result code (OK or the tRPC error code)',
    labelNames: ['procedure', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'chat_trpc_call_duration_seconds',
    help: 'Time from the start of a procedure call to its result',
    labelNames: ['procedure'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const statements = new Counter({
    name: 'chat_db_statements_total',
    help: 'SQL statements sent to PostgreSQL (round trips), counting BEGIN and COMMIT',
    registers: [registry],
  });
  orm.em
    .getConnection()
    .getKnex()
    .on('query', () => {
      statements.inc();
    });

  return {
    registry,
    observeCall(procedure, code, seconds) {
      calls.inc({ procedure, code });
      duration.observe({ procedure }, seconds);
    },
  };
}
