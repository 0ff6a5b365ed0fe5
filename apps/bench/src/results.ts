// The shape of one benchmark run: what `pnpm bench` measures and writes to bench/results/latest.json.

export interface LatencySummary {
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Cores used by each party on the machine (server, PostgreSQL, load generator, the rest). */
export interface CpuSplit {
  /** The server under test and its descendants (the api's cluster workers); 0 for pgbench. */
  server: number;
  /** The bench's PostgreSQL cluster: postmaster, backends, background processes. */
  postgres: number;
  /** The load generator: the bench's forked load child, or pgbench. */
  load: number;
  /** Everything else, the bench process itself included. */
  other: number;
  /** The machine's cores less the four above, floored at 0. */
  idle: number;
}

/** One throughput line (a write load at concurrency C), the median of its rounds. */
export interface ThroughputLine {
  id: 'pgbench' | 'bare-fastify' | 'api-send' | 'api-send-batched';
  label: string;
  /** Messages stored per second (for batched lines: calls, not HTTP requests). */
  messagesPerSecond: number;
  /** HTTP requests (or pgbench transactions) per second. */
  requestsPerSecond: number;
  /** Per request (for batched lines: per HTTP request of 10 calls). Absent for pgbench. */
  latency?: LatencySummary;
  /** Each round's messages per second, in order. */
  rounds: number[];
  /** Acknowledged sends versus rows that appeared: must be equal. */
  acknowledged: number;
  stored: number;
  errors: number;
  /**
   * Where the CPU went in the median round, between 20% and 80% of its duration (from /proc;
   * absent where there is no /proc).
   */
  cpu?: CpuSplit;
  /** Server CPU per message stored, in ms: cpu.server / messages per second. Absent for pgbench. */
  serverCpuMsPerMessage?: number;
}

export interface ReadLine {
  id: string;
  label: string;
  latency: LatencySummary;
  requests: number;
}

export interface Target {
  name: string;
  /** e.g. "api-send / pgbench" */
  ratio: string;
  value: number;
  /** Pass when value >= goal (or <= goal when `atMost`). */
  goal: number;
  atMost?: boolean;
  met: boolean;
  note?: string;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; postgres: string };
  settings: {
    connections: number;
    durationSeconds: number;
    rounds: number;
    warmupSeconds: number;
    users: number;
    batchSize: number;
    historyDepth: number;
    conversationsForList: number;
    memorySends: number;
    quick: boolean;
    synchronousCommit: string;
    poolSize: number;
    /** API_WORKERS the api ran with (bare fastify is one process). */
    apiWorkers: number;
  };
  throughput: ThroughputLine[];
  reads: ReadLine[];
  /** EXPLAIN of the deep history query: the plan text, and whether it has a Sort or a Seq Scan. */
  explain: { query: string; plan: string; hasSort: boolean; hasSeqScan: boolean };
  memory: { rssAfterWarmupMiB: number; rssAfterSendsMiB: number; sends: number };
  /** Database statements the api ran per message.send, read from its /metrics counter. */
  statementsPerSend: number;
  targets: Target[];
}
