// Where the machine's CPU goes while a write line runs: /proc/[pid]/stat for every process, read
// twice, each process's CPU time in between put down to the server, PostgreSQL, the load generator
// or anything else. Linux only: without /proc every function here answers null.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { CpuSplit } from './results.js';

export interface ProcessStat {
  pid: number;
  /** The executable's name (at most 15 characters), which may hold spaces and parentheses. */
  comm: string;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** Clock ticks after boot when the process started: tells a reused pid from the first owner. */
  startTicks: number;
}

export interface CpuSample {
  /** performance.now() halfway through the read of /proc. */
  atMs: number;
  /** Clock ticks after boot when the read began: a process that started later is new. */
  uptimeTicks: number;
  ticksPerSecond: number;
  processes: Map<number, ProcessStat>;
}

export interface CpuRoles {
  /** The bench: its children other than the server (the forked load child, pgbench) are load. */
  benchPid: number;
  /** The server under test; it and its descendants (cluster workers) are the server. */
  serverPid?: number;
  /** The postmaster of the bench's cluster; unset, every process named `postgres` counts. */
  postmasterPid?: number;
}

export type CpuRole = 'server' | 'postgres' | 'load' | 'other';

/** One line of /proc/[pid]/stat; the comm is read up to the last ')', the fields after it. */
export function parseProcStat(text: string): ProcessStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 of proc(5) (state); field n is fields[n - 3].
  const field = (n: number) => Number(fields[n - 3] ?? Number.NaN);
  const stat: ProcessStat = {
    pid,
    comm: text.slice(open + 1, close),
    ppid: field(4),
    cpuTicks: field(14) + field(15),
    startTicks: field(22),
  };
  const numbers = [stat.pid, stat.ppid, stat.cpuTicks, stat.startTicks];
  return pid > 0 && numbers.every(Number.isInteger) ? stat : null;
}

let ticksPerSecond: Promise<number> | undefined;

/** CLK_TCK, asked of `getconf` once; 100 (Linux's usual value) when that fails. */
function clockTicksPerSecond(): Promise<number> {
  ticksPerSecond ??= promisify(execFile)('getconf', ['CLK_TCK']).then(
    ({ stdout }) => {
      const value = Number(stdout.trim());
      return Number.isInteger(value) && value > 0 ? value : 100;
    },
    () => 100,
  );
  return ticksPerSecond;
}

/** Every process's CPU time now, or null without /proc. */
export async function sampleCpu(): Promise<CpuSample | null> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  const pids = names.filter((name) => /^\d+$/.test(name));
  if (pids.length === 0) return null;
  const hz = await clockTicksPerSecond();
  const started = performance.now();
  const uptime = await readFile('/proc/uptime', 'utf8').catch(() => '');
  const uptimeSeconds = Number(uptime.split(' ')[0]);
  const stats = await Promise.all(
    pids.map((pid) => readFile(`/proc/${pid}/stat`, 'utf8').then(parseProcStat, () => null)),
  );
  const processes = new Map<number, ProcessStat>();
  for (const stat of stats) if (stat) processes.set(stat.pid, stat);
  return {
    atMs: (started + performance.now()) / 2,
    // Unknown uptime: no process counts as new (see cpuSplit).
    uptimeTicks: Number.isFinite(uptimeSeconds) ? uptimeSeconds * hz : Number.POSITIVE_INFINITY,
    ticksPerSecond: hz,
    processes,
  };
}

/** Whose work a process does, by its name and its chain of parents. */
export function roleOf(pid: number, processes: Map<number, ProcessStat>, roles: CpuRoles): CpuRole {
  const chain: number[] = [];
  for (let id = pid; id > 0 && chain.length < 64 && !chain.includes(id);) {
    chain.push(id);
    id = processes.get(id)?.ppid ?? 0;
  }
  const comm = processes.get(pid)?.comm;
  if (
    comm === 'postgres' &&
    (roles.postmasterPid === undefined || chain.includes(roles.postmasterPid))
  )
    return 'postgres';
  if (roles.serverPid !== undefined && chain.includes(roles.serverPid)) return 'server';
  if (comm === 'pgbench') return 'load';
  if (pid !== roles.benchPid && chain.includes(roles.benchPid)) return 'load';
  return 'other';
}

/**
 * Cores each role used between two samples (CPU seconds / wall seconds); idle is what is left of
 * `cores`, floored at 0. A process that started between the samples counts in full (all its CPU
 * time falls in between); one that exited in between is left out (its last CPU time is gone).
 */
export function cpuSplit(
  before: CpuSample,
  after: CpuSample,
  roles: CpuRoles,
  cores: number,
): CpuSplit {
  const ticks: Record<CpuRole, number> = { server: 0, postgres: 0, load: 0, other: 0 };
  for (const [pid, now] of after.processes) {
    const then = before.processes.get(pid);
    let used: number;
    if (then?.startTicks === now.startTicks) {
      used = now.cpuTicks - then.cpuTicks;
    } else if (now.startTicks >= before.uptimeTicks) {
      used = now.cpuTicks;
    } else {
      continue; // older than the first sample yet unread there: its share is unknown
    }
    ticks[roleOf(pid, after.processes, roles)] += Math.max(0, used);
  }
  const seconds = (after.atMs - before.atMs) / 1_000;
  const cores3 = (role: CpuRole) =>
    seconds > 0 ? round3(ticks[role] / after.ticksPerSecond / seconds) : 0;
  const split = {
    server: cores3('server'),
    postgres: cores3('postgres'),
    load: cores3('load'),
    other: cores3('other'),
  };
  const busy = split.server + split.postgres + split.load + split.other;
  return { ...split, idle: round3(Math.max(0, cores - busy)) };
}

/**
 * Runs one round of `durationMs` and samples the CPU at 20% and 80% of it: the steady middle, clear
 * of the load generator's start-up and of the drain at the end. `cpu` is null without /proc, or
 * when the round ended before the second sample.
 */
export async function cpuDuring<T>(
  run: () => Promise<T>,
  durationMs: number,
  roles: CpuRoles,
  cores: number,
): Promise<{ result: T; cpu: CpuSplit | null }> {
  const started = performance.now();
  const work = run();
  let done = false;
  const finished = () => {
    done = true;
  };
  work.then(finished, finished);
  const sampling = async (): Promise<CpuSplit | null> => {
    await sleep(durationMs * 0.2);
    const first = await sampleCpu();
    await sleep(Math.max(0, started + durationMs * 0.8 - performance.now()));
    if (first === null || done) return null;
    const second = await sampleCpu();
    return second === null ? null : cpuSplit(first, second, roles, cores);
  };
  const [result, cpu] = await Promise.all([work, sampling()]);
  return { result, cpu };
}

/** The postmaster of a local PostgreSQL backend (its parent); undefined when not visible here. */
export async function postmasterOf(backendPid: number): Promise<number | undefined> {
  const stat = async (pid: number) =>
    readFile(`/proc/${String(pid)}/stat`, 'utf8').then(parseProcStat, () => null);
  const backend = await stat(backendPid);
  if (backend?.comm !== 'postgres') return undefined;
  const parent = await stat(backend.ppid);
  return parent?.comm === 'postgres' ? parent.pid : undefined;
}

function round3(value: number): number {
  return Math.round(value * 1_000) / 1_000;
}
