// The load generator, run as its own process (so its CPU is not the server's): C connections, each
// sending one request at a time for a fixed time, then waiting for what is in flight, so every
// acknowledged call is counted. Started by `runLoad()`, which sends the job over IPC.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import type { LatencySummary } from './results.js';

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface LoadJob {
  origin: string;
  connections: number;
  durationMs: number;
  /** Taken in turn by whichever connection is free next. */
  requests: RequestSpec[];
  /** 'batch': the body is a tRPC batch answer; count its successful calls. */
  count: 'status' | 'batch';
}

export interface LoadResult {
  requests: number;
  okRequests: number;
  okCalls: number;
  failedCalls: number;
  errors: number;
  statuses: Record<string, number>;
  elapsedMs: number;
  latency: LatencySummary;
}

/** Runs `job` in a child process and resolves with its result. */
export function runLoad(job: LoadJob): Promise<LoadResult> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => {
      resolve(message as LoadResult);
      child.disconnect();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${String(code)}`));
    });
    child.send(job);
  });
}

export function summarize(latencies: number[]): LatencySummary {
  if (latencies.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  const round = (value: number) => Math.round(value * 1_000) / 1_000;
  return {
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(at(1)),
    mean: round(mean),
  };
}

async function generate(job: LoadJob): Promise<LoadResult> {
  const pool = new Pool(job.origin, {
    connections: job.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
  });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  let requests = 0;
  let okRequests = 0;
  let okCalls = 0;
  let failedCalls = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + job.durationMs;

  const worker = async () => {
    while (performance.now() < deadline) {
      const spec = job.requests[next++ % job.requests.length];
      if (!spec) return;
      const sent = performance.now();
      try {
        const response = await pool.request({
          method: spec.method,
          path: spec.path,
          headers: spec.headers,
          ...(spec.body === undefined ? {} : { body: spec.body }),
        });
        const text = await response.body.text();
        latencies.push(performance.now() - sent);
        requests++;
        statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
        if (job.count === 'batch') {
          const answers = JSON.parse(text) as { result?: unknown }[];
          const ok = answers.filter((answer) => answer.result !== undefined).length;
          okCalls += ok;
          failedCalls += answers.length - ok;
          if (ok === answers.length) okRequests++;
        } else if (response.statusCode < 300) {
          okRequests++;
          okCalls++;
        } else {
          failedCalls++;
        }
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: job.connections }, worker));
  const elapsedMs = performance.now() - started;
  await pool.close();
  return {
    requests,
    okRequests,
    okCalls,
    failedCalls,
    errors,
    statuses,
    elapsedMs,
    latency: summarize(latencies),
  };
}

// As a child process: one job in, one result out.
if (process.send) {
  process.once('message', (job: LoadJob) => {
    void generate(job).then((result) => {
      process.send?.(result);
    });
  });
}
