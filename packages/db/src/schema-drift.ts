// Do the committed migrations produce exactly the schema the entities describe?
import { readdir } from 'node:fs/promises';
import { migrationsList } from './migrations/index.js';
import { migrateToLatest } from './migrate.js';
import { createOrm, migrationsPath } from './orm.js';

export interface SchemaDrift {
  /** SQL that would bring a freshly migrated database to the entities' schema (empty: none). */
  entitiesVsMigrations: string;
  /** True when the committed snapshot no longer matches the entities. */
  snapshotStale: boolean;
  /** Migration files that `migrations/index.ts` does not list, or names it lists without a file. */
  unlisted: string[];
  missing: string[];
}

/** Checks drift against `url`, an empty scratch database that this call migrates. */
export async function findSchemaDrift(url: string): Promise<SchemaDrift> {
  const orm = await createOrm({ url, pool: { max: 2 }, writeSnapshot: true });
  try {
    await migrateToLatest(orm);
    const entitiesVsMigrations = (await orm.schema.getUpdateSchemaSQL({ wrap: false })).trim();
    const snapshotStale = await orm.migrator.checkMigrationNeeded();

    const files = (await readdir(migrationsPath))
      .filter((file) => /^Migration\w*\.ts$/.test(file) && !file.endsWith('.d.ts'))
      .map((file) => file.replace(/\.ts$/, ''));
    const listed = migrationsList.map((m) => m.name);
    return {
      entitiesVsMigrations,
      snapshotStale,
      unlisted: files.filter((file) => !listed.includes(file)),
      missing: listed.filter((name) => !files.includes(name)),
    };
  } finally {
    await orm.close();
  }
}

export function isClean(drift: SchemaDrift): boolean {
  return (
    drift.entitiesVsMigrations === '' &&
    !drift.snapshotStale &&
    drift.unlisted.length === 0 &&
    drift.missing.length === 0
  );
}
