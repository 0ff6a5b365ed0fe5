// `pnpm db:migration:check`: fails when the entities and the committed migrations disagree.
import { findSchemaDrift, isClean } from '../schema-drift.js';
import { reportFailure } from './run.js';
import { withScratchDatabase } from './scratch.js';

await main().catch(reportFailure);

async function main(): Promise<void> {
  const drift = await withScratchDatabase(findSchemaDrift);
  if (isClean(drift)) {
    process.stdout.write('migrations match the entities\n');
  } else {
    const report = [
      drift.entitiesVsMigrations &&
        `entities differ from the migrated schema:\n${drift.entitiesVsMigrations}`,
      drift.snapshotStale && 'the snapshot is stale: run pnpm db:migration:create',
      drift.unlisted.length > 0 && `not in migrations/index.ts: ${drift.unlisted.join(', ')}`,
      drift.missing.length > 0 && `listed without a file: ${drift.missing.join(', ')}`,
    ].filter(Boolean);
    process.stderr.write(`${report.join('\n')}\n`);
    process.exitCode = 1;
  }
}
