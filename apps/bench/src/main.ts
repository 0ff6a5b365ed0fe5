// `pnpm bench`: every figure side by side on the same machine in one run, so ratios hold even when
// the machine is noisy. See README ("Benchmarks") and docs/performance.md.
import { cpus, freemem, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  databaseEnvSchema,
  historyStatement,
  loadDotEnv,
  parseEnv,
  resolveDatabase,
} from '@chat/db';
import { SignJWT } from 'jose';
import pg from 'pg';
import { cpuDuring, postmasterOf, type CpuRoles } from './cpu.js';
import {
  BENCH_DATABASE,
  benchUsername,
  countMessages,
  prepareFixtures,
  queryValue,
  type Fixtures,
} from './fixtures.js';
import { runLoad, type LoadResult, type RequestSpec } from './load.js';
import { pgbenchAvailable, runPgbench } from './pgbench.js';
import { rssMiB, startProcess, type ServerProcess } from './processes.js';
import { renderTable, writeReport } from './report.js';
import type { BenchResults, CpuSplit, ReadLine, Target, ThroughputLine } from './results.js';
import { numbered } from './sql.js';

const { values: flags } = parseArgs({
  options: {
    connections: { type: 'string', short: 'c', default: '64' },
    duration: { type: 'string', short: 'd', default: '10' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    users: { type: 'string', default: '1000' },
    'history-depth': { type: 'string', default: '1000000' },
    conversations: { type: 'string', default: '10000' },
    'memory-sends': { type: 'string', default: '100000' },
    pool: { type: 'string', default: '16' },
    workers: { type: 'string', default: '1' },
    batch: { type: 'string', default: '10' },
    out: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'skip-pgbench': { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const HELP = `usage: pnpm bench [--quick] [-c 64] [-d 10] [--rounds 3] [--warmup 3] [--users 1000]
                  [--history-depth 1000000] [--conversations 10000] [--memory-sends 100000]
                  [--pool 16] [--workers 1] [--batch 10] [--out bench/results] [--skip-pgbench]
  --quick: 3 s rounds, 2 rounds, 20,000 memory sends (about a minute and a half)
  --only pgbench|bare-fastify|api-send|api-send-batched: one write line, no reads or memory
  --profile: servers run with --cpu-prof; profiles land in bench/profiles/
  --workers: the api's worker processes (API_WORKERS); 1 is the api's default, and on a 2-core
    machine that also runs PostgreSQL and the load it beats 2 (docs/performance.md)
  DATABASE_URL: the PostgreSQL to use (unset: the embedded one under .data/); the run creates and
  drops its own database, ${BENCH_DATABASE}.`;

const int = (name: string, value: string | undefined, min = 1): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min)
    throw new Error(`--${name} must be an integer >= ${min}`);
  return parsed;
};

const quick = flags.quick;
const settings = {
  connections: int('connections', flags.connections),
  durationSeconds: quick ? 3 : int('duration', flags.duration),
  rounds: quick ? 2 : int('rounds', flags.rounds),
  warmupSeconds: quick ? 1 : int('warmup', flags.warmup, 0),
  users: int('users', flags.users),
  batchSize: int('batch', flags.batch),
  historyDepth: int('history-depth', flags['history-depth'], 1_000),
  conversationsForList: int('conversations', flags.conversations, 100),
  memorySends: quick ? 20_000 : int('memory-sends', flags['memory-sends']),
  poolSize: int('pool', flags.pool),
  apiWorkers: int('workers', flags.workers),
  quick,
};

const cores = cpus().length;
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const outDir = flags.out ?? join(repoRoot, 'bench', 'results');
const SECRET = 'bench-secret-bench-secret-bench-secret!';
const CONTENT =
  'A benchmark message of about a hundred characters, the length of a typical line people type.';
const PAGE = 50;
const LIST_PAGE = 20;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

if (flags.help) {
  process.stdout.write(`${HELP}\n`);
} else {
  await main().catch((error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  loadDotEnv();
  const env = parseEnv(databaseEnvSchema, process.env);
  const database = await resolveDatabase(env, log);
  const servers: ServerProcess[] = [];
  try {
    const fixtures = await prepareFixtures(database.url, settings, log);
    const synchronousCommit = await queryValue(fixtures.url, 'show synchronous_commit');
    const postgres = await queryValue(fixtures.url, 'show server_version');
    if (synchronousCommit !== 'on')
      throw new Error(`synchronous_commit is ${synchronousCommit}: the run needs it on`);
    const tokens = await Promise.all(
      Array.from({ length: settings.users }, (_, i) => token(benchUsername(i + 1))),
    );

    // The bench's own cluster, so another PostgreSQL on the machine counts as "other".
    const cpuRoles: CpuRoles = {
      benchPid: process.pid,
      postmasterPid: await findPostmaster(fixtures.url),
    };
    log(
      cpuRoles.postmasterPid === undefined
        ? 'cpu: postmaster not visible in /proc: every process named postgres counts as PostgreSQL'
        : `cpu: PostgreSQL is postmaster ${cpuRoles.postmasterPid} and its children`,
    );

    const throughput: ThroughputLine[] = [];
    const wants = (id: ThroughputLine['id']) => flags.only === undefined || flags.only === id;
    const execArgv = flags.profile
      ? ['--cpu-prof', `--cpu-prof-dir=${join(repoRoot, 'bench', 'profiles')}`]
      : [];
    const pgbenchLine = wants('pgbench') ? await measurePgbench(fixtures) : null;
    if (pgbenchLine) throughput.push(pgbenchLine);

    if (wants('bare-fastify')) {
      const bare = await startProcess(
        fileURLToPath(new URL('./baseline-server.js', import.meta.url)),
        {
          BENCH_DATABASE_URL: fixtures.url,
          BENCH_SECRET: SECRET,
          BENCH_POOL: String(settings.poolSize),
        },
        '/healthz',
        execArgv,
      );
      servers.push(bare);
      throughput.push(
        await measureWrites(
          'bare-fastify',
          'bare fastify + pg (no tRPC, ORM, zod)',
          fixtures,
          bare.origin,
          { ...cpuRoles, serverPid: bare.child.pid },
          1,
          (i) => ({
            method: 'POST',
            path: '/send',
            headers: json(tokens[i]),
            body: JSON.stringify({ conversationId: i + 1, content: CONTENT }),
          }),
        ),
      );
      await bare.stop();
    }

    const api = await startProcess(
      join(dirname(createRequire(import.meta.url).resolve('@chat/api')), 'main.js'),
      {
        DATABASE_URL: fixtures.url,
        AUTH_SECRET: SECRET,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        MIGRATE_ON_START: 'false',
        DB_POOL_MAX: String(settings.poolSize),
        RATE_LIMIT_PER_MINUTE: '0',
        API_WORKERS: String(settings.apiWorkers),
      },
      '/readyz',
      execArgv,
    );
    servers.push(api);
    const statementsBefore = await apiCounters(api.origin);
    if (wants('api-send')) {
      throughput.push(
        await measureWrites(
          'api-send',
          'api: message.send, one call per request',
          fixtures,
          api.origin,
          { ...cpuRoles, serverPid: api.child.pid },
          1,
          (i) => ({
            method: 'POST',
            path: '/trpc/message.send',
            headers: json(tokens[i]),
            body: JSON.stringify({ conversationId: i + 1, content: CONTENT }),
          }),
        ),
      );
    }
    const statementsAfter = await apiCounters(api.origin);
    const statementsPerSend =
      (statementsAfter.statements - statementsBefore.statements) /
      Math.max(1, statementsAfter.sends - statementsBefore.sends);

    const batch = settings.batchSize;
    if (wants('api-send-batched'))
      throughput.push(
        await measureWrites(
          'api-send-batched',
          `api: message.send, ${batch} calls per batch`,
          fixtures,
          api.origin,
          { ...cpuRoles, serverPid: api.child.pid },
          batch,
          (i) => ({
            method: 'POST',
            path: `/trpc/${Array.from({ length: batch }, () => 'message.send').join(',')}?batch=1`,
            headers: json(tokens[i]),
            body: JSON.stringify(
              Object.fromEntries(
                Array.from({ length: batch }, (_, k) => [
                  k,
                  { conversationId: i + 1, content: CONTENT },
                ]),
              ),
            ),
          }),
        ),
      );

    if (flags.only !== undefined) {
      for (const line of throughput) {
        process.stdout.write(
          `${line.label}: ${Math.round(line.messagesPerSecond).toLocaleString('en-US')} msg/s, p99 ${line.latency?.p99 ?? '-'} ms${cpuText(line.cpu)}\n`,
        );
      }
      process.stdout.write(`statements per send: ${statementsPerSend.toFixed(3)}\n`);
      return;
    }
    const reads = await measureReads(api.origin, fixtures);
    const explain = await explainHistory(fixtures);

    log(`memory: RSS now, then after ${settings.memorySends.toLocaleString('en-US')} more sends`);
    const pid = api.child.pid ?? 0;
    const rssAfterWarmupMiB = await rssMiB(pid);
    const perSecond = throughput.find((line) => line.id === 'api-send')?.messagesPerSecond ?? 1_000;
    await runLoad({
      origin: api.origin,
      connections: settings.connections,
      durationMs: Math.ceil((settings.memorySends / perSecond) * 1_000),
      requests: sendRequests(tokens),
      count: 'status',
    }).then((result) => {
      log(`memory: sent ${result.okCalls.toLocaleString('en-US')}`);
    });
    const rssAfterSendsMiB = await rssMiB(pid);
    await api.stop();

    const results: BenchResults = {
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: {
        cpus: cores,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        postgres,
      },
      settings: { ...settings, synchronousCommit },
      throughput,
      reads,
      explain,
      memory: { rssAfterWarmupMiB, rssAfterSendsMiB, sends: settings.memorySends },
      statementsPerSend: Math.round(statementsPerSend * 1_000) / 1_000,
      targets: [],
    };
    results.targets = targets(results);
    const paths = await writeReport(results, outDir);
    process.stdout.write(`${renderTable(results)}\n`);
    process.stdout.write(`\nreport: ${paths.markdown}\n`);
    log(`free memory at the end: ${Math.round(freemem() / 2 ** 20)} MiB`);

    function sendRequests(all: string[]): RequestSpec[] {
      return all.map((t, i) => ({
        method: 'POST',
        path: '/trpc/message.send',
        headers: json(t),
        body: JSON.stringify({ conversationId: i + 1, content: CONTENT }),
      }));
    }

    async function measurePgbench(f: Fixtures): Promise<ThroughputLine | null> {
      if (flags['skip-pgbench'] || !(await pgbenchAvailable())) {
        log('pgbench: not installed (or skipped): no database ceiling in this run');
        return null;
      }
      log('pgbench: warm-up');
      await runPgbench(f.url, {
        users: f.users,
        connections: settings.connections,
        seconds: Math.max(1, settings.warmupSeconds),
        content: CONTENT,
      });
      const rounds: number[] = [];
      const splits: (CpuSplit | null)[] = [];
      let acknowledged = 0;
      let stored = 0;
      let errors = 0;
      for (let round = 1; round <= settings.rounds; round++) {
        const before = await countMessages(f.url);
        const { result: run, cpu } = await cpuDuring(
          () =>
            runPgbench(f.url, {
              users: f.users,
              connections: settings.connections,
              seconds: settings.durationSeconds,
              content: CONTENT,
            }),
          settings.durationSeconds * 1_000,
          cpuRoles,
          cores,
        );
        stored += (await countMessages(f.url)) - before;
        acknowledged += run.transactions;
        errors += run.failed;
        rounds.push(run.tps);
        splits.push(cpu);
        log(
          `pgbench round ${round}: ${Math.round(run.tps).toLocaleString('en-US')} tps${cpuText(cpu)}`,
        );
      }
      const tps = median(rounds);
      const cpu = splits[rounds.indexOf(tps)];
      return {
        id: 'pgbench',
        label: 'pgbench: the send statement, 1 row per transaction',
        messagesPerSecond: tps,
        requestsPerSecond: tps,
        rounds,
        acknowledged,
        stored,
        errors,
        ...(cpu ? { cpu } : {}),
      };
    }
  } finally {
    for (const server of servers) if (server.child.exitCode === null) await server.stop();
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect().then(
      () =>
        admin
          .query(`drop database if exists ${BENCH_DATABASE} with (force)`)
          .finally(() => admin.end()),
      () => undefined,
    );
    await database.embedded?.stop();
  }
}

function json(bearer: string | undefined): Record<string, string> {
  return { authorization: `Bearer ${bearer ?? ''}`, 'content-type': 'application/json' };
}

async function token(username: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(username)
    .setIssuedAt()
    .setExpirationTime('6h')
    .sign(new TextEncoder().encode(SECRET));
}

/**
 * A write line: warm-up, then rounds; each round's acknowledged calls checked against new rows, and
 * where the CPU went in its steady middle (the median round's split is kept, like its latency).
 */
async function measureWrites(
  id: ThroughputLine['id'],
  label: string,
  fixtures: Fixtures,
  origin: string,
  roles: CpuRoles,
  callsPerRequest: number,
  request: (i: number) => RequestSpec,
): Promise<ThroughputLine> {
  const requests = Array.from({ length: fixtures.users }, (_, i) => request(i));
  const count = callsPerRequest > 1 ? 'batch' : 'status';
  log(`${id}: warm-up`);
  if (settings.warmupSeconds > 0) {
    await runLoad({
      origin,
      connections: settings.connections,
      durationMs: settings.warmupSeconds * 1_000,
      requests,
      count,
    });
  }
  const rounds: number[] = [];
  const results: LoadResult[] = [];
  const splits: (CpuSplit | null)[] = [];
  let acknowledged = 0;
  let stored = 0;
  for (let round = 1; round <= settings.rounds; round++) {
    const before = await countMessages(fixtures.url);
    const durationMs = settings.durationSeconds * 1_000;
    const { result, cpu } = await cpuDuring(
      () => runLoad({ origin, connections: settings.connections, durationMs, requests, count }),
      durationMs,
      roles,
      cores,
    );
    stored += (await countMessages(fixtures.url)) - before;
    acknowledged += result.okCalls;
    results.push(result);
    splits.push(cpu);
    const perSecond = result.okCalls / (result.elapsedMs / 1_000);
    rounds.push(perSecond);
    log(
      `${id} round ${round}: ${Math.round(perSecond).toLocaleString('en-US')} msg/s, p99 ${result.latency.p99} ms${cpuText(cpu)}`,
    );
  }
  const middleIndex = rounds.indexOf(median(rounds));
  const middle = results[middleIndex] ?? results[0];
  if (!middle) throw new Error('no rounds');
  const cpu = splits[middleIndex];
  const serverCpuMsPerMessage = cpu ? (cpu.server / median(rounds)) * 1_000 : Number.NaN;
  return {
    id,
    label,
    messagesPerSecond: median(rounds),
    requestsPerSecond: middle.requests / (middle.elapsedMs / 1_000),
    latency: middle.latency,
    rounds,
    acknowledged,
    stored,
    errors: results.reduce((sum, r) => sum + r.errors + r.failedCalls, 0),
    ...(cpu ? { cpu } : {}),
    ...(Number.isFinite(serverCpuMsPerMessage)
      ? { serverCpuMsPerMessage: Math.round(serverCpuMsPerMessage * 10_000) / 10_000 }
      : {}),
  };
}

/** The postmaster of the bench's cluster when it runs on this machine: a backend's parent. */
async function findPostmaster(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Read /proc while connected: the backend exits with the connection.
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    return await postmasterOf(rows[0]?.pid ?? 0);
  } finally {
    await client.end();
  }
}

function cpuText(cpu: CpuSplit | null | undefined): string {
  if (!cpu) return '';
  const two = (value: number) => value.toFixed(2);
  return (
    `, cores: server ${two(cpu.server)}, postgres ${two(cpu.postgres)}, ` +
    `load ${two(cpu.load)}, other ${two(cpu.other)}, idle ${two(cpu.idle)}`
  );
}

async function measureReads(origin: string, fixtures: Fixtures): Promise<ReadLine[]> {
  const historyToken = await token(fixtures.history.username);
  const listerToken = await token(fixtures.lister.username);
  const query = (path: string, bearer: string, input: unknown): RequestSpec => ({
    method: 'GET',
    path: `/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`,
    headers: { authorization: `Bearer ${bearer}` },
  });
  const depth = fixtures.history.lastId - fixtures.history.firstId + 1;
  const lines: [string, string, RequestSpec][] = [
    [
      'history-newest',
      'message.list, newest page',
      query('message.list', historyToken, {
        conversationId: fixtures.history.conversationId,
        limit: PAGE,
      }),
    ],
    [
      'history-deep',
      `message.list, ${(depth - PAGE).toLocaleString('en-US')} messages deep`,
      query('message.list', historyToken, {
        conversationId: fixtures.history.conversationId,
        limit: PAGE,
        cursor: fixtures.history.firstId + PAGE,
      }),
    ],
    [
      'conversations-first',
      'conversation.list, first page',
      query('conversation.list', listerToken, { limit: LIST_PAGE }),
    ],
    [
      'conversations-deep',
      `conversation.list, last page of ${(fixtures.lister.lastConversationId - fixtures.lister.firstConversationId + 1).toLocaleString('en-US')}`,
      query('conversation.list', listerToken, {
        limit: LIST_PAGE,
        cursor: fixtures.lister.firstConversationId + LIST_PAGE,
      }),
    ],
  ];
  const reads: ReadLine[] = [];
  for (const [id, label, spec] of lines) {
    await runLoad({ origin, connections: 8, durationMs: 1_000, requests: [spec], count: 'status' });
    const result = await runLoad({
      origin,
      connections: 8,
      durationMs: settings.durationSeconds * 1_000,
      requests: [spec],
      count: 'status',
    });
    if (result.okCalls !== result.requests)
      throw new Error(`${id}: ${result.requests - result.okCalls} failed reads`);
    reads.push({ id, label, latency: result.latency, requests: result.requests });
    log(`${id}: p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`);
  }
  return reads;
}

/** EXPLAIN ANALYZE of the history query a million deep and at the newest page: no Sort, no Seq Scan. */
async function explainHistory(fixtures: Fixtures): Promise<BenchResults['explain']> {
  const client = new pg.Client({ connectionString: fixtures.url });
  await client.connect();
  try {
    const plans: string[] = [];
    let query = '';
    for (const [name, cursor] of [
      ['a million deep', fixtures.history.firstId + PAGE],
      ['newest page', null],
    ] as const) {
      const { sql, params } = historyStatement(
        { username: fixtures.history.username, email: null },
        { conversationId: fixtures.history.conversationId, cursor, limit: PAGE, order: 'desc' },
      );
      query ||= sql.replace(/\s+/g, ' ').trim();
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `explain (analyze, costs off, timing off) ${numbered(sql)}`,
        params,
      );
      plans.push(`-- ${name}\n${rows.map((row) => row['QUERY PLAN']).join('\n')}`);
    }
    const plan = plans.join('\n\n');
    return { query, plan, hasSort: /\bSort\b/.test(plan), hasSeqScan: plan.includes('Seq Scan') };
  } finally {
    await client.end();
  }
}

async function apiCounters(origin: string): Promise<{ statements: number; sends: number }> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  return {
    statements: value(/^chat_db_statements_total (\d+(?:\.\d+)?)/m),
    sends: value(/^chat_trpc_calls_total\{procedure="message\.send",code="OK"\} (\d+(?:\.\d+)?)/m),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function targets(results: BenchResults): Target[] {
  const line = (id: ThroughputLine['id']) => results.throughput.find((l) => l.id === id);
  const read = (id: string) => results.reads.find((r) => r.id === id);
  const list: Target[] = [];
  const ratio = (
    name: string,
    of: string,
    to: string,
    value: number | undefined,
    goal: number,
    atMost = false,
    note?: string,
  ) => {
    if (value === undefined || !Number.isFinite(value)) return;
    const rounded = Math.round(value * 100) / 100;
    list.push({
      name,
      ratio: `${of} / ${to}`,
      value: rounded,
      goal,
      atMost,
      met: atMost ? value <= goal : value >= goal,
      ...(note ? { note } : {}),
    });
  };
  const pgbenchRate = line('pgbench')?.messagesPerSecond;
  const bareRate = line('bare-fastify')?.messagesPerSecond;
  const send = line('api-send')?.messagesPerSecond;
  const batched = line('api-send-batched')?.messagesPerSecond;
  if (pgbenchRate) {
    ratio(
      'message.send, one call per request, vs the database ceiling',
      'api-send',
      'pgbench',
      send && send / pgbenchRate,
      0.5,
    );
    ratio(
      'message.send, batched, vs the single-row database ceiling',
      'api-send-batched',
      'pgbench',
      batched && batched / pgbenchRate,
      1.0,
    );
  }
  if (bareRate)
    ratio(
      'message.send, one call per request, vs bare fastify',
      'api-send',
      'bare-fastify',
      send && send / bareRate,
      0.7,
    );
  const newest = read('history-newest')?.latency.p99;
  const deep = read('history-deep')?.latency.p99;
  ratio(
    'history p99, a million deep vs the newest page',
    'history-deep p99',
    'history-newest p99',
    newest && deep && deep / newest,
    1.5,
    true,
  );
  ratio(
    'RSS after the sends vs after warm-up',
    'rss after',
    'rss warm',
    results.memory.rssAfterSendsMiB / results.memory.rssAfterWarmupMiB,
    1.1,
    true,
  );
  list.push({
    name: 'database statements per message.send',
    ratio: 'statements / sends',
    value: results.statementsPerSend,
    goal: 1,
    atMost: true,
    met: results.statementsPerSend <= 1,
  });
  list.push({
    name: 'every acknowledged send stored, no more, no less',
    ratio: 'stored / acknowledged',
    value: results.throughput.every((l) => l.stored === l.acknowledged) ? 1 : 0,
    goal: 1,
    met: results.throughput.every((l) => l.stored === l.acknowledged),
  });
  list.push({
    name: 'deep history plan has no Sort and no Seq Scan',
    ratio: 'plan',
    value: results.explain.hasSort || results.explain.hasSeqScan ? 0 : 1,
    goal: 1,
    met: !results.explain.hasSort && !results.explain.hasSeqScan,
  });
  return list;
}
