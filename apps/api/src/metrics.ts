// Prometheus metrics at GET /metrics: calls by procedure and code, their latency, the database
// statements the pool runs, the pool's and the send queue's usage, and the process's own figures
// (RSS, heap, event-loop lag).
import {
  forkEntityManager,
  poolUsage,
  sequenceUsage,
  type ChatOrm,
  type SendQueue,
  type SendQueueStats,
  type SequenceUsage,
} from '@chat/db';
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from 'prom-client';

export interface Metrics {
  registry: Registry;
  observeCall(procedure: string, code: string, seconds: number): void;
  /** The exposition text: this process's metrics, or, in a worker, every worker's summed. */
  collect(): Promise<string>;
}

/** The IPC message a worker sends its primary for the cluster's metrics, and the answer. */
export const METRICS_REQUEST = 'chat:metrics';
interface MetricsReply {
  type: typeof METRICS_REQUEST;
  id: string;
  text?: string;
  error?: string;
}

export function createMetrics(orm: ChatOrm, sends: SendQueue): Metrics {
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
  const runway = createRunwayReader(orm);
  new Gauge({
    name: 'chat_id_sequence_used_ratio',
    help: "How much of each table's 32-bit id sequence is used (1: exhausted)",
    labelNames: ['table'] as const,
    registers: [registry],
    // 'max', not the default sum: every worker reads the same sequences.
    aggregator: 'max',
    async collect() {
      for (const { table, used } of await runway.read()) this.set({ table }, used);
    },
  });

  new Gauge({
    name: 'chat_db_pool_connections',
    help: 'Database connections by state: used (lent out), idle (open, free), max (the bound)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const usage = poolUsage(orm);
      this.set({ state: 'used' }, usage.used);
      this.set({ state: 'idle' }, usage.idle);
      this.set({ state: 'max' }, usage.max);
    },
  });
  new Gauge({
    name: 'chat_db_pool_waiting',
    help: 'Callers waiting for a database connection (past DB_ACQUIRE_TIMEOUT_MS they get 503)',
    registers: [registry],
    collect() {
      this.set(poolUsage(orm).pendingAcquires);
    },
  });
  // The send queue's own figures, read when scraped: two gauges of now, two running totals.
  const queueFigures: [string, string, 'gauge' | 'counter', keyof SendQueueStats][] = [
    [
      'chat_send_queue_waiting',
      'message.send calls waiting for a coalesced insert',
      'gauge',
      'waiting',
    ],
    ['chat_send_queue_in_flight', 'Coalesced insert statements running now', 'gauge', 'inFlight'],
    ['chat_send_rows_total', 'Rows carried by coalesced inserts', 'counter', 'rows'],
    ['chat_send_statements_total', 'Coalesced insert statements run', 'counter', 'statements'],
  ];
  for (const [name, help, kind, figure] of queueFigures) {
    const Metric = kind === 'gauge' ? Gauge : Counter;
    const metric: Gauge | Counter = new Metric({
      name,
      help,
      registers: [registry],
      collect() {
        metric.reset();
        metric.inc(sends.stats()[figure]);
      },
    });
  }

  if (cluster.isWorker) {
    // Constructing one installs prom-client's answer to the primary's requests; ours is the registry.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([registry]);
  }

  return {
    registry,
    collect: () => (cluster.isWorker ? clusterMetrics() : registry.metrics()),
    observeCall(procedure, code, seconds) {
      calls.inc({ procedure, code });
      duration.observe({ procedure }, seconds);
    },
  };
}

/** How long a sequence reading is reused, and how long a scrape waits for a fresh one. */
const RUNWAY_MAX_AGE_MS = 30_000;
const RUNWAY_WAIT_MS = 250;

/**
 * The id sequences' usage for the gauge, read at most every 30 s and never waited on for long: a
 * scrape must answer while the pool is exhausted or the database is down, exactly when it matters.
 * Until a reading arrives, the gauge reports the last one (none before the first).
 */
function createRunwayReader(orm: ChatOrm) {
  let readings: SequenceUsage[] = [];
  let readAt = 0;
  let refreshing: Promise<void> | null = null;
  const refresh = () =>
    (refreshing ??= sequenceUsage(forkEntityManager(orm))
      .then(
        (fresh) => {
          readings = fresh;
          readAt = Date.now();
        },
        () => undefined, // the database's trouble shows in /readyz and the call metrics
      )
      .finally(() => {
        refreshing = null;
      }));
  return {
    async read(): Promise<SequenceUsage[]> {
      if (Date.now() - readAt > RUNWAY_MAX_AGE_MS) {
        let timer: NodeJS.Timeout | undefined;
        const waited = new Promise<void>(
          (resolve) => (timer = setTimeout(resolve, RUNWAY_WAIT_MS)),
        );
        await Promise.race([refresh(), waited]);
        clearTimeout(timer);
      }
      return readings;
    },
  };
}

/** In a worker: asks the primary, which gathers every worker's registry (prom-client sums them). */
function clusterMetrics(): Promise<string> {
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('the primary did not answer for metrics'));
    }, 5_000);
    const onMessage = (message: unknown) => {
      const reply = message as Partial<MetricsReply>;
      if (reply.type !== METRICS_REQUEST || reply.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (reply.text === undefined) reject(new Error(reply.error ?? 'no metrics'));
      else resolve(reply.text);
    };
    process.on('message', onMessage);
    process.send?.({ type: METRICS_REQUEST, id });
  });
}

/** In the primary: answers workers' requests with the cluster's summed metrics. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: Partial<MetricsReply>) => {
    if (message.type !== METRICS_REQUEST || message.id === undefined) return;
    const { id } = message;
    // A worker may have gone while the primary gathered: never write to a closed channel.
    const reply = (answer: Omit<MetricsReply, 'type' | 'id'>) => {
      if (worker.isConnected())
        worker.send({ type: METRICS_REQUEST, id, ...answer }, () => undefined);
    };
    aggregator.clusterMetrics().then(
      (text) => {
        reply({ text });
      },
      (error: unknown) => {
        reply({ error: String(error) });
      },
    );
  });
}
