import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDatabase } from './seed.js';
import { useTestDatabase } from './testing/index.js';

const db = useTestDatabase();
let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client.end();
});

async function count(sql: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(`select (${sql})::int as n`);
  return rows[0]?.n ?? Number.NaN;
}

describe('seedDatabase', () => {
  it('writes the requested volume in batches, consistent without foreign keys', async () => {
    const progress: string[] = [];
    const result = await seedDatabase(
      db.url,
      { users: 7, conversationsPerUser: 3, messagesPerConversation: 11, batchSize: 10 },
      ({ table, done, total }) => progress.push(`${table} ${done}/${total}`),
    );
    expect(result).toMatchObject({ users: 7, conversations: 21, messages: 231 });
    expect(await count('select count(*) from users')).toBe(7);
    expect(await count('select count(*) from conversations')).toBe(21);
    expect(await count('select count(*) from messages')).toBe(231);
    // Every message has its conversation and every conversation its user.
    expect(
      await count(
        'select count(*) from messages m left join conversations c on c.id = m.conversation_id where c.id is null',
      ),
    ).toBe(0);
    expect(
      await count(
        'select count(*) from conversations c left join users u on u.id = c.user_id where u.id is null',
      ),
    ).toBe(0);
    // Conversations alternate user and assistant, and time moves forward with the id.
    expect(
      await count(`select count(*) from (
        select role, lag(role) over w as previous, created_at, lag(created_at) over w as before
          from messages window w as (partition by conversation_id order by id)) t
        where role = previous or created_at <= before`),
    ).toBe(0);
    expect(progress).toContain('messages 231/231');
    expect(progress.filter((line) => line.startsWith('messages')).length).toBe(24); // ceil(231 / 10)
  });

  it('adds to existing data without colliding with an earlier run', async () => {
    const second = await seedDatabase(db.url, {
      users: 2,
      conversationsPerUser: 1,
      messagesPerConversation: 1,
    });
    expect(second.users).toBe(2);
    expect(await count('select count(*) from users')).toBe(9);
  });
});
