// Servers under test, each its own process: started, probed until ready, measured, stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { freePort } from '@chat/db';

export interface ServerProcess {
  child: ChildProcess;
  origin: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startProcess(
  script: string,
  env: Record<string, string>,
  readyPath: string,
  execArgv: string[] = [],
): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...execArgv, script], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const origin = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await fetch(`${origin}${readyPath}`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`${script} did not become ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    origin,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resident set size of a process and its children (a cluster's workers), from /proc (Linux). */
export async function rssMiB(pid: number): Promise<number> {
  const kib = async (id: number | string) => {
    const status = await readFile(`/proc/${String(id)}/status`, 'utf8').catch(() => '');
    return {
      kib: Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0),
      ppid: Number(/PPid:\s+(\d+)/.exec(status)?.[1] ?? 0),
    };
  };
  const entries = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const children = (
    await Promise.all(entries.map(async (id) => ({ id, ...(await kib(id)) })))
  ).filter((entry) => entry.ppid === pid);
  const total = (await kib(pid)).kib + children.reduce((sum, child) => sum + child.kib, 0);
  return Math.round((total / 1024) * 10) / 10;
}
