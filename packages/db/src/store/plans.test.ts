// A page costs the same at any depth: the history and conversation-list statements walk their
// composite index from the cursor, whichever PostgreSQL runs them (15 on CI's machine, 18 in the
// embedded default). Checked by the pages PostgreSQL reads (EXPLAIN's buffer counts), which do not
// depend on how busy the machine is: a walk from the cursor reads a handful of pages, a walk that
// filters its way to the cursor reads hundreds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrm, forkEntityManager, type ChatOrm } from '../orm.js';
import { useTestDatabase } from '../testing/index.js';
import { conversationPageStatement, type PageStatement } from './conversations.js';
import { historyStatement } from './messages.js';

const db = useTestDatabase();
let orm: ChatOrm;

/** Deep enough that a walk through the conversation's rows would read hundreds of index pages. */
const DEPTH = 200_000;
const PAGE = 50;
const reader = { username: 'reader', email: null };
let conversationId = 0;
let firstMessage = 0;
let lastMessage = 0;
let firstConversation = 0;
let lastConversation = 0;

beforeAll(async () => {
  orm = await createOrm({ url: db.url, pool: { max: 2 } });
  const em = forkEntityManager(orm);
  await em.execute(`insert into users (username) values ('reader'), ('neighbour')`);
  // A neighbour's conversation before and after the reader's in the index, both written to.
  await em.execute(
    `insert into conversations (user_id, name)
     select u.id, 'c' || g from users u, generate_series(1, 3) g order by g, u.id`,
  );
  const [own] = await em.execute<{ id: number }[]>(
    `select c.id from conversations c join users u on u.id = c.user_id
      where u.username = 'reader' order by c.id limit 1`,
  );
  conversationId = own?.id ?? 0;
  const [range] = await em.execute<{ first: number; last: number }[]>(
    `with inserted as (
       insert into messages (conversation_id, role, content)
       select case when g % 10 = 0 then ? + 1 else ? end, 'user', 'm' || g
         from generate_series(1, ?) g
       returning id, conversation_id)
     select min(id) as first, max(id) as last from inserted where conversation_id = ?`,
    [conversationId, conversationId, DEPTH, conversationId],
  );
  firstMessage = range?.first ?? 0;
  lastMessage = range?.last ?? 0;
  const [listed] = await em.execute<{ first: number; last: number }[]>(
    `with inserted as (
       insert into conversations (user_id, name)
       select (select id from users where username = 'reader'), 'listed ' || g
         from generate_series(1, ?) g
       returning id)
     select min(id) as first, max(id) as last from inserted`,
    [DEPTH / 10],
  );
  firstConversation = listed?.first ?? 0;
  lastConversation = listed?.last ?? 0;
  await em.execute('vacuum analyze');
});
afterAll(async () => {
  await orm.close();
});

/** Pages read and row count of a statement, from EXPLAIN (ANALYZE, BUFFERS). */
async function cost(statement: PageStatement) {
  const [row] = await forkEntityManager(orm)
    .getConnection()
    .execute<{ 'QUERY PLAN': { Plan: Plan }[] }[]>(
      `explain (analyze, buffers, format json) ${statement.sql}`,
      statement.params,
    );
  const plan = row?.['QUERY PLAN'][0]?.Plan;
  if (!plan) throw new Error('no plan');
  const nodes = flatten(plan);
  return {
    pages: plan['Shared Hit Blocks'] + plan['Shared Read Blocks'],
    rows: plan['Actual Rows'],
    kinds: nodes.map((node) => node['Node Type']),
    // A table as small as users may be scanned whole; the big ones never.
    scanned: nodes.flatMap((node) =>
      node['Node Type'] === 'Seq Scan' ? [node['Relation Name'] ?? '?'] : [],
    ),
    indexes: nodes.flatMap((node) => (node['Index Name'] ? [node['Index Name']] : [])),
  };
}

interface Plan {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: Plan[];
}

function flatten(plan: Plan): Plan[] {
  return [plan, ...(plan.Plans ?? []).flatMap(flatten)];
}

describe('message.list', () => {
  const history = (cursor: number | null, order: 'asc' | 'desc') =>
    cost(historyStatement(reader, { conversationId, cursor, limit: PAGE, order }));

  it('reads a handful of pages for the newest page, the oldest, and either end in asc', async () => {
    const pages = {
      newest: await history(null, 'desc'),
      oldest: await history(firstMessage + PAGE, 'desc'),
      first: await history(null, 'asc'),
      last: await history(lastMessage - PAGE, 'asc'),
    };
    for (const [name, page] of Object.entries(pages)) {
      expect(page.rows, name).toBeGreaterThan(0);
      expect(page.kinds, name).not.toContain('Sort');
      expect(page.scanned, name).not.toContain('messages');
      expect(page.scanned, name).not.toContain('conversations');
      expect(page.indexes, name).toContain('messages_conversation_id_id_index');
      // A walk of the conversation's 180,000 rows would read over 400 index pages.
      expect(page.pages, name).toBeLessThan(40);
    }
  });
});

describe('conversation.list', () => {
  it('reads a handful of pages for the first page and the last of 20,000', async () => {
    const list = (cursor: number | null) =>
      cost(conversationPageStatement(reader, { cursor, limit: 20 }));
    const pages = { first: await list(null), last: await list(firstConversation + 20) };
    expect(lastConversation - firstConversation + 1).toBe(DEPTH / 10);
    for (const [name, page] of Object.entries(pages)) {
      expect(page.rows, name).toBeGreaterThan(0);
      expect(page.kinds, name).not.toContain('Sort');
      expect(page.scanned, name).not.toContain('conversations');
      expect(page.indexes, name).toContain('conversations_user_id_id_index');
      expect(page.pages, name).toBeLessThan(40);
    }
  });
});
