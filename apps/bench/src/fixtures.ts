// The benchmark's own database: a fresh one per run, with users that each own one conversation
// (user i owns conversation i), one conversation with a deep history, and one user with many
// conversations. Built with server-side generate_series: seconds for a million rows.
import { createDatabase, createOrm, dropDatabase, migrateToLatest, withDatabase } from '@chat/db';
import pg from 'pg';

export interface FixtureSizes {
  users: number;
  historyDepth: number;
  conversationsForList: number;
}

export interface Fixtures {
  url: string;
  users: number;
  /** The user owning the deep history, its conversation, and that conversation's id range. */
  history: { username: string; conversationId: number; firstId: number; lastId: number };
  lister: { username: string; firstConversationId: number; lastConversationId: number };
}

export const BENCH_DATABASE = 'chat_bench';
export const benchUsername = (i: number) => `bench-${i}`;

export async function prepareFixtures(
  serverUrl: string,
  sizes: FixtureSizes,
  log: (line: string) => void,
): Promise<Fixtures> {
  await dropDatabase(serverUrl, BENCH_DATABASE);
  await createDatabase(serverUrl, BENCH_DATABASE);
  const url = withDatabase(serverUrl, BENCH_DATABASE);
  const orm = await createOrm({ url, pool: { max: 2 } });
  await migrateToLatest(orm);
  await orm.close();

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { users, historyDepth, conversationsForList } = sizes;
    log(`fixtures: ${users} users with a conversation each`);
    await client.query(
      `insert into users (username) select 'bench-' || g from generate_series(1, $1) g`,
      [users],
    );
    await client.query(
      'insert into conversations (user_id, name) select g, $2 from generate_series(1, $1) g',
      [users, 'bench'],
    );

    log(`fixtures: one conversation ${historyDepth.toLocaleString('en-US')} messages deep`);
    const historyUser = await insertUser(client, 'bench-history');
    const historyConversation = await insertConversation(client, historyUser);
    const range = await client.query<{ first: number; last: number }>(
      `with inserted as (
         insert into messages (conversation_id, role, content)
         select $1, case when g % 2 = 0 then 'assistant' else 'user' end, 'history message number ' || g
           from generate_series(1, $2) g
         returning id)
       select min(id) as first, max(id) as last from inserted`,
      [historyConversation, historyDepth],
    );

    log(`fixtures: one user with ${conversationsForList.toLocaleString('en-US')} conversations`);
    const lister = await insertUser(client, 'bench-lister');
    const listed = await client.query<{ first: number; last: number }>(
      `with inserted as (
         insert into conversations (user_id, name) select $1, 'conversation ' || g from generate_series(1, $2) g
         returning id)
       select min(id) as first, max(id) as last from inserted`,
      [lister, conversationsForList],
    );
    await client.query('vacuum analyze');

    const historyRange = range.rows[0];
    const listRange = listed.rows[0];
    if (!historyRange || !listRange) throw new Error('fixtures: nothing inserted');
    return {
      url,
      users,
      history: {
        username: 'bench-history',
        conversationId: historyConversation,
        firstId: historyRange.first,
        lastId: historyRange.last,
      },
      lister: {
        username: 'bench-lister',
        firstConversationId: listRange.first,
        lastConversationId: listRange.last,
      },
    };
  } finally {
    await client.end();
  }
}

async function insertUser(client: pg.Client, username: string): Promise<number> {
  const { rows } = await client.query<{ id: number }>(
    'insert into users (username) values ($1) returning id',
    [username],
  );
  const id = rows[0]?.id;
  if (id === undefined) throw new Error('fixtures: no user id');
  return id;
}

async function insertConversation(client: pg.Client, userId: number): Promise<number> {
  const { rows } = await client.query<{ id: number }>(
    'insert into conversations (user_id, name) values ($1, $2) returning id',
    [userId, 'deep history'],
  );
  const id = rows[0]?.id;
  if (id === undefined) throw new Error('fixtures: no conversation id');
  return id;
}

/** Rows in `messages` now: the benchmark's ground truth for "every acknowledged send is stored". */
export async function countMessages(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('select count(*) as n from messages');
    return Number(rows[0]?.n ?? Number.NaN);
  } finally {
    await client.end();
  }
}

export async function queryValue(url: string, sql: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, unknown>>(sql);
    return String(Object.values(rows[0] ?? {})[0]);
  } finally {
    await client.end();
  }
}
