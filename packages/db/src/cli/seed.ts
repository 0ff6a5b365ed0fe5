// `pnpm db:seed [--users N] [--conversations N] [--messages N]`: realistic volume for development
// and benchmarks; sizes are per run (conversations per user, messages per conversation).
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { migrateToLatest } from '../migrate.js';
import { createOrm } from '../orm.js';
import { seedDatabase, type SeedProgress } from '../seed.js';
import { reportFailure, withConfiguredDatabase } from './run.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100' },
    conversations: { type: 'string', default: '10' },
    messages: { type: 'string', default: '20' },
    batch: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: pnpm db:seed [--users 100] [--conversations 10] [--messages 20] [--batch 5000] [--seed 1]\n' +
      '  --conversations is per user, --messages per conversation\n',
  );
} else {
  await run().catch(reportFailure);
}

function count(name: string, value: string, min: number): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) {
    throw new Error(`--${name} must be an integer >= ${min}, got '${value}'`);
  }
  return parsed;
}

async function run(): Promise<void> {
  const sizes = {
    users: count('users', values.users, 1),
    conversationsPerUser: count('conversations', values.conversations, 0),
    messagesPerConversation: count('messages', values.messages, 0),
    batchSize: count('batch', values.batch, 1),
    seed: count('seed', values.seed, 0),
  };
  await withConfiguredDatabase(async ({ url }) => {
    const orm = await createOrm({ url, pool: { max: 1 } });
    try {
      await migrateToLatest(orm);
    } finally {
      await orm.close();
    }

    const started = Date.now();
    const progress = process.stderr.isTTY ? progressBars(started) : progressLines(started);
    const result = await seedDatabase(url, sizes, progress.update).finally(progress.stop);

    const seconds = (Date.now() - started) / 1000;
    const rows = result.users + result.conversations + result.messages;
    process.stdout.write(
      `seeded ${result.users} users, ${result.conversations} conversations, ${result.messages} messages ` +
        `in ${seconds.toFixed(1)} s (${Math.round(rows / seconds)} rows/s); usernames start with ${result.prefix}-\n`,
    );
  });
}

interface ProgressView {
  update: (progress: SeedProgress) => void;
  stop: () => void;
}

function rate(done: number, started: number): string {
  return `${Math.round(done / Math.max((Date.now() - started) / 1000, 0.001))} rows/s`;
}

/** A bar per table on a terminal. */
function progressBars(started: number): ProgressView {
  const bars = new cliProgress.MultiBar(
    {
      format: '{table} |{bar}| {percentage}% {value}/{total} {rate}',
      hideCursor: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const byTable = new Map<SeedProgress['table'], cliProgress.SingleBar>();
  return {
    update: ({ table, done, total }) => {
      let bar = byTable.get(table);
      if (!bar) {
        bar = bars.create(total, 0, { table: table.padEnd(13), rate: '' });
        byTable.set(table, bar);
      }
      bar.update(done, { rate: rate(done, started) });
    },
    stop: () => {
      bars.stop();
    },
  };
}

/** Plain lines, at most one a second per table, when the output is a log rather than a terminal. */
function progressLines(started: number): ProgressView {
  const last = new Map<SeedProgress['table'], number>();
  return {
    update: ({ table, done, total }) => {
      const now = Date.now();
      if (done < total && now - (last.get(table) ?? 0) < 1_000) return;
      last.set(table, now);
      const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
      process.stderr.write(`${table}: ${done}/${total} (${percent}%) ${rate(done, started)}\n`);
    },
    stop: () => undefined,
  };
}
