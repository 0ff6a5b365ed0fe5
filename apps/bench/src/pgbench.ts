// The database ceiling: pgbench running the send path's exact statement, one row per transaction.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pgbenchSendScript } from './sql.js';

const run = promisify(execFile);

export async function pgbenchAvailable(): Promise<boolean> {
  return run('pgbench', ['--version']).then(
    () => true,
    () => false,
  );
}

export interface PgbenchRun {
  transactions: number;
  tps: number;
  failed: number;
}

export async function runPgbench(
  url: string,
  {
    users,
    connections,
    seconds,
    content,
  }: { users: number; connections: number; seconds: number; content: string },
): Promise<PgbenchRun> {
  const dir = await mkdtemp(join(tmpdir(), 'chat-pgbench-'));
  try {
    const script = join(dir, 'send.sql');
    await writeFile(script, pgbenchSendScript(users, content));
    const { stdout } = await run(
      'pgbench',
      [
        '-n',
        '-M',
        'prepared',
        '-c',
        String(connections),
        '-j',
        '2',
        '-T',
        String(seconds),
        '-f',
        script,
        url,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const number = (pattern: RegExp) => Number(pattern.exec(stdout)?.[1] ?? Number.NaN);
    return {
      transactions: number(/number of transactions actually processed: (\d+)/),
      tps: number(/tps = ([\d.]+) \(without initial connection time\)/),
      failed: Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
