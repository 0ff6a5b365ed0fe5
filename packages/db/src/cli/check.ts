// `pnpm db:check [--repair] [--batch 1000] [--json]`: reports orphans (with counts and sample ids)
// and the id runway; exits 1 when something is broken, so it can run from cron. `--repair` deletes
// the orphans in batches, then checks again.
import { parseArgs } from 'node:util';
import { checkIntegrity, repairOrphans, type IntegrityReport } from '../integrity.js';
import { createOrm, forkEntityManager } from '../orm.js';
import { reportFailure, withConfiguredDatabase } from './run.js';

const { values } = parseArgs({
  options: {
    repair: { type: 'boolean', default: false },
    batch: { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
  },
});

await withConfiguredDatabase(async ({ url }) => {
  const orm = await createOrm({ url, pool: { max: 2 } });
  try {
    const em = forkEntityManager(orm);
    const before = await checkIntegrity(em);
    print(
      before,
      values.repair ? 'before repair' : 'integrity (a dry run: --repair deletes orphans)',
    );
    if (!values.repair || before.clean) {
      process.exitCode = before.clean ? 0 : 1;
      return;
    }
    const repaired = await repairOrphans(em, {
      batchSize: Number(values.batch),
      onProgress: (r) =>
        process.stderr.write(`deleted ${r.conversations} conversations, ${r.messages} messages\n`),
    });
    const after = await checkIntegrity(em);
    print(
      after,
      `after deleting ${repaired.conversations} conversations and ${repaired.messages} messages`,
    );
    process.exitCode = after.clean ? 0 : 1;
  } finally {
    await orm.close();
  }
}).catch(reportFailure);

function print(report: IntegrityReport, heading: string): void {
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ heading, ...report })}\n`);
    return;
  }
  process.stdout.write(`${heading}:\n`);
  for (const finding of report.findings) {
    const sample =
      finding.sample.length > 0
        ? ` (ids ${finding.sample.join(', ')}${finding.count > finding.sample.length ? ', …' : ''})`
        : '';
    process.stdout.write(
      `  ${finding.count === 0 ? 'ok  ' : 'FAIL'} ${finding.count} ${finding.problem}${sample}\n`,
    );
  }
  for (const sequence of report.sequences) {
    process.stdout.write(
      `  id runway: ${sequence.table} at ${sequence.lastId.toLocaleString('en-US')} (${(sequence.used * 100).toFixed(4)}% of 2,147,483,647)\n`,
    );
  }
}
