// Prometheus metrics at GET /metrics: calls by procedure and code, their latency, the database
// statements the pool runs, and the process's own figures (RSS, heap, event-loop lag).
import { forkEntityManager, sequenceUsage, type ChatOrm } from '@chat/db';
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
  new Gauge({
    name: 'chat_id_sequence_used_ratio',
    help: "How much of each table's 32-bit id sequence is used (1: exhausted)",
    labelNames: ['table'] as const,
    registers: [registry],
    // 'max', not the default sum: every worker reads the same sequences.
    aggregator: 'max',
    async collect() {
      for (const { table, used } of await sequenceUsage(forkEntityManager(orm)))
        this.set({ table }, used);
    },
  });

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
