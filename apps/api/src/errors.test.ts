import { createOrm, forkEntityManager, type ChatOrm } from '@chat/db';
import { useTestDatabase } from '@chat/db/testing';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forTheLog } from './errors.js';

const db = useTestDatabase();
let orm: ChatOrm;

beforeAll(async () => {
  orm = await createOrm({ url: db.url, pool: { max: 2 } });
});
afterAll(async () => {
  await orm.close();
});

/** The error a failed statement raises, as the procedure's INTERNAL_SERVER_ERROR carries it. */
async function failure(run: () => Promise<unknown>): Promise<TRPCError> {
  const cause = await run().then(
    () => new Error('it did not fail'),
    (error: unknown) => error as Error,
  );
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause });
}

describe('forTheLog', () => {
  const words = 'the words someone typed';
  const sql = `insert into nowhere (content)\n  values (?)\n  returning id`;

  it('keeps the PostgreSQL message and code, and no SQL or value, for a query MikroORM ran', async () => {
    const error = await failure(() => forkEntityManager(orm).execute(sql, [words]));
    const logged = JSON.stringify(forTheLog(error));
    expect(logged).toContain('relation \\"nowhere\\" does not exist');
    expect(logged).toContain('42P01');
    expect(logged).not.toMatch(/the words|insert into|returning/);
    expect(logged).toMatch(/at /); // the frames stay
  });

  it('does the same for a prepared statement run through knex', async () => {
    const knex = forkEntityManager(orm).getKnex();
    const error = await failure(async () => knex.raw(sql, [words]).options({ name: 'nowhere' }));
    const logged = JSON.stringify(forTheLog(error));
    expect(logged).toContain('42P01');
    expect(logged).not.toMatch(/the words|insert into|returning/);
  });
});
