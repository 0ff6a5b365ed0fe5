import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  cpuDuring,
  cpuSplit,
  parseProcStat,
  roleOf,
  sampleCpu,
  type CpuSample,
  type ProcessStat,
} from './cpu.js';

// Fields 3 to 22 of proc(5): state, ppid, …, utime (14) = 250, stime (15) = 50, …, starttime (22).
const statLine = (pid: number, comm: string, ppid: number, utime: number, start: number) =>
  `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 1200 0 3 0 ${utime} 50 0 0 20 0 11 0 ${start} 1268178944 13000 18446744073709551615\n`;

describe('parseProcStat', () => {
  it('reads the comm up to the last parenthesis, then ppid, utime + stime and the start time', () => {
    expect(parseProcStat(statLine(1234, 'node (x) y', 77, 250, 98765))).toEqual({
      pid: 1234,
      comm: 'node (x) y',
      ppid: 77,
      cpuTicks: 300,
      startTicks: 98765,
    });
    expect(parseProcStat(statLine(9, ') S 1 2 3', 1, 0, 5))?.comm).toBe(') S 1 2 3');
  });

  it('gives null for text that is not a stat line', () => {
    expect(parseProcStat('')).toBeNull();
    expect(parseProcStat('1234 (node) S 1 2')).toBeNull();
    expect(parseProcStat('x (node) S 1 2 3 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5')).toBeNull();
  });
});

function sample(atMs: number, uptimeTicks: number, stats: ProcessStat[]): CpuSample {
  return {
    atMs,
    uptimeTicks,
    ticksPerSecond: 100,
    processes: new Map(stats.map((stat) => [stat.pid, stat])),
  };
}

const proc = (
  pid: number,
  comm: string,
  ppid: number,
  cpuTicks: number,
  startTicks = 1,
): ProcessStat => ({ pid, comm, ppid, cpuTicks, startTicks });

describe('cpuSplit', () => {
  const roles = { benchPid: 10, serverPid: 20, postmasterPid: 30 };

  it('puts each process down to the server, PostgreSQL, the load generator or other', () => {
    const machine = (t: number) => [
      proc(1, 'init', 0, 0),
      proc(10, 'node', 1, 10 * t), // the bench itself: other
      proc(20, 'node', 10, 5 * t), // the api's cluster primary
      proc(21, 'node', 20, 40 * t), // a worker
      proc(22, 'node', 20, 40 * t), // a worker
      proc(30, 'postgres', 1, 2 * t), // the postmaster
      proc(31, 'postgres', 30, 30 * t), // a backend
      proc(40, 'postgres', 1, 50 * t), // another cluster: other
      proc(50, 'node', 10, 20 * t), // the forked load child
      proc(60, 'pgbench', 99, 7 * t),
      proc(70, 'kworker/0:1', 1, 3 * t),
    ];
    // Two seconds apart: x ticks per second at 100 ticks a second is x / 100 cores.
    const split = cpuSplit(
      sample(1_000, 500, machine(1)),
      sample(3_000, 700, machine(3)),
      roles,
      4,
    );
    expect(split).toEqual({ server: 0.85, postgres: 0.32, load: 0.27, other: 0.63, idle: 1.93 });
    expect(roleOf(21, new Map(machine(1).map((p) => [p.pid, p])), roles)).toBe('server');
  });

  it('counts a process that started in between in full and leaves out one that exited', () => {
    const before = sample(0, 500, [proc(10, 'node', 1, 0), proc(51, 'node', 10, 100)]);
    const after = sample(1_000, 600, [
      proc(10, 'node', 1, 0),
      proc(50, 'node', 10, 40, 550), // started after the first sample
      proc(52, 'node', 10, 900, 100), // older than the first sample but unseen then: unknown
    ]);
    expect(cpuSplit(before, after, roles, 2)).toEqual({
      server: 0,
      postgres: 0,
      load: 0.4,
      other: 0,
      idle: 1.6,
    });
  });

  it('takes a reused pid as a new process and floors idle at 0', () => {
    const before = sample(0, 500, [proc(50, 'node', 10, 1_000, 100)]);
    const after = sample(1_000, 600, [proc(50, 'node', 10, 250, 580)]);
    expect(cpuSplit(before, after, roles, 2)).toMatchObject({ load: 2.5, idle: 0 });
  });

  it('without a known postmaster counts every postgres process', () => {
    const machine = (t: number) => [proc(30, 'postgres', 1, t), proc(40, 'postgres', 1, t)];
    const split = cpuSplit(
      sample(0, 0, machine(0)),
      sample(1_000, 100, machine(50)),
      { benchPid: 10 },
      2,
    );
    expect(split.postgres).toBe(1);
  });
});

const hasProc = existsSync('/proc/self/stat');

/** A child that keeps one core busy for `ms`, resolving when it exits. */
function busyChild(ms: number): { pid: number; exited: Promise<void> } {
  const child = spawn(process.execPath, [
    '-e',
    `const end = Date.now() + ${ms}; while (Date.now() < end);`,
  ]);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  return { pid: child.pid ?? 0, exited };
}

describe.skipIf(!hasProc)('sampling the real /proc', () => {
  it("sees a busy child's CPU, as the server when it is the server, else as load", async () => {
    const busy = busyChild(2_000);
    await sleep(300);
    const before = await sampleCpu();
    await sleep(1_000);
    const after = await sampleCpu();
    await busy.exited;
    if (!before || !after) throw new Error('no /proc sample');
    const processes = after.processes;
    expect(processes.get(busy.pid)?.ppid).toBe(process.pid);

    const asServer = cpuSplit(before, after, { benchPid: process.pid, serverPid: busy.pid }, 2);
    // How much of a core the busy loop gets depends on what else runs (turbo runs every package's
    // tests at once): what it did get is counted, all of it, as the server's.
    const ticks =
      (processes.get(busy.pid)?.cpuTicks ?? 0) - (before.processes.get(busy.pid)?.cpuTicks ?? 0);
    const cores = ticks / after.ticksPerSecond / ((after.atMs - before.atMs) / 1_000);
    expect(ticks).toBeGreaterThan(0);
    expect(asServer.server).toBeGreaterThanOrEqual(cores - 0.01);
    expect(asServer.server).toBeLessThan(1.3);
    const asLoad = cpuSplit(before, after, { benchPid: process.pid }, 2);
    expect(asLoad.server).toBe(0);
    expect(asLoad.load).toBeGreaterThanOrEqual(asServer.server);
  });

  it('samples in the middle of a round, or not at all when the round ends first', async () => {
    const roles = { benchPid: process.pid };
    const round = await cpuDuring(() => busyChild(1_500).exited, 1_500, roles, 2);
    expect(round.cpu?.load).toBeGreaterThan(0);
    const short = await cpuDuring(() => sleep(100, 'done'), 1_000, roles, 2);
    expect(short).toEqual({ result: 'done', cpu: null });
  });
});
