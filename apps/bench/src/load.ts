// The load generator, run as its own process (so its CPU is not the server's): C connections, each
// sending one request at a time for a fixed time, then waiting for what is in flight, so every
// acknowledged call is counted. Started by `runLoad()`, which sends the job over IPC.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:net';
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

/**
 * C keep-alive connections over plain sockets, one request in flight on each, responses parsed
 * just enough (status line, content-length, body): a generator that costs little CPU, so the
 * server under test gets as much of the machine as possible.
 */
async function generate(job: LoadJob): Promise<LoadResult> {
  const { hostname, port } = new URL(job.origin);
  const wire = job.requests.map((spec) => {
    const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
    const headers = Object.entries({
      ...spec.headers,
      ...(body ? { 'content-length': String(body.length) } : {}),
    })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    const head = Buffer.from(
      `${spec.method} ${spec.path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\n${headers}\r\n`,
    );
    return body ? Buffer.concat([head, body]) : head;
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

  const record = (status: number, body: Buffer, sent: number) => {
    latencies.push(performance.now() - sent);
    requests++;
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (job.count === 'batch') {
      const answers = JSON.parse(body.toString('utf8')) as { result?: unknown }[];
      const ok = answers.filter((answer) => answer.result !== undefined).length;
      okCalls += ok;
      failedCalls += answers.length - ok;
      if (ok === answers.length) okRequests++;
    } else if (status < 300) {
      okRequests++;
      okCalls++;
    } else {
      failedCalls++;
    }
  };

  const connection = () =>
    new Promise<void>((resolve) => {
      const socket = connect({ host: hostname, port: Number(port), noDelay: true });
      let buffer: Buffer = Buffer.alloc(0);
      let sent = 0;
      const send = () => {
        if (performance.now() >= deadline) {
          socket.end();
          resolve();
          return;
        }
        sent = performance.now();
        socket.write(wire[next++ % wire.length] ?? Buffer.alloc(0));
      };
      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        const headEnd = buffer.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buffer.subarray(0, headEnd).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? Number.NaN);
        if (!Number.isFinite(length)) throw new Error(`response without content-length: ${head}`);
        if (buffer.length < headEnd + 4 + length) return;
        record(Number(head.slice(9, 12)), buffer.subarray(headEnd + 4, headEnd + 4 + length), sent);
        buffer = buffer.subarray(headEnd + 4 + length);
        send();
      });
      socket.on('error', () => {
        errors++;
        resolve();
      });
    });
  await Promise.all(Array.from({ length: job.connections }, connection));
  const elapsedMs = performance.now() - started;
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
