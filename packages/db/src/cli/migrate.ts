// `pnpm db:migrate`: applies pending migrations to DATABASE_URL (or the embedded database).
import { migrateToLatest } from '../migrate.js';
import { createOrm } from '../orm.js';
import { reportFailure, withConfiguredDatabase } from './run.js';

await withConfiguredDatabase(async ({ url }) => {
  const orm = await createOrm({ url, pool: { max: 2 } });
  try {
    const { applied } = await migrateToLatest(orm);
    process.stdout.write(
      applied.length > 0 ? `applied ${applied.join(', ')}\n` : 'database is up to date\n',
    );
  } finally {
    await orm.close();
  }
}).catch(reportFailure);
