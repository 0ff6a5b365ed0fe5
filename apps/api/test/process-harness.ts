// Runs the api as its own process (`node --import tsx src/main.ts`), as `pnpm start` would.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const apiRoot = fileURLToPath(new URL('..', import.meta.url));

export interface ApiProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
}

export function spawnApi(port: number, env: Record<string, string>): ApiProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: apiRoot,
    // Only what we pass: the test runner's DATABASE_URL must not leak into the child.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, output: () => output, exited };
}

/** Polls `url` until it answers `status`, or fails with what the process printed. */
export async function waitForStatus(
  api: ApiProcess,
  path: string,
  status: number,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const state = { exited: false };
  void api.exited.then(() => (state.exited = true));
  for (;;) {
    const answered = await fetch(`${api.url}${path}`).then(
      (response) => response.status,
      () => null,
    );
    if (answered === status) return;
    if (state.exited || Date.now() > deadline) {
      throw new Error(
        `expected ${status} from ${path}, got ${answered ?? 'no answer'}; output:\n${api.output()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs a TypeScript script with tsx and only `env` (plus PATH and HOME): its exit code and output. */
export async function runScript(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: apiRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

/** Runs `src/cli/token.ts` (what `pnpm token` runs) and returns the token it prints. */
export async function runToken(args: string[], env: Record<string, string>): Promise<string> {
  const { code, stdout, stderr } = await runScript('src/cli/token.ts', args, env);
  if (code !== 0) throw new Error(`token command failed (${String(code)}): ${stderr}`);
  return stdout.trim();
}
