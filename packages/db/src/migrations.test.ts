import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, withDatabase } from './admin.js';
import { migrateToLatest, pendingMigrations } from './migrate.js';
import { migrationsList } from './migrations/index.js';
import { createOrm } from './orm.js';
import { findSchemaDrift } from './schema-drift.js';
import { useTestDatabase } from './testing/index.js';

const db = useTestDatabase({ migrated: false });
const extra: string[] = [];

afterAll(async () => {
  await Promise.all(extra.map((name) => dropDatabase(db.serverUrl, name)));
});

async function emptyDatabase(): Promise<string> {
  const name = `${db.name}_${extra.length}`;
  extra.push(name);
  await createDatabase(db.serverUrl, name);
  return withDatabase(db.serverUrl, name);
}

describe('migrations', () => {
  it('agree with the entities, the snapshot and the migration index (migration:check)', async () => {
    expect(await findSchemaDrift(db.url)).toEqual({
      entitiesVsMigrations: '',
      snapshotStale: false,
      unlisted: [],
      missing: [],
    });
  });

  it('are idempotent: a second run applies nothing', async () => {
    const orm = await createOrm({ url: await emptyDatabase(), pool: { max: 2 } });
    try {
      const first = await migrateToLatest(orm);
      expect(first.applied).toEqual(migrationsList.map((m) => m.name));
      expect(await migrateToLatest(orm)).toEqual({ applied: [] });
      expect(await pendingMigrations(orm)).toEqual([]);
    } finally {
      await orm.close();
    }
  });

  it('run once when several servers start together', async () => {
    const url = await emptyDatabase();
    const orms = await Promise.all([1, 2, 3, 4].map(() => createOrm({ url, pool: { max: 2 } })));
    try {
      const results = await Promise.all(orms.map((orm) => migrateToLatest(orm)));
      const applied = results.flatMap((r) => r.applied);
      expect(applied).toEqual(migrationsList.map((m) => m.name));
    } finally {
      await Promise.all(orms.map((orm) => orm.close()));
    }
  });
});
